/* mf_select.h — (being written) */
#ifndef MF_SELECT_H
#define MF_SELECT_H

#include "mf_tensor.h"

#endif
