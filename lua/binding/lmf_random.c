#include "lmf.h"
void lmf_open_random(lua_State *L) { (void)L; }
