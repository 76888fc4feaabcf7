/* mf_linalg.h — (being written) */
#ifndef MF_LINALG_H
#define MF_LINALG_H

#include "mf_tensor.h"

#endif
