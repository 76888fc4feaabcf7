/*
 * mf_plan.h — the fast path for training small dense networks (MLPs).
 *
 * A plan is a chain of dense layers, a = act(x W^T + b), over the model's own
 * weight [out x in] and bias [out] tensors, followed by a loss. It runs one
 * training step (forward, loss, backward, optimizer update) as a handful of
 * fused C loops over work buffers that are allocated once: no graph is
 * recorded and, in steady state, nothing is allocated (mf_mem_allocations
 * does not move).
 *
 * The parameters are updated in place with the equations and arithmetic of
 * mf_optim_step (same operations in the same order, in the parameter's
 * dtype), on the caller's optimizer state buffers and step counts, so a
 * training run may switch between this path and the generic one (autograd +
 * mf_optim_step) at any step. Storage versions of the parameters and buffers
 * are bumped as mf_optim_step does. Forward and backward agree with the
 * generic path to float rounding (the sums run in another order).
 *
 * Matrix products: float32 plans use hand-written AVX-512 kernels when the
 * CPU has them (register-blocked outer products with the bias, ReLU and
 * ReLU' fused; at the sizes of tabular MLPs they beat a BLAS call, whose
 * fixed cost dominates there, by 2.5x and more), split over the one thread
 * setting (mf_parallel_for) when a product is large enough; float64 plans,
 * and CPUs without AVX-512 or builds without GCC's target pragmas, use
 * BLAS (mf_blas_gemm, whose threads follow the same setting). The kernels
 * give the same bits at any thread count.
 *
 * A plan is used by one thread at a time.
 *
 * Denormals: the forward and backward passes (mf_plan_gradients,
 * mf_plan_forward, the first half of mf_plan_train_batch) run with
 * flush-to-zero and denormals-are-zero (MXCSR FTZ|DAZ on x86, set on the
 * calling thread and on the workers for the duration of the call, the
 * previous mode restored), so activations and gradients below FLT_MIN
 * (DBL_MIN) are 0 and such inputs read as 0. The optimizer update runs in
 * the caller's mode with mf_optim_step's kernels' rule: a decaying buffer
 * entry (momentum, Adam's moments) below the smallest normal number is
 * stored as 0 (mf_optim.h), so the update is bitwise that of mf_optim_step
 * and the state buffers never hold subnormals. Without both, the moments of
 * dead units decay into subnormals after a few thousand steps and every
 * step pays for them (several times slower on x86).
 *
 * Errors name arguments as a Lua user writes plan:train_batch(x, y,
 * indices, first, count): the plan 1, x 2, y 3, indices 4, first 5, count 6.
 */
#ifndef MF_PLAN_H
#define MF_PLAN_H

#include "mf_optim.h"
#include "mf_tensor.h"

typedef enum mf_plan_act {
    MF_PLAN_IDENTITY = 0,
    MF_PLAN_RELU,
    MF_PLAN_SIGMOID,
    MF_PLAN_TANH,
    MF_PLAN_SOFTMAX, /* last layer only, over each row */
    MF_PLAN_ACT_COUNT
} mf_plan_act;

/* Each is the mean over the batch (and over the outputs for the
 * elementwise ones), as Keras's losses of the same names:
 *   MSE    (a - t)^2                                 any activation but softmax
 *   MAE    |a - t|                                   idem
 *   HUBER  0.5 d^2 if |d| <= 1 else |d| - 0.5        idem (delta 1)
 *   BCE    -(t log a + (1 - t) log(1 - a)) with a = sigmoid(z), computed
 *          from the logits z as (1 - t) z + softplus(-z) (PyTorch's
 *          BCEWithLogits, Keras's form for a sigmoid head), and its gradient
 *          as a - t; sigmoid last layer
 *   CCE    -sum_c t_c log softmax(z)_c, targets are rows of class
 *          probabilities; softmax last layer
 *   SPARSE_CCE  -log softmax(z)_y, targets are class indices; softmax last
 *          layer */
typedef enum mf_plan_loss {
    MF_PLAN_MSE = 0,
    MF_PLAN_MAE,
    MF_PLAN_HUBER,
    MF_PLAN_BCE,
    MF_PLAN_CCE,
    MF_PLAN_SPARSE_CCE,
    MF_PLAN_LOSS_COUNT
} mf_plan_loss;

/* "identity", "relu", "sigmoid", "tanh", "softmax"; NULL when out of range. */
const char *mf_plan_act_name(mf_plan_act act);
/* MF_PLAN_ACT_COUNT when unknown. */
mf_plan_act mf_plan_act_from_name(const char *name);
/* Keras's names: "mse", "mae", "huber", "binary_crossentropy",
 * "categorical_crossentropy", "sparse_categorical_crossentropy". */
const char *mf_plan_loss_name(mf_plan_loss loss);
mf_plan_loss mf_plan_loss_from_name(const char *name);

/* One dense layer: weight [out x in] and bias [out] (or NULL), contiguous,
 * float32 or float64 (all layers one dtype); in of layer l + 1 is out of
 * layer l. The plan keeps a reference to both. */
