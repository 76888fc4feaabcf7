/*
 * ctest.h — a minimal unit-test harness for core/.
 *
 * A test file defines cases with CTEST(name) and lists them in a NULL-ended
 * ctest_case array that test_main.c runs. Checks record a failure (file, line,
 * what) and let the case go on; a failed case prints "FAIL suite.name" with
 * every failed check, and test_main prints one closing line:
 *     ctest: N ok, M failed
 */
#ifndef CTEST_H
#define CTEST_H

#include <math.h>
#include <stdio.h>

typedef struct ctest_ctx {
    int failures;
} ctest_ctx;

typedef struct ctest_case {
    const char *name;
    void (*fn)(ctest_ctx *ctx);
} ctest_case;

#define CTEST(name) static void name(ctest_ctx *ctest_)
#define CTEST_ENTRY(name) {#name, name}

#define CTEST_FAIL_(...)                                                        \
    do {                                                                        \
        ctest_->failures++;                                                     \
        fprintf(stderr, "    %s:%d: ", __FILE__, __LINE__);                     \
        fprintf(stderr, __VA_ARGS__);                                           \
        fputc('\n', stderr);                                                    \
    } while (0)

#define CHECK(cond)                                                             \
    do {                                                                        \
        if (!(cond)) CTEST_FAIL_("check failed: %s", #cond);                    \
    } while (0)
#define CHECK_INT(a, b)                                                         \
    do {                                                                        \
        long long a_ = (long long)(a), b_ = (long long)(b);                     \
        if (a_ != b_) CTEST_FAIL_("%s == %lld, expected %lld", #a, a_, b_);     \
    } while (0)
#define CHECK_NEAR(a, b, tol)                                                   \
    do {                                                                        \
        double a_ = (double)(a), b_ = (double)(b);                              \
        if (!(fabs(a_ - b_) <= (tol)))                                          \
            CTEST_FAIL_("%s == %.17g, expected %.17g (tol %g)", #a, a_, b_,     \
                        (double)(tol));                                         \
    } while (0)
#define CHECK_STR(a, b)                                                         \
    do {                                                                        \
        const char *a_ = (a), *b_ = (b);                                        \
        if (!a_ || strcmp(a_, b_) != 0)                                         \
            CTEST_FAIL_("%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_); \
    } while (0)
/* A call returning mf_status must succeed; otherwise shows core's message. */
#define CHECK_OK(call)                                                          \
    do {                                                                        \
        mf_status st_ = (call);                                                 \
        if (st_ != MF_OK)                                                       \
            CTEST_FAIL_("%s failed: %s", #call, mf_error_get()->msg);           \
    } while (0)
/* A call must fail with `code`, naming argument `arg`. */
#define CHECK_ERR(call, code, argn)                                              \
    do {                                                                        \
        mf_status st_ = (call);                                                 \
        if (st_ != (code) || mf_error_get()->arg != (argn))                      \
            CTEST_FAIL_("%s gave status %d arg %d (\"%s\"), expected %d arg %d", \
                        #call, (int)st_, mf_error_get()->arg,                   \
                        st_ ? mf_error_get()->msg : "", (int)(code), (argn));    \
    } while (0)

#endif
