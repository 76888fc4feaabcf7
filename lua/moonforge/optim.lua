-- moonforge.optim — (being written)
return {}
