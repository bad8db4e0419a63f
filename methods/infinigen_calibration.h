// SPDX-License-Identifier: Apache-2.0
// InfiniGen's offline setup, done once per model (reference snu-comparch/InfiniGen @ 3754f52
// accuracy/setup/gen_llama_skewing_matrix.py, gen_partial_weight.py with
// accuracy/src/modeling_llama_ours_setup.py; ../shared/docs/methods.md section 3.1): per layer and
// query head the skewing matrix A (SVD of the calibration pass's post-RoPE queries and keys) and
// the partial channels (the skewed channels with the largest query and key mass), packed as the
// projection the decode-time speculation multiplies by.
#pragma once

#include "harness/kv/method.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kvbench::infinigen {

// Skewing matrices of H heads. query, key [H, n, d] (post-RoPE calibration rows of each query head;
// GQA: the key rows of the head's KV head). Returns A [H, d, d] fp32, orthogonal: with
// Q = U_q diag(s_q) V_q^T and K = U_k diag(s_k) V_k^T (reduced SVDs, singular values descending),
// ind = the ascending order of s_q * s_k (stable sort: equal products keep the lower index first),
// column ind[j] of A is column j of V_q (the reference's scatter of V_q by that order). Since A is
// orthogonal, (Q A)(K A)^T = Q K^T. Singular-vector signs are whatever LAPACK returns: a column's
// sign flips both the skewed query and key channel, so scores and channel choices do not depend on it.
at::Tensor skewing_matrices(const at::Tensor& query, const at::Tensor& key);

// Partial channels: mask [H, d] bool, per head the union of the floor(ratio * d) skewed channels
// with the largest sum over rows of |Q A| and the floor(ratio * d) with the largest sum of |K A|
// (the reference marks both in one mask), so between floor(ratio * d) and 2 * floor(ratio * d)
// channels. Ties: the lower channel id first (topk_per_head's rule; torch.topk leaves them
// unspecified). query_skewed, key_skewed [H, n, d].
at::Tensor partial_channel_mask(const at::Tensor& query_skewed, const at::Tensor& key_skewed, double ratio);

// One layer's calibration, in the form the speculation uses.
struct LayerSkew {
  // [Hq, d, w]: column j of head h is column c_j of A_h for the head's j-th partial channel c_j
  // (ascending); columns past the head's channel count are zero, so a query or key multiplied by it
  // has exactly the head's partial channels followed by zeros. w = the layer's largest count.
  at::Tensor partial_skew;
  std::vector<int64_t> channels_per_head;  // Hq counts
  int64_t width() const { return partial_skew.defined() ? partial_skew.size(2) : 0; }
};

// query [Hq, n, d], key [Hkv, n, d] post-RoPE rows of one layer (any float dtype); computed in fp32,
// partial_skew returned in `dtype` on the query's device. Query head h uses KV head h / (Hq / Hkv).
LayerSkew calibrate_layer(const at::Tensor& query, const at::Tensor& key, double ratio, at::ScalarType dtype);

struct Calibration {
  std::vector<LayerSkew> layers;  // one per model layer; layers < first_layer stay empty
  std::string text_path;          // the calibration text file read
  std::string token_source;       // "tokenizer" or "utf8_bytes" (no tokenizer attached, see below)
  int64_t tokens = 0;             // tokens run through the model
};

// The calibration text: `path` as given when absolute, else under the data root
// ($KVBENCH_DATA_DIR, default <source>/../shared/data), as task.data_root resolves. Unreadable or
// empty: a config Error naming the file and method.params.calibration_text.
std::string resolve_calibration_path(const std::string& path);

// Runs the model once over the first `max_tokens` tokens of the calibration text (tokenized by
// model.tokenize; when the model has no tokenizer attached, i.e. token-level callers such as tests
// and benchmarks, its UTF-8 bytes are the ids, which the model's vocabulary must cover) and
// calibrates every layer >= first_layer from that pass (dense causal attention, one chunk).
Calibration calibrate(const ModelView& model, const std::string& text_path, int64_t max_tokens, double ratio,
                      int64_t first_layer);

}  // namespace kvbench::infinigen
