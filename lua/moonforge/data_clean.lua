-- moonforge.data_clean: the cleaning functions of mf.data (dropna, fillna,
-- drop_duplicates, clip_outliers, cast, replace, str_strip, str_lower).
-- Installed into mf.data (M) and the Table methods by data.lua; I holds
-- data.lua's private helpers.
return function(M, I) -- luacheck: ignore
end
