-- moonforge.models_linear: part of mf.models (see models.lua).
return function(M) -- luacheck: ignore
end
