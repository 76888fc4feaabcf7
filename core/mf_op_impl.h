/* mf_op_impl.h — internal: the op records, defined next to their kernels. */
#ifndef MF_OP_IMPL_H
#define MF_OP_IMPL_H

#include "mf_op.h"

/* mf_op_shape.c */
extern const mf_op mf_oprec_clone, mf_oprec_cast, mf_oprec_view, mf_oprec_permute,
    mf_oprec_narrow, mf_oprec_expand, mf_oprec_index_select;

/* mf_op_elem.c */

/* mf_op_reduce.c */

/* mf_op_linalg.c */

/* mf_op_select.c */

#endif
