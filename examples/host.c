/*
 * host.c — using libmoonforge from a C program, with no Lua at all.
 *
 *   cc host.c $(pkg-config --cflags --libs moonforge) -o host && ./host
 *
 * Every function returns an mf_status; on failure mf_error_get() says what
 * went wrong. The library never prints or exits: the host decides.
 */
#include <stdio.h>

#include "moonforge.h"

static int fail(const char *what)
{
    fprintf(stderr, "%s: %s\n", what, mf_error_get()->msg);
    return 1;
}

int main(void)
{
    int64_t shape[2] = {2, 3};
    mf_tensor *t = NULL, *tt = NULL;
    char *text = NULL;
    size_t len = 0;

    if (mf_tensor_arange(&t, MF_FLOAT32, 1, 7, 1) != MF_OK) return fail("arange");
    mf_tensor *m = NULL;
    if (mf_tensor_view_as(&m, t, 2, shape) != MF_OK) return fail("view");
    mf_tensor_release(t);
    if (mf_tensor_transpose(&tt, m, 0, 1) != MF_OK) return fail("transpose");
    if (mf_tensor_format(tt, &text, &len) != MF_OK) return fail("format");
    printf("%s\n", text);
    mf_free(text);

    /* errors name the argument at fault (1-based, tensor first) */
    mf_tensor *bad = NULL;
    if (mf_tensor_view_as(&bad, m, 2, (int64_t[]){4, 2}) != MF_OK)
        printf("error in argument %d: %s\n", mf_error_get()->arg, mf_error_get()->msg);

    mf_tensor_release(tt);
    mf_tensor_release(m);
    return 0;
}
