/*
 * moonforge.h — libmoonforge, the C core of moonforge. Include this one
 * header; link with `pkg-config --libs moonforge`.
 */
#ifndef MOONFORGE_H
#define MOONFORGE_H

#include "mf_autograd.h"
#include "mf_clean.h"
#include "mf_common.h"
#include "mf_csv.h"
#include "mf_csv_write.h"
#include "mf_classify.h"
#include "mf_feat.h"
#include "mf_file.h"
#include "mf_format.h"
#include "mf_iter.h"
#include "mf_linalg.h"
#include "mf_linear.h"
#include "mf_math.h"
#include "mf_neighbors.h"
#include "mf_op.h"
#include "mf_optim.h"
#include "mf_plan.h"
#include "mf_prep.h"
#include "mf_random.h"
#include "mf_rows.h"
#include "mf_select.h"
#include "mf_svm.h"
#include "mf_tensor.h"
#include "mf_thread.h"

#endif
