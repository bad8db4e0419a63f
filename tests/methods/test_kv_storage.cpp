// SPDX-License-Identifier: Apache-2.0
// KV storage machinery on the CPU (the CI path): buffer allocation by placement (shapes, dtypes,
// where the bytes are accounted), HostToDevice copies and gathers against index_select on awkward
// shapes with exact byte counts, and TokenBudget parsing/resolution including its error messages.
// The CUDA paths are checked by test_kv_storage_gpu.
#include "harness/error.h"
#include "harness/kv/budget.h"
#include "harness/kv/placement.h"
#include "harness/kv/transfer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace kvbench {
namespace {

TEST(KVPlacement, NamesRoundTripAndUnknownIsAConfigError) {
  for (KVPlacement p : {KVPlacement::kDevice, KVPlacement::kPinnedHost, KVPlacement::kMappedHost})
    EXPECT_EQ(parse_placement(placement_name(p)), p);
  try {
    parse_placement("gpu");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kConfig);
    EXPECT_THAT(e.what(), ::testing::HasSubstr("\"gpu\""));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("device, pinned or mapped"));
  }
}

TEST(KVPlacement, CpuComputeDeviceGivesPlainCpuTensorsForEveryPlacement) {
  for (KVPlacement p : {KVPlacement::kDevice, KVPlacement::kPinnedHost, KVPlacement::kMappedHost}) {
    for (at::ScalarType dtype : {at::kFloat, at::kBFloat16, at::kByte}) {
      KVBuffer b = allocate_kv_buffer({2, 3, 5, 7}, dtype, p, at::kCPU);
      ASSERT_TRUE(b.host_or_device.defined());
      EXPECT_EQ(b.host_or_device.sizes(), (std::vector<int64_t>{2, 3, 5, 7}));
      EXPECT_EQ(b.host_or_device.scalar_type(), dtype);
      EXPECT_TRUE(b.host_or_device.device().is_cpu());
      EXPECT_TRUE(b.host_or_device.is_contiguous());
      EXPECT_FALSE(b.device_view.defined());
      EXPECT_EQ(b.placement, p);
      EXPECT_EQ(b.on_host(), p != KVPlacement::kDevice);
      EXPECT_EQ(b.bytes(), 2 * 3 * 5 * 7 * static_cast<int64_t>(at::elementSize(dtype)));
    }
  }
  EXPECT_EQ(allocate_kv_buffer({4, 0, 3}, at::kFloat, KVPlacement::kMappedHost, at::kCPU).bytes(), 0);
  EXPECT_EQ(KVBuffer{}.bytes(), 0);
}

