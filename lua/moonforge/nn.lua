-- moonforge.nn — (being written)
return {}
