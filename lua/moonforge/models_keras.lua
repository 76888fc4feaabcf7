-- moonforge.models_keras: part of mf.models (see models.lua).
return function(M) -- luacheck: ignore
end
