/* mf_format.h — tensors as readable text (see mf_format.c for the layout). */
#ifndef MF_FORMAT_H
#define MF_FORMAT_H

#include "mf_tensor.h"

/* *out is a NUL-terminated string of *len bytes, to be freed with mf_free. */
mf_status mf_tensor_format(const mf_tensor *t, char **out, size_t *len);

#endif
