/* test_math.c — (being written) */
#include "ctest.h"
#include "moonforge.h"

const ctest_case ctest_math[] = {
    {NULL, NULL},
};
