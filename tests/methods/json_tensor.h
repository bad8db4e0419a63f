// SPDX-License-Identifier: Apache-2.0
// Test helper for the reference checks (tests/methods/test_*_reference.cpp, test_snapkv_kvpress.cpp):
// a tensor from the nested JSON lists a Python reference script wrote (row-major, depth first), and
// index sets of chosen rows.
#pragma once

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <set>
#include <vector>

namespace kvbench::test {

// The numbers of `nested` (any depth of lists) as a `dtype` tensor of `sizes`; with no sizes, the
// nesting's own (the lengths of the first list at each depth). Doubles hold every float32 value and
// every int32 exactly, so the conversion is exact for the float, double and int codes the scripts write.
inline at::Tensor tensor_from_json(const nlohmann::json& nested, at::IntArrayRef sizes,
                                   at::ScalarType dtype = at::kFloat) {
  std::vector<double> flat;
  std::vector<int64_t> nesting;
  std::function<void(const nlohmann::json&, size_t)> walk = [&](const nlohmann::json& node, size_t depth) {
    if (node.is_array()) {
      if (nesting.size() <= depth) nesting.push_back(static_cast<int64_t>(node.size()));
      for (const auto& child : node) walk(child, depth + 1);
    } else {
      flat.push_back(node.get<double>());
    }
  };
  walk(nested, 0);
  return at::tensor(flat, at::kDouble).view(sizes.empty() ? at::IntArrayRef(nesting) : sizes).to(dtype).clone();
}

inline at::Tensor tensor_from_json(const nlohmann::json& nested, at::ScalarType dtype) {
  return tensor_from_json(nested, {}, dtype);
}

// The values of an integer tensor (chosen indices) as a set, to compare selections whose order
// neither side defines.
inline std::set<int64_t> index_set(const at::Tensor& indices) {
  const at::Tensor c = indices.to(at::kLong).contiguous().cpu();
  return std::set<int64_t>(c.data_ptr<int64_t>(), c.data_ptr<int64_t>() + c.numel());
}

// The same for a JSON list of indices (a reference script's choice).
inline std::set<int64_t> index_set(const nlohmann::json& list) {
  const auto v = list.get<std::vector<int64_t>>();
  return std::set<int64_t>(v.begin(), v.end());
}

}  // namespace kvbench::test
