// SPDX-License-Identifier: Apache-2.0
// Attention over a KIVI cache (harness/kv/kivi_attention.h): the LibTorch reference and the
// dispatch to the CUDA launcher (harness/kernels/ops_cuda.h) for CUDA inputs in CUDA builds.
#include "harness/kv/kivi_attention.h"

#include "harness/error.h"
#include "harness/kv/attention.h"

#ifdef KVBENCH_WITH_CUDA
#include "harness/kernels/ops_cuda.h"
#endif

namespace kvbench {

at::Tensor kivi_dequantized_keys(const KiviCacheView& cache) {
  if (cache.quantized_keys() == 0) return cache.key_residual;
  return at::cat({kivi_dequantize_keys(cache.keys, cache.group, cache.key_bits), cache.key_residual}, 2);
}

at::Tensor kivi_dequantized_values(const KiviCacheView& cache) {
  if (cache.quantized_values() == 0) return cache.value_residual;
  return at::cat({kivi_dequantize_values(cache.values, cache.group, cache.value_bits), cache.value_residual}, 2);
}

at::Tensor kivi_attention_reference(const at::Tensor& query, const KiviCacheView& cache, int64_t q_offset,
                                    double scale) {
  at::Tensor keys = kivi_dequantized_keys(cache);
  at::Tensor values = kivi_dequantized_values(cache);
  KVBENCH_CHECK(keys.size(2) == values.size(2), "kivi_attention: ", keys.size(2), " key rows but ", values.size(2),
                " value rows");
  KVBENCH_CHECK(q_offset >= 0 && q_offset + query.size(2) <= keys.size(2), "kivi_attention: queries at slots ",
                q_offset, "..", q_offset + query.size(2) - 1, " past the ", keys.size(2), " cached rows");
  return exact_attention(query, keys, values, q_offset, at::Tensor(), scale);
}

at::Tensor kivi_attention(const at::Tensor& query, const KiviCacheView& cache, int64_t q_offset, double scale) {
#ifdef KVBENCH_WITH_CUDA
  if (query.defined() && query.is_cuda()) {
    // The kernel reads contiguous arrays; a residual is a view of a slot store whose capacity may
    // exceed its rows (and the query a view of the model's projections): copied when strided.
    auto dense = [](const at::Tensor& t) { return t.defined() ? t.contiguous() : t; };
    return cuda::kivi_attention_cuda(dense(query), dense(cache.keys.codes), dense(cache.keys.scale),
                                     dense(cache.keys.zero), dense(cache.key_residual), dense(cache.values.codes),
                                     dense(cache.values.scale), dense(cache.values.zero),
                                     dense(cache.value_residual), cache.group, cache.key_bits, cache.value_bits,
                                     q_offset, scale);
  }
#endif
  return kivi_attention_reference(query, cache, q_offset, scale);
}

}  // namespace kvbench
