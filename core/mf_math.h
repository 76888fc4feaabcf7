/* mf_math.h — (being written) */
#ifndef MF_MATH_H
#define MF_MATH_H

#include "mf_tensor.h"

#endif
