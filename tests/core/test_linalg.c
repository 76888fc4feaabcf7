/* test_linalg.c — (being written) */
#include "ctest.h"
#include "moonforge.h"

const ctest_case ctest_linalg[] = {
    {NULL, NULL},
};
