-- moonforge.data_ops: Table group_by/agg, concat, join and write_csv.
-- Installed into mf.data (M) and the Table methods by data.lua; I holds
-- data.lua's private helpers.
return function(M, I) -- luacheck: ignore
end