TEST(HostToDevice, CpuCopyCountsBytes) {
  HostToDevice h2d(at::kCPU);
  at::Tensor src = at::randn({3, 4, 5});
  at::Tensor dst = at::empty({3, 4, 5});
  h2d.copy(src, dst);
  h2d.wait();
  EXPECT_TRUE(at::equal(src, dst));
  EXPECT_EQ(h2d.bytes_copied(), 3 * 4 * 5 * 4);
  // A strided destination (a slice of a bigger buffer) is filled in place.
  at::Tensor big = at::zeros({3, 10, 5});
  h2d.copy(src, big.narrow(1, 3, 4));
  EXPECT_TRUE(at::equal(big.narrow(1, 3, 4), src));
  EXPECT_EQ(big.narrow(1, 0, 3).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(h2d.bytes_copied(), 2 * 3 * 4 * 5 * 4);
  h2d.add_mapped_read_bytes(100);
  EXPECT_EQ(h2d.bytes_copied(), 2 * 3 * 4 * 5 * 4 + 100);
  h2d.reset_counters();
  EXPECT_EQ(h2d.bytes_copied(), 0);
}

TEST(HostToDevice, CpuGatherEqualsIndexSelectOnAwkwardShapes) {
  at::manual_seed(11);
  HostToDevice h2d(at::kCPU);
  int64_t expected_bytes = 0;
  struct Case {
    std::vector<int64_t> shape;
    int64_t dim;
    std::vector<int64_t> index;
    at::ScalarType dtype;
  };
  const std::vector<Case> cases = {
      {{1, 3, 37, 17}, 2, {0, 36, 5, 5, 12}, at::kFloat},     // repeated and unsorted rows, odd d
      {{2, 5, 9, 3}, 1, {4, 0}, at::kBFloat16},              // KV-head dimension
      {{13, 1}, 0, {12, 0, 7, 7, 7, 1}, at::kFloat},          // d = 1
      {{4, 6, 129}, -1, {128, 0, 64}, at::kByte},            // last dim, negative dim, uint8 (fp8 rows)
      {{3, 8, 6}, 1, {}, at::kFloat},                        // no rows selected
      {{1, 2, 1000, 64}, 2, {999, 500, 1, 0, 998}, at::kHalf},
  };
  for (const Case& c : cases) {
    at::Tensor src = c.dtype == at::kByte ? at::randint(0, 255, c.shape, at::kByte) : at::randn(c.shape).to(c.dtype);
    at::Tensor index = at::tensor(c.index, at::kLong);
    at::Tensor want = at::index_select(src, c.dim, index);
    at::Tensor dst = at::empty(want.sizes(), want.options());
    h2d.gather(src, c.dim, index, dst);
    h2d.wait();
    EXPECT_TRUE(at::equal(dst, want)) << "shape " << src.sizes() << " dim " << c.dim;
    expected_bytes += static_cast<int64_t>(want.nbytes());
    EXPECT_EQ(h2d.bytes_copied(), expected_bytes);
  }
  // Non-contiguous destination: rows go into a transposed view.
  at::Tensor src = at::randn({2, 3, 11, 8});
  at::Tensor index = at::tensor(std::vector<int64_t>{10, 2, 3}, at::kLong);
  at::Tensor storage = at::zeros({2, 3, 8, 3});
  at::Tensor dst = storage.transpose(2, 3);  // [2, 3, 3, 8], strided
  h2d.gather(src, 2, index, dst);
  EXPECT_TRUE(at::equal(dst, at::index_select(src, 2, index)));
  EXPECT_EQ(h2d.bytes_copied(), expected_bytes + 2 * 3 * 3 * 8 * 4);
}

TEST(HostToDevice, GatherRejectsMismatchedShapes) {
  HostToDevice h2d(at::kCPU);
  at::Tensor src = at::randn({2, 4, 6});
  at::Tensor index = at::tensor(std::vector<int64_t>{1, 2}, at::kLong);
  at::Tensor wrong = at::empty({2, 3, 6});
  EXPECT_THROW(h2d.gather(src, 1, index, wrong), Error);
  EXPECT_THROW(h2d.gather(src, 1, index.to(at::kInt), at::empty({2, 2, 6})), Error);
  EXPECT_THROW(h2d.copy(src, at::empty({2, 4, 6}, at::kHalf)), Error);
  EXPECT_EQ(h2d.bytes_copied(), 0);
}

// --- TokenBudget -----------------------------------------------------------------------------------

TokenBudget parse(const nlohmann::json& v) { return TokenBudget::parse(v, "method.params.sparse_budget"); }

TEST(TokenBudget, ParsesFractionsPercentagesAndTokens) {
  TokenBudget f = parse(0.03125);
  EXPECT_TRUE(f.is_fraction);
  EXPECT_DOUBLE_EQ(f.fraction, 0.03125);
  TokenBudget pct = parse("3.125%");
  EXPECT_TRUE(pct.is_fraction);
  EXPECT_DOUBLE_EQ(pct.fraction, 0.03125);
  EXPECT_DOUBLE_EQ(parse("100%").fraction, 1.0);
  EXPECT_DOUBLE_EQ(parse(" 50 % ").fraction, 0.5);  // spaces around the number are tolerated
  for (const nlohmann::json& v : {nlohmann::json(2048), nlohmann::json("2048"), nlohmann::json(2048.0)}) {
    TokenBudget t = parse(v);
    EXPECT_FALSE(t.is_fraction) << v;
    EXPECT_EQ(t.tokens, 2048) << v;
  }
  EXPECT_EQ(parse(1).tokens, 1);  // an integer >= 1 is tokens, never "100 %"
  EXPECT_DOUBLE_EQ(parse("0.25").fraction, 0.25);
  for (const nlohmann::json& v : {nlohmann::json(0), nlohmann::json("0"), nlohmann::json("0%"), nlohmann::json(0.0)}) {
    TokenBudget none = parse(v);
    EXPECT_FALSE(none.is_fraction) << v;
    EXPECT_EQ(none.tokens, 0) << v;
    EXPECT_EQ(none.resolve(1000), 0) << v;
  }
}

TEST(TokenBudget, ResolvesPerPrompt) {
  EXPECT_EQ(parse("3.125%").resolve(4096), 128);
  EXPECT_EQ(parse("3.125%").resolve(4095), 127);  // floor
  EXPECT_EQ(parse(0.29).resolve(100), 29);        // 0.29 * 100 = 28.999... in binary: still 29
  EXPECT_EQ(parse(0.5).resolve(0), 0);
  EXPECT_EQ(parse(2048).resolve(100000), 2048);
  EXPECT_EQ(parse(2048).resolve(1000), 1000);                          // clamped to the prompt
  EXPECT_EQ(parse(2048).resolve(1000, /*clamp_to_prompt=*/false), 2048);
  EXPECT_EQ(parse("3.125%").describe(), "3.125%");
  EXPECT_EQ(parse(2048).describe(), "2048 tokens");
}

TEST(TokenBudget, ErrorsNameTheParameter) {
  const std::vector<nlohmann::json> bad = {-1, -0.5, 1.5, "abc", "150%", "-3%", "12 tokens", "", true,
                                           nullptr, nlohmann::json::array({1}), nlohmann::json::object()};
  for (const nlohmann::json& v : bad) {
    try {
      parse(v);
      ADD_FAILURE() << "accepted " << v.dump();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kConfig) << v.dump();
      EXPECT_THAT(e.what(), ::testing::StartsWith("method.params.sparse_budget: ")) << v.dump();
    }
  }
}

}  // namespace
}  // namespace kvbench
