/* lmf_linalg.c — (being written) */
#include "lmf.h"

void lmf_open_linalg(lua_State *L, int mod, int methods)
{
    (void)L;
    (void)mod;
    (void)methods;
}
