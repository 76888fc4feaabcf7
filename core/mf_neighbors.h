/*
 * mf_neighbors.h — the numeric kernels of mf.models' neighbour and naive
 * Bayes models: the k nearest training rows of query rows (brute force,
 * squared Euclidean distances through GEMM), the vote / weighted mean of
 * their labels, and Gaussian naive Bayes (per-class means and variances,
 * probabilities by log-sum-exp).
 *
 * Matrices are 2-D contiguous float64 tensors (rows = samples); class codes
 * are 1-D contiguous int64 tensors of 0..K-1. Indices out are 0-based. Work
 * over query rows runs on mf_parallel_for, each row computed alone, so no
 * result depends on the thread count.
 */
#ifndef MF_NEIGHBORS_H
#define MF_NEIGHBORS_H

#include "mf_tensor.h"

/* The k nearest rows of train [n x d] for each row of query [m x d]
 * (1 <= k <= n): *dist float64 [m x k] Euclidean distances ascending, *idx
 * int64 [m x k] 0-based training rows; ties go to the lower training index
 * (scikit-learn's brute force with a stable sort). Candidates are chosen on
 * ‖q‖² + ‖t‖² − 2 q·t (GEMM over tiles of query x training rows); the distances of the
 * k chosen are then recomputed exactly (an identical row is at distance 0)
 * and re-sorted. */
mf_status mf_neighbors_kneighbors(const mf_tensor *train, const mf_tensor *query, int64_t k,
                                  mf_tensor **dist, mf_tensor **idx);

/* The same for the Minkowski distance (Σ |q_j − t_j|^p)^(1/p), p >= 1 or
 * INFINITY (the largest |q_j − t_j|): p = 1 Manhattan, p = 2 Euclidean (then
 * exactly mf_neighbors_kneighbors). Other p: every distance computed
 * directly (no GEMM), the same tie rule. */
mf_status mf_neighbors_kneighbors_p(const mf_tensor *train, const mf_tensor *query, int64_t k, double p,
                                    mf_tensor **dist, mf_tensor **idx);

typedef enum mf_neighbors_out {
    MF_NB_PROBA = 0, /* float64 [m x K] */
    MF_NB_LOG_PROBA, /* float64 [m x K] (naive Bayes only) */
    MF_NB_INDEX      /* int64 [m]: 0-based class of the largest probability (first on ties) */
} mf_neighbors_out;

/* Class probabilities of m query rows from their neighbours (idx, dist as
 * from mf_neighbors_kneighbors) and the training codes [n] of K classes.
 * distance == 0: uniform weights; otherwise weight 1/distance, and a row
 * with a neighbour at distance 0 gives all its weight to such neighbours
 * (scikit-learn). what: MF_NB_PROBA or MF_NB_INDEX. */
mf_status mf_neighbors_vote(const mf_tensor *idx, const mf_tensor *dist, const mf_tensor *codes,
                            int64_t K, int distance, mf_neighbors_out what, mf_tensor **out);

/* The (weighted, as mf_neighbors_vote) mean of the training targets y
 * (float64 [n]) over each query row's neighbours: float64 [m]. */
mf_status mf_neighbors_regress(const mf_tensor *idx, const mf_tensor *dist, const mf_tensor *y,
                               int distance, mf_tensor **out);

/* Gaussian naive Bayes fit: *theta and *var float64 [K x d] (per-class mean
 * and population variance + epsilon, epsilon = var_smoothing · the largest
 * population variance of a column of X, as scikit-learn), *count float64
 * [K]. Every class must have a row. */
mf_status mf_neighbors_nb_fit(const mf_tensor *X, const mf_tensor *codes, int64_t K,
                              double var_smoothing, mf_tensor **theta, mf_tensor **var,
                              mf_tensor **count);

/* Gaussian naive Bayes prediction for X [m x d]: joint log-likelihoods
 * log prior_k − ½ Σ_j log(2π var_kj) − ½ Σ_j (x_j − θ_kj)² / var_kj,
 * normalized by log-sum-exp (MF_NB_LOG_PROBA, MF_NB_PROBA) or their argmax
 * (MF_NB_INDEX). log_prior float64 [K]. */
mf_status mf_neighbors_nb_predict(const mf_tensor *X, const mf_tensor *theta, const mf_tensor *var,
                                  const mf_tensor *log_prior, mf_neighbors_out what, mf_tensor **out);

#endif
