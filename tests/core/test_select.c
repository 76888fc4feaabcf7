/* test_select.c — (being written) */
#include "ctest.h"
#include "moonforge.h"

const ctest_case ctest_select[] = {
    {NULL, NULL},
};