typedef struct mf_plan_layer {
    mf_tensor *weight;
    mf_tensor *bias;
    mf_plan_act act;
} mf_plan_layer;

#define MF_PLAN_MAX_LAYERS 32

typedef struct mf_plan mf_plan;

/* Checks the layers (argument 1) and the loss (argument 2) and makes a
 * plan. The loss fixes which last activation is allowed (see mf_plan_loss);
 * softmax is refused on hidden layers. */
mf_status mf_plan_new(mf_plan **out, int nlayers, const mf_plan_layer *layers, mf_plan_loss loss);
void mf_plan_free(mf_plan *p);

/* Reserves the work buffers for batches of up to n rows. A step with more
 * rows than reserved grows them (the only allocation a step makes). */
mf_status mf_plan_reserve(mf_plan *p, int64_t n);

mf_dtype mf_plan_dtype(const mf_plan *p);
int64_t mf_plan_in_features(const mf_plan *p);
int64_t mf_plan_out_features(const mf_plan *p);
/* The parameters in the order of a module walk: weight 1, bias 1 (when
 * present), weight 2, ...; k in [0, mf_plan_num_params). Borrowed. */
int mf_plan_num_params(const mf_plan *p);
mf_tensor *mf_plan_param(const mf_plan *p, int k);
/* The gradient of parameter k from the last mf_plan_gradients or
 * mf_plan_train_batch (contiguous, the parameter's shape). Borrowed. */
mf_tensor *mf_plan_grad(const mf_plan *p, int k);
/* Whether the hand-written kernels are in use (float32 on a CPU with
 * AVX-512); 0 means every product goes to BLAS. */
int mf_plan_native(const mf_plan *p);
/* Test hook: 0 forces BLAS for every product, 1 restores the default. */
void mf_plan_set_native(mf_plan *p, int on);

/* What a step saw of its batch. Sums over the batch, so that a caller can
 * average over an epoch: loss (the batch's mean loss times count), correct
 * (accuracy as Keras's for the loss: for BCE, the outputs of each row with
 * a > 0.5 agreeing with t > 0.5, averaged over the row; for CCE and sparse
 * CCE, argmax of the outputs = the target class; NaN for the regression
 * losses), abs_err and sq_err (sums over the rows of the mean |a - t| and
 * (a - t)^2 of each row, a the probabilities for CCE; NaN for sparse
 * CCE). */
typedef struct mf_plan_stats {
    double loss;
    double correct;
    double abs_err;
    double sq_err;
    int64_t count;
} mf_plan_stats;

/*
 * The batch of a step: rows idx[first], ..., idx[first + count - 1] of x
 * (2-D [N x in], float32 or float64, any strides; converted to the plan's
 * dtype), with the targets at the same rows of y:
 *   MSE, MAE, HUBER, BCE, CCE  float [N x out] (or [N] when out is 1)
 *   SPARSE_CCE                 int64 [N] class indices
 * idx is a 1-D int64 tensor of row numbers; NULL takes rows first ..
 * first + count - 1 in order. `base` is the number of the first row and of
 * the first class in idx and y (0 in C; 1 for Lua's positions): out of
 * range values are errors naming idx (4) or y (3).
 */
typedef struct mf_plan_batch {
    const mf_tensor *x;
    const mf_tensor *y;
    const mf_tensor *idx;
    int64_t first, count;
    int64_t base;
} mf_plan_batch;

/* Forward and backward over a batch: the gradients (mf_plan_grad) and the
 * batch statistics (st may be NULL). Parameters are not changed. */
mf_status mf_plan_gradients(mf_plan *p, const mf_plan_batch *b, mf_plan_stats *st);

/*
 * One optimizer step of every parameter with the gradients of the last
 * mf_plan_gradients. slots[k] is parameter k's (param must be
 * mf_plan_param(p, k); state buffers, step and fresh as for mf_optim_step;
 * grad is ignored) and h[k] its group's hyper-parameters. SGD, Adam and
 * AdamW run fused kernels that allocate nothing; RMSprop and Adagrad go
 * through mf_optim_step. Everything is checked before anything is written.
 * Errors name no argument (their messages start with "optimizer").
 */
mf_status mf_plan_update(mf_plan *p, mf_optim_algo algo, const mf_optim_hparams *h,
                         mf_optim_slot *slots);

/* mf_plan_gradients then mf_plan_update: one training step. The
 * optimizer arguments are checked first: a failed call changes nothing. */
mf_status mf_plan_train_batch(mf_plan *p, const mf_plan_batch *b, mf_optim_algo algo,
                              const mf_optim_hparams *h, mf_optim_slot *slots,
                              mf_plan_stats *st);

/* The network's outputs for every row of x (2-D [N x in], float32 or
 * float64): a new contiguous [N x out] tensor of the plan's dtype, after the
 * last activation (probabilities for sigmoid and softmax). Runs in chunks
 * of the reserved batch size (at least 256 rows). */
mf_status mf_plan_forward(mf_tensor **out, mf_plan *p, const mf_tensor *x);

#endif
