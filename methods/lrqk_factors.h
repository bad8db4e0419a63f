// SPDX-License-Identifier: Apache-2.0
// LRQK's low-rank query/key algebra (Li et al., NeurIPS 2025; reference tenghuilee/LRQK @ f3b843f
// lrqk_attention.py: _init_randn_AQ_AK, _lrqk_prefill_inv_w1, _lrqk_decode_inv_w1,
// _lrqk_decode_gd_B_lr, LightAttentionIndicesFactory.compute_hit_indices / only_indices_in_cpu;
// ../shared/docs/methods.md section 5), written for the default weights lambda = (1, 1, 1, 1).
// Everything works per query head: tensors are [B, H, n, .] with H = query heads (keys repeated).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

namespace kvbench::lrqk {

// The dtype the factor algebra runs in: fp32 (the reference casts bf16/fp16 inputs to fp32 for
// every solve), or fp64 when the inputs are fp64 (the reference check runs both sides in fp64).
at::ScalarType factor_dtype(at::ScalarType input);

// The reference's randn initialisation of A_Q and A_K, each [B, H, S, r], made reproducible: both
// drawn (A_Q first) from one CPU generator seeded with `seed`, in fp32, then moved to `options`.
struct FactorInit {
  at::Tensor a_q, a_k;
};
FactorInit random_init(uint64_t seed, int64_t batch, int64_t heads, int64_t tokens, int64_t rank,
                       const at::TensorOptions& options);

// Prefill fit of Q ~ A_Q B_Q, K ~ A_K B_K, Q K^T ~ A_Q A_K^T by alternating least squares from
// (a_q, a_k). One iteration: B_Q = (A_Q^T A_Q)^-1 A_Q^T Q, B_K likewise; then
//   A_Q <- Q (K^T A_K + B_Q^T)(A_K^T A_K + B_Q B_Q^T)^-1,
//   A_K <- K (Q^T A_Q + B_K^T)(A_Q^T A_Q + B_K B_K^T)^-1   with the A_Q just computed;
// stop after max_iter iterations or once max(mse(A_Q change), mse(A_K change)) < tol (the mean
// over every batch row and head, as the reference's F.mse_loss), then B_Q, B_K from the final A's.
// q, k: [B, H, S, d]; a_q, a_k: [B, H, S, r]; all in factor_dtype (the caller casts).
struct Factors {
  at::Tensor a_q, b_q, a_k, b_k;  // [B, H, S, r], [B, H, r, d], [B, H, S, r], [B, H, r, d]
  int64_t iterations = 0;         // iterations run (<= max_iter)
  std::vector<double> deltas;     // the convergence measure after each iteration
};
Factors fit_prefill(const at::Tensor& q, const at::Tensor& k, at::Tensor a_q, at::Tensor a_k, int64_t max_iter,
                    double tol);

// Objective the alternating procedure decreases, per (batch, head) summed:
// ||Q K^T - A_Q A_K^T||^2 + ||Q - A_Q B_Q||^2 + ||K - A_K B_K||^2 (fp64 scalar; for tests).
double objective(const at::Tensor& q, const at::Tensor& k, const Factors& f);

// Decode step: the rank-r coefficients of the new query q and key k ([B, H, 1, d], k repeated to
// query heads) against the working set (keys k_ws [B, H, n, d] with their A_K rows a_k_ws
// [B, H, n, r]), by alternating solves (hat_k from B_K first; then hat_q, hat_k per iteration;
// stop after max(max_iter, 1) or once mse(hat_k change) < tol), then one gradient step on B_Q and
// B_K with the exact line-search step ||dB||^2 / (||hat dB||^2 + 1e-6) per (batch, head).
// Inputs in factor_dtype; returns B_Q, B_K [B, H, r, d] and hat_q, hat_k [B, H, 1, r].
struct DecodeUpdate {
  at::Tensor b_q, b_k, hat_q, hat_k;
};
DecodeUpdate decode_update(const at::Tensor& b_q, const at::Tensor& a_k_ws, const at::Tensor& b_k,
                           const at::Tensor& k_ws, const at::Tensor& q, const at::Tensor& k, int64_t max_iter,
                           double tol);

// The `count` candidate tokens with the largest low-rank scores a_k . hat_q per (batch, head),
// ascending token order: [B, H, count] int64. a_k: [B, H, n, r] (candidates 0..n-1), hat_q
// [B, H, 1, r], same dtype (the reference scores in the KV dtype). n <= count: all of 0..n-1.
// Ties at the boundary are broken by at::topk (the reference's torch.topk; no order is promised).
at::Tensor top_tokens(const at::Tensor& a_k, const at::Tensor& hat_q, int64_t count);

// Replaces the resident tokens no longer wanted by the wanted ones not yet resident, as the
// reference's only_indices_in_cpu: per row, the freed slots in ascending slot order receive the
// missing tokens in their order in `wanted`; every other slot keeps its token (a hit).
// resident, wanted: [B, H, k] int64, each row k distinct tokens.
struct SlotUpdate {
  at::Tensor resident;  // [B, H, k] after the update
  at::Tensor refill;    // [B, H, k] bool: slots that now hold a token fetched from the host (misses)
  int64_t misses = 0;   // refill.sum()
};
SlotUpdate replace_missing(const at::Tensor& resident, const at::Tensor& wanted);

}  // namespace kvbench::lrqk
