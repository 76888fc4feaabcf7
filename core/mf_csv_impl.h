/*
 * mf_csv_impl.h — private to the CSV reader (mf_csv.c, mf_csv_parse.c).
 */
#ifndef MF_CSV_IMPL_H
#define MF_CSV_IMPL_H

#include "mf_csv.h"

/* 2: an integer in int64 range (*iv, *dv), 1: another number (*dv), 0: not
 * a number, -1: out of memory copying a very long number. */
int mf_csv__parse_num(const char *s, size_t len, int64_t *iv, double *dv);
int mf_csv__parse_bool(const char *s, size_t len, int *b);
int mf_csv__utf8_valid(const unsigned char *s, size_t len);

#endif
