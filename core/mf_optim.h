/*
 * mf_optim.h — optimizer steps and gradient clipping.
 *
 * One call updates every parameter of a group: mf_optim_step takes an array
 * of slots (parameter, gradient, state buffers, step count) and the group's
 * hyper-parameters, and writes the parameters and buffers in place with
 * PyTorch's update equations (torch.optim SGD, Adam, AdamW, RMSprop,
 * Adagrad). The parameters are written directly, not through the op table:
 * nothing is recorded by autograd, and each updated tensor's storage version
 * is bumped, so a graph that saved a parameter before the step refuses to
 * back-propagate through the stale value.
 *
 * The per-element math runs in the parameter's dtype (float for float32,
 * double for float64), with the scalar coefficients of a step (bias
 * corrections, decayed learning rates) computed in double first, as
 * PyTorch's CPU kernels do. State buffers have the parameter's shape and
 * dtype and are contiguous.
 *
 * Denormals: a buffer that decays geometrically (SGD's momentum, Adam's
 * moments, RMSprop's averages) of a unit whose gradient stays zero reaches
 * subnormal floats after a few thousand steps, and arithmetic on those is
 * 10-100x slower on x86. The kernels store a decaying buffer entry whose
 * magnitude falls below the smallest normal number (FLT_MIN or DBL_MIN) as 0.
 * Such a value changes an update by less than 1e-30 of the learning rate.
 * Where the buffer is a denominator (Adam's and RMSprop's squared averages),
 * flushing happens only when eps > 0, so that it never turns a tiny divisor
 * into a division by zero.
 */
#ifndef MF_OPTIM_H
#define MF_OPTIM_H

#include "mf_tensor.h"

typedef enum mf_optim_algo {
    MF_OPTIM_SGD = 0,
    MF_OPTIM_ADAM,
    MF_OPTIM_ADAMW,
    MF_OPTIM_RMSPROP,
    MF_OPTIM_ADAGRAD,
    MF_OPTIM_ALGO_COUNT
} mf_optim_algo;

/* "SGD", "Adam", "AdamW", "RMSprop", "Adagrad" (NULL when out of range). */
const char *mf_optim_algo_name(mf_optim_algo algo);
/* MF_OPTIM_ALGO_COUNT when the name is unknown. */
mf_optim_algo mf_optim_algo_from_name(const char *name);

/* The hyper-parameters of one group. Each algorithm reads its own fields. */
typedef struct mf_optim_hparams {
    double lr;
    double weight_decay;  /* L2 added to the gradient; AdamW: decoupled */
    double momentum;      /* SGD, RMSprop */
    double dampening;     /* SGD */
    int nesterov;         /* SGD */
    double beta1, beta2;  /* Adam, AdamW */
    int amsgrad;          /* Adam, AdamW */
    double eps;           /* Adam, AdamW, RMSprop, Adagrad */
    double alpha;         /* RMSprop smoothing constant */
    int centered;         /* RMSprop */
    double lr_decay;      /* Adagrad */
    double initial_accumulator_value; /* Adagrad */
} mf_optim_hparams;

/* PyTorch's defaults for algo (SGD: lr 1e-3, as torch >= 2.2). */
void mf_optim_hparams_default(mf_optim_algo algo, mf_optim_hparams *h);
/* Checks the fields algo reads (lr >= 0, betas in [0, 1), eps >= 0, ...);
 * MF_EINVAL naming argument 2 (the hyper-parameters) otherwise. NaN is never
 * accepted. */
mf_status mf_optim_check(mf_optim_algo algo, const mf_optim_hparams *h);

/* State buffers of a parameter under these options, in order:
 *   SGD      momentum_buffer (momentum != 0)
 *   Adam(W)  exp_avg, exp_avg_sq, max_exp_avg_sq (amsgrad)
 *   RMSprop  square_avg, momentum_buffer (momentum > 0), grad_avg (centered)
 *   Adagrad  sum
 * mf_optim_state_count gives how many; mf_optim_state_name the k-th name
 * (NULL past the end); mf_optim_state_init the value a new buffer is filled
 * with (Adagrad: initial_accumulator_value; else 0). */
#define MF_OPTIM_MAX_STATE 3
int mf_optim_state_count(mf_optim_algo algo, const mf_optim_hparams *h);
const char *mf_optim_state_name(mf_optim_algo algo, const mf_optim_hparams *h, int k);
double mf_optim_state_init(mf_optim_algo algo, const mf_optim_hparams *h, int k);

/* One parameter of a step. */
typedef struct mf_optim_slot {
    mf_tensor *param;  /* float32 or float64; updated in place */
    mf_tensor *grad;   /* same shape and dtype; NULL: the slot is skipped */
    mf_tensor *state[MF_OPTIM_MAX_STATE]; /* mf_optim_state_count of them */
    int64_t step;      /* updates this parameter has had; incremented */
    int fresh;         /* the buffers were just made (zeros or Adagrad's initial
                        * value): SGD then starts its momentum buffer at the
                        * first direction, as PyTorch does. Cleared. */
} mf_optim_slot;

/*
 * One update of every slot with a gradient. Everything is checked before
 * anything is written, so a failed call leaves parameters, buffers and
 * steps unchanged. Errors name argument 4 (the slots); the message names the
 * slot as params[i] (0-based). Parameters and gradients may be strided
 * (a non-contiguous parameter is updated through a contiguous copy); state
 * buffers must be contiguous. Runs on mf_num_threads() threads when the
 * group is large.
 */
mf_status mf_optim_step(mf_optim_algo algo, const mf_optim_hparams *h, int64_t n,
                        mf_optim_slot *slots);

/*
 * torch.nn.utils.clip_grad_norm_: the norm of all the gradients together
 * (as one vector; norm_type > 0, or INFINITY for the largest |g|), into
 * *total_norm. When max_norm / (total_norm + 1e-6) < 1 every gradient is
 * multiplied by that factor. NULL gradients are skipped; with none the norm
 * is 0. error_if_nonfinite: a NaN or infinite norm is an error (gradients
 * unchanged) rather than scaled into NaNs.
 */
mf_status mf_clip_grad_norm_(int64_t n, mf_tensor *const *grads, double max_norm,
                             double norm_type, int error_if_nonfinite, double *total_norm);

#endif
