// SPDX-License-Identifier: Apache-2.0
// LRQK's factor algebra (methods/lrqk_factors.h): the prefill alternating least squares, the
// decode coefficients and B updates, low-rank top-k scoring and the hit/miss slot update. Each
// function follows the reference's order of operations (tenghuilee/LRQK lrqk_attention.py).
#include "methods/lrqk_factors.h"

#include "harness/error.h"

#include <algorithm>

#include <ATen/CPUGeneratorImpl.h>

namespace kvbench::lrqk {
namespace {

// x^T over the last two dimensions.
at::Tensor tr(const at::Tensor& x) { return x.transpose(-1, -2); }

// X with X a = b (the reference's solve_ex(a, b, left=False)).
at::Tensor solve_right(const at::Tensor& a, const at::Tensor& b) {
  return std::get<0>(at::linalg_solve_ex(a, b, /*left=*/false));
}
// X with a X = b.
at::Tensor solve_left(const at::Tensor& a, const at::Tensor& b) {
  return std::get<0>(at::linalg_solve_ex(a, b, /*left=*/true));
}

double mse(const at::Tensor& a, const at::Tensor& b) { return (a - b).pow(2).mean().item<double>(); }

// B = (A^T A)^-1 A^T X: [B, H, r, d].
at::Tensor coefficients(const at::Tensor& a, const at::Tensor& x) { return solve_left(at::matmul(tr(a), a), at::matmul(tr(a), x)); }

// The reference's _lrqk_decode_gd_B_lr: ||dB||^2 / (||hat dB||^2 + eps) per (batch, head), [B, H, 1, 1].
at::Tensor b_step(const at::Tensor& d_b, const at::Tensor& hat) {
  constexpr double kEpsilon = 1e-6;
  at::Tensor d_b_norm = d_b.square().sum({2, 3}, /*keepdim=*/true);
  at::Tensor hat_d_b_norm = at::matmul(hat, d_b).square().sum({2, 3}, /*keepdim=*/true);
  return d_b_norm / (hat_d_b_norm + kEpsilon);
}

}  // namespace

at::ScalarType factor_dtype(at::ScalarType input) { return input == at::kDouble ? at::kDouble : at::kFloat; }

FactorInit random_init(uint64_t seed, int64_t batch, int64_t heads, int64_t tokens, int64_t rank,
                       const at::TensorOptions& options) {
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto cpu = at::TensorOptions().dtype(at::kFloat).device(at::kCPU);
  at::Tensor a_q = at::randn({batch, heads, tokens, rank}, generator, cpu);
  at::Tensor a_k = at::randn({batch, heads, tokens, rank}, generator, cpu);
  return {a_q.to(options), a_k.to(options)};
}

Factors fit_prefill(const at::Tensor& q, const at::Tensor& k, at::Tensor a_q, at::Tensor a_k, int64_t max_iter,
                    double tol) {
  KVBENCH_CHECK(q.dim() == 4 && q.sizes() == k.sizes(), "lrqk: prefill Q and K must be [B, H, S, d] alike");
  KVBENCH_CHECK(a_q.sizes() == a_k.sizes() && a_q.size(2) == q.size(2), "lrqk: A_Q/A_K must be [B, H, S, r]");
  Factors f;
  for (int64_t it = 0; it < max_iter; ++it) {
    const at::Tensor b_q = coefficients(a_q, q);
    const at::Tensor b_k = coefficients(a_k, k);
    const at::Tensor ak_t_ak = at::matmul(tr(a_k), a_k);
    const at::Tensor new_a_q = at::matmul(q, solve_right(ak_t_ak + at::matmul(b_q, tr(b_q)), at::matmul(tr(k), a_k) + tr(b_q)));
    const at::Tensor aq_t_aq = at::matmul(tr(new_a_q), new_a_q);
    const at::Tensor new_a_k =
        at::matmul(k, solve_right(aq_t_aq + at::matmul(b_k, tr(b_k)), at::matmul(tr(q), new_a_q) + tr(b_k)));
    const double delta = std::max(mse(a_q, new_a_q), mse(a_k, new_a_k));
    a_q = new_a_q;
    a_k = new_a_k;
    f.deltas.push_back(delta);
    f.iterations = it + 1;
    if (delta < tol) break;
  }
  f.b_q = coefficients(a_q, q);
  f.b_k = coefficients(a_k, k);
  f.a_q = a_q;
  f.a_k = a_k;
  return f;
}

double objective(const at::Tensor& q, const at::Tensor& k, const Factors& f) {
  const at::Tensor qd = q.to(at::kDouble), kd = k.to(at::kDouble);
  const at::Tensor aq = f.a_q.to(at::kDouble), ak = f.a_k.to(at::kDouble);
  const double scores = (at::matmul(qd, tr(kd)) - at::matmul(aq, tr(ak))).square().sum().item<double>();
  const double query = (qd - at::matmul(aq, f.b_q.to(at::kDouble))).square().sum().item<double>();
  const double key = (kd - at::matmul(ak, f.b_k.to(at::kDouble))).square().sum().item<double>();
  return scores + query + key;
}

DecodeUpdate decode_update(const at::Tensor& b_q, const at::Tensor& a_k_ws, const at::Tensor& b_k,
                           const at::Tensor& k_ws, const at::Tensor& q, const at::Tensor& k, int64_t max_iter,
                           double tol) {
  max_iter = std::max<int64_t>(max_iter, 1);
  // Shared terms: k B_K^T [1, r], B_K B_K^T [r, r], q B_Q^T + (q K_ws^T) A_K_ws [1, r],
  // B_Q B_Q^T + A_K_ws^T A_K_ws [r, r], q k^T [1, 1].
  const at::Tensor k_bk = at::matmul(k, tr(b_k));
  const at::Tensor bk_bk = at::matmul(b_k, tr(b_k));
  const at::Tensor q_rhs = at::matmul(q, tr(b_q)) + at::matmul(at::matmul(q, tr(k_ws)), a_k_ws);
  const at::Tensor q_system = at::matmul(b_q, tr(b_q)) + at::matmul(tr(a_k_ws), a_k_ws);
  const at::Tensor q_k = at::matmul(q, tr(k));
  at::Tensor hat_k = solve_right(bk_bk, k_bk);
  at::Tensor hat_q;
  for (int64_t it = 0; it < max_iter; ++it) {
    hat_q = solve_right(q_system + at::matmul(tr(hat_k), hat_k), q_rhs + at::matmul(q_k, hat_k));
    at::Tensor new_hat_k = solve_right(bk_bk + at::matmul(tr(hat_q), hat_q), k_bk + at::matmul(q_k, hat_q));
    const double delta = mse(hat_k, new_hat_k);
    hat_k = new_hat_k;
    if (delta < tol) break;
  }
  const at::Tensor d_bq = at::matmul(tr(hat_q), at::matmul(hat_q, b_q) - q);
  const at::Tensor d_bk = at::matmul(tr(hat_k), at::matmul(hat_k, b_k) - k);
  return {b_q - b_step(d_bq, hat_q) * d_bq, b_k - b_step(d_bk, hat_k) * d_bk, hat_q, hat_k};
}

at::Tensor top_tokens(const at::Tensor& a_k, const at::Tensor& hat_q, int64_t count) {
  const int64_t b = a_k.size(0), h = a_k.size(1), n = a_k.size(2);
  if (n <= count) return at::arange(n, a_k.options().dtype(at::kLong)).expand({b, h, n}).contiguous();
  const at::Tensor scores = at::matmul(a_k, tr(hat_q)).squeeze(-1);  // [B, H, n]
  return std::get<0>(at::sort(std::get<1>(at::topk(scores, count, /*dim=*/2)), /*dim=*/2));
}

SlotUpdate replace_missing(const at::Tensor& resident, const at::Tensor& wanted) {
  KVBENCH_CHECK(resident.sizes() == wanted.sizes(), "lrqk: resident and wanted token tables differ in shape");
  const int64_t k = resident.size(-1);
  // Token ids made unique per row (row * span + token), so one at::isin tests membership per row.
  const int64_t span = std::max(resident.max().item<int64_t>(), wanted.max().item<int64_t>()) + 2;
  const at::Tensor row = at::arange(resident.numel() / std::max<int64_t>(k, 1), resident.options())
                             .view(resident.sizes().slice(0, resident.dim() - 1).vec())
                             .unsqueeze(-1) * span;
  const at::Tensor resident_keys = resident + 1 + row, wanted_keys = wanted + 1 + row;
  SlotUpdate u;
  u.refill = at::isin(resident_keys, wanted_keys).logical_not();           // freed slots
  const at::Tensor missing = at::isin(wanted_keys, resident_keys).logical_not();  // wanted, not resident
  u.resident = resident.clone();
  // Row-major boolean indexing pairs the k-th freed slot of a row with its k-th missing token
  // (each row frees as many slots as it misses tokens).
  u.resident.index_put_({u.refill}, wanted.index({missing}));
  u.misses = u.refill.sum().item<int64_t>();
  return u;
}

}  // namespace kvbench::lrqk
