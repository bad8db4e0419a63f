// SPDX-License-Identifier: Apache-2.0
// InfiniGen calibration: skewing matrices, partial channels, and the calibration pass over a fixed
// text (see infinigen_calibration.h).
#include "methods/infinigen_calibration.h"

#include "harness/error.h"
#include "harness/kv/attention.h"
#include "harness/kv/ops.h"
#include "harness/source_dir.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace kvbench::infinigen {

at::Tensor skewing_matrices(const at::Tensor& query, const at::Tensor& key) {
  KVBENCH_CHECK(query.dim() == 3 && key.sizes() == query.sizes(), "infinigen: skewing_matrices takes query and key [H, n, d]");
  const int64_t heads = query.size(0), n = query.size(1), d = query.size(2);
  KVBENCH_CHECK_CONFIG(n >= d, "infinigen: the calibration pass has ", n, " tokens, fewer than head_dim ", d,
                       " (the skewing matrix needs a square V from the SVD)");
  // Reduced SVDs in fp32 (the reference upcasts too): Vh [H, d, d] (rows = right singular vectors).
  auto q_svd = at::linalg_svd(query.to(at::kFloat), /*full_matrices=*/false);
  auto k_svd = at::linalg_svd(key.to(at::kFloat), /*full_matrices=*/false);
  const at::Tensor vq = std::get<2>(q_svd).transpose(1, 2);                 // [H, d, d], column j = v_j
  const at::Tensor s = std::get<1>(q_svd) * std::get<1>(k_svd);              // [H, d]
  const at::Tensor order = std::get<1>(at::sort(s, /*stable=*/true, /*dim=*/-1, /*descending=*/false));  // [H, d]
  // A[h, r, order[h, j]] = vq[h, r, j].
  return at::zeros({heads, d, d}, vq.options()).scatter_(2, order.unsqueeze(1).expand({heads, d, d}), vq);
}

at::Tensor partial_channel_mask(const at::Tensor& query_skewed, const at::Tensor& key_skewed, double ratio) {
  const int64_t heads = query_skewed.size(0), d = query_skewed.size(2);
  const int64_t k = static_cast<int64_t>(static_cast<double>(d) * ratio);  // Python int(d * ratio)
  KVBENCH_CHECK_CONFIG(k >= 1 && k <= d, "method.params.partial_weight_ratio: ", ratio, " of head_dim ", d,
                       " selects ", k, " channels (at least 1 is needed)");
  at::Tensor mask = at::zeros({heads, d}, query_skewed.options().dtype(at::kBool));
  for (const at::Tensor* rows : {&query_skewed, &key_skewed}) {
    const at::Tensor mass = rows->to(at::kFloat).abs().sum(1).unsqueeze(0);  // [1, H, d]
    const at::Tensor top = topk_per_head(mass, k).squeeze(0);                 // [H, k]
    mask.scatter_(1, top, true);
  }
  return mask;
}

LayerSkew calibrate_layer(const at::Tensor& query, const at::Tensor& key, double ratio, at::ScalarType dtype) {
  const int64_t hq = query.size(0), hkv = key.size(0), d = query.size(2);
  KVBENCH_CHECK(hkv > 0 && hq % hkv == 0, "infinigen: ", hq, " query heads are not a multiple of ", hkv, " KV heads");
  const at::Tensor q = query.to(at::kFloat);
  const at::Tensor k = key.to(at::kFloat).repeat_interleave(hq / hkv, 0);  // [Hq, n, d], head h -> KV head h/g
  const at::Tensor a = skewing_matrices(q, k);                              // [Hq, d, d]
  const at::Tensor mask = partial_channel_mask(q.matmul(a), k.matmul(a), ratio).to(at::kCPU);
  LayerSkew out;
  int64_t width = 0;
  for (int64_t h = 0; h < hq; ++h) {
    out.channels_per_head.push_back(mask[h].sum().item<int64_t>());
    width = std::max(width, out.channels_per_head.back());
  }
  at::Tensor packed = at::zeros({hq, d, width}, a.options());
  for (int64_t h = 0; h < hq; ++h) {
    const at::Tensor channels = mask[h].nonzero().flatten().to(a.device());  // ascending
    packed[h].narrow(1, 0, channels.numel()).copy_(a[h].index_select(1, channels));
  }
  out.partial_skew = packed.to(dtype);
  return out;
}

std::string resolve_calibration_path(const std::string& path) {
  std::string resolved = path;
  if (path.empty() || path[0] != '/') {
    const char* root = std::getenv("KVBENCH_DATA_DIR");
    resolved = (root != nullptr && *root != '\0' ? std::string(root) : source_dir() + "/../shared/data") + "/" + path;
  }
  return resolved;
}

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  KVBENCH_CHECK_CONFIG(in.good(), path, ": cannot read the InfiniGen calibration text (method.params.calibration_text)");
  std::ostringstream text;
  text << in.rdbuf();
  KVBENCH_CHECK_CONFIG(!text.str().empty(), path, ": the InfiniGen calibration text is empty (method.params.calibration_text)");
  return text.str();
}

// A KV method that attends densely over the one calibration chunk and calibrates each layer from
// its post-RoPE queries [1, Hq, n, d] and keys [1, Hkv, n, d].
class CalibrationPass : public KVMethod {
 public:
  CalibrationPass(Calibration& out, double ratio, int64_t first_layer)
      : out_(out), ratio_(ratio), first_layer_(first_layer) {}
  void reset(const ModelView&, int64_t, int64_t) override {}
  at::Tensor attend(const AttentionCall& call) override {
    KVBENCH_CHECK(call.slot_offset == 0 && call.last_prefill_chunk, "infinigen: the calibration pass is one chunk");
    if (call.layer >= first_layer_)
      out_.layers.at(static_cast<size_t>(call.layer)) =
          calibrate_layer(call.query.select(0, 0), call.key.select(0, 0), ratio_, call.query.scalar_type());
    return exact_attention(call.query, call.key, call.value, 0, at::Tensor(), call.scale);
  }
  KVMemory memory() const override { return {}; }

 private:
  Calibration& out_;
  double ratio_;
  int64_t first_layer_;
};

}  // namespace

Calibration calibrate(const ModelView& model, const std::string& text_path, int64_t max_tokens, double ratio,
                      int64_t first_layer) {
  KVBENCH_CHECK(static_cast<bool>(model.forward_tokens), "infinigen: calibration needs the model (ModelView::forward_tokens)");
  Calibration out;
  out.text_path = resolve_calibration_path(text_path);
  const std::string text = read_text(out.text_path);
  std::vector<int64_t> ids;
  if (model.tokenize) {
    ids = model.tokenize(text);
    out.token_source = "tokenizer";
  } else {
    for (unsigned char c : text) ids.push_back(static_cast<int64_t>(c));
    out.token_source = "utf8_bytes";
  }
  if (static_cast<int64_t>(ids.size()) > max_tokens) ids.resize(static_cast<size_t>(max_tokens));
  out.tokens = static_cast<int64_t>(ids.size());
  out.layers.assign(static_cast<size_t>(model.shape.num_layers), LayerSkew{});
  c10::InferenceMode guard;
  CalibrationPass pass(out, ratio, first_layer);
  model.forward_tokens(ids, pass);
  return out;
}

}  // namespace kvbench::infinigen
