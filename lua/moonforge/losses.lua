-- moonforge.losses — (being written)
return {}
