/* lmf_math.c — (being written) */
#include "lmf.h"

void lmf_open_math(lua_State *L, int mod, int methods)
{
    (void)L;
    (void)mod;
    (void)methods;
}
