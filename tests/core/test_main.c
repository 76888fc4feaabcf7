/* test_main.c — runs every suite of core/ unit tests (see ctest.h). */
#include <stdio.h>
#include <string.h>

#include "ctest.h"
#include "moonforge.h"

extern const ctest_case ctest_tensor[], ctest_ops[], ctest_random[], ctest_format[],
    ctest_math[], ctest_linalg[], ctest_select[], ctest_file[];
extern const ctest_case ctest_optim[];
extern const ctest_case ctest_plan[];
extern const ctest_case ctest_csv[];
extern const ctest_case ctest_prep[];
extern const ctest_case ctest_rows[];
extern const ctest_case ctest_clean[];
extern const ctest_case ctest_feat[];
extern const ctest_case ctest_classify[];
extern const ctest_case ctest_linear[];
extern const ctest_case ctest_neighbors[];
extern const ctest_case ctest_svm[];

static const struct {
    const char *name;
    const ctest_case *cases;
} suites[] = {
    {"tensor", ctest_tensor},
    {"ops", ctest_ops},
    {"random", ctest_random},
    {"format", ctest_format},
    {"math", ctest_math},
    {"linalg", ctest_linalg},
    {"select", ctest_select},
    {"file", ctest_file},
    {"optim", ctest_optim},
    {"plan", ctest_plan},
    {"csv", ctest_csv},
    {"prep", ctest_prep},
    {"rows", ctest_rows},
    {"clean", ctest_clean},
    {"feat", ctest_feat},
    {"classify", ctest_classify},
    {"linear", ctest_linear},
    {"neighbors", ctest_neighbors},
    {"svm", ctest_svm},
};

int main(int argc, char **argv)
{
    const char *only = argc > 1 ? argv[1] : NULL; /* optional suite name */
    int ok = 0, failed = 0;
    for (size_t s = 0; s < sizeof suites / sizeof suites[0]; s++) {
        if (only && strcmp(only, suites[s].name) != 0) continue;
        for (const ctest_case *c = suites[s].cases; c->name; c++) {
            ctest_ctx ctx = {0};
            size_t mem_before = mf_mem_in_use();
            c->fn(&ctx);
            if (mf_mem_in_use() != mem_before) {
                fprintf(stderr, "    leaked %zu bytes of core memory\n",
                        mf_mem_in_use() - mem_before);
                ctx.failures++;
            }
            if (ctx.failures) {
                printf("FAIL %s.%s\n", suites[s].name, c->name);
                failed++;
            } else {
                printf("ok   %s.%s\n", suites[s].name, c->name);
                ok++;
            }
        }
    }
    printf("ctest: %d ok, %d failed\n", ok, failed);
    return failed ? 1 : 0;
}
