// SPDX-License-Identifier: Apache-2.0
// The CUDA kernels' per-element code (harness/kernels/kernel_math.h, the same functions the kernels
// call) run on the CPU by loops that emulate the kernels' threads, against the LibTorch references
// of harness/kv/ops.h on awkward shapes: the index math of every kernel is checked in CPU-only CI.
// The gather's vector-width choice (gather_rows_vector_bytes) and its tensor arguments
// (gather_rows_args, what the launcher passes) too. Needs no CUDA toolkit: registered in every build.
// Not covered here (GPU only, tests/unit/test_kv_ops_cuda.cpp): warp reductions, the block scan,
// shared-memory staging and the launch configurations.
#include "harness/error.h"
#include "harness/kernels/gather_rows_tensor_args.h"
#include "harness/kernels/kernel_math.h"
#include "harness/kv/ops.h"
#include "harness/kv/rope.h"

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <limits>
#include <vector>

namespace kvbench {
namespace {

using kernels::GatherRowsArgs;
using kernels::LandmarkScoresArgs;
using kernels::ReconstructKeysArgs;

double max_abs(const at::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; }

// --- landmark scores ------------------------------------------------------------------------------

struct HiggsCase {
  int64_t batch, hkv, q_rows, head_dim, group, grid_dim, n;
};

// hadamard_query_kernel then landmark_scores_kernel, with the 32 lanes of a warp summed in order.
at::Tensor emulate_landmark_scores(const HiggsCase& c, const at::Tensor& query, const at::Tensor& codes,
                                   const at::Tensor& scales, const at::Tensor& grid) {
  const int64_t padded = (c.hkv * c.head_dim + c.group - 1) / c.group * c.group;
  const int64_t width = std::max(c.group, c.head_dim);
  at::Tensor q = query.to(at::kFloat).contiguous();
  at::Tensor qt = at::empty({c.batch, c.hkv, c.q_rows, width});
  at::Tensor scores = at::full({c.batch, c.hkv, c.q_rows, c.n}, std::numeric_limits<float>::quiet_NaN());
  LandmarkScoresArgs a;
  a.query = q.data_ptr<float>();
  a.codes = codes.data_ptr<uint8_t>();
  a.scales = scales.data_ptr<float>();
  a.grid = grid.data_ptr<float>();
  a.query_hadamard = qt.data_ptr<float>();
  a.scores = scores.data_ptr<float>();
  a.batch = c.batch;
  a.n = c.n;
  a.num_kv_heads = c.hkv;
  a.q_rows = c.q_rows;
  a.head_dim = c.head_dim;
  a.group = c.group;
  a.grid_dim = c.grid_dim;
  a.codes_per_row = padded / c.grid_dim;
  a.groups_per_row = padded / c.group;
  EXPECT_EQ(kernels::landmark_width(a), width);
  for (int64_t idx = 0; idx < qt.numel(); ++idx) a.query_hadamard[idx] = kernels::hadamard_query_value(a, idx);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t t = 0; t < c.n; ++t)
      for (int64_t h = 0; h < c.hkv; ++h)
        for (int64_t qr = 0; qr < c.q_rows; ++qr) {
          float acc = 0;
          for (int lane = 0; lane < 32; ++lane) acc += kernels::landmark_partial_score(a, a.grid, b, t, h, qr, lane, 32);
          a.scores[kernels::landmark_score_index(a, b, h, qr, t)] = acc * (1.f / static_cast<float>(c.group));
        }
  return scores;
}

class LandmarkScoresEmulated : public ::testing::TestWithParam<HiggsCase> {};

TEST_P(LandmarkScoresEmulated, MatchesReference) {
  const HiggsCase c = GetParam();
  at::manual_seed(c.n * 7 + c.group);
  const int64_t padded = (c.hkv * c.head_dim + c.group - 1) / c.group * c.group;
  at::Tensor query = at::randn({c.batch, c.hkv, c.q_rows, c.head_dim}).to(at::kBFloat16);
  at::Tensor codes = at::randint(0, 256, {c.batch, c.n, padded / c.grid_dim}, at::kByte);
  at::Tensor scales = at::rand({c.batch, c.n, padded / c.group}) * 5 + 0.05;
  at::Tensor grid = at::randn({256, c.grid_dim});
  at::Tensor want = higgs_landmark_scores_reference(query, codes, scales, grid, c.group, c.hkv, c.head_dim);
  at::Tensor got = emulate_landmark_scores(c, query, codes, scales, grid);
  EXPECT_LE(max_abs(got - want), 2e-5 * (max_abs(want) + 1e-3));  // NaN (an unwritten score) fails too
  EXPECT_FALSE(got.isnan().any().item<bool>());
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, LandmarkScoresEmulated,
    ::testing::Values(HiggsCase{1, 1, 1, 64, 64, 4, 1}, HiggsCase{2, 3, 2, 64, 128, 4, 7},
                      HiggsCase{1, 8, 4, 128, 128, 4, 37}, HiggsCase{2, 2, 3, 128, 32, 2, 9},
                      HiggsCase{1, 5, 1, 64, 512, 4, 5}, HiggsCase{2, 8, 1, 128, 1024, 4, 3},
                      HiggsCase{1, 4, 4, 128, 512, 4, 6}, HiggsCase{3, 2, 1, 64, 64, 8, 11},
                      HiggsCase{1, 2, 2, 64, 16, 1, 6}, HiggsCase{1, 7, 2, 128, 256, 2, 5},
                      HiggsCase{2, 6, 1, 64, 64, 16, 4}, HiggsCase{1, 3, 2, 64, 4096, 4, 2}),
    [](const auto& info) {
      const HiggsCase& c = info.param;
      return str_cat("B", c.batch, "_H", c.hkv, "_G", c.q_rows, "_d", c.head_dim, "_g", c.group, "_D", c.grid_dim,
                     "_n", c.n);
    });

// --- top-k ----------------------------------------------------------------------------------------

// topk_rows_kernel for one row: the histogram passes (stopping early as the kernel does), then the
// ordered selection. *passes receives the number of passes run.
std::vector<int64_t> emulate_topk_row(const float* row, int64_t n, int64_t k, int* passes = nullptr) {
  uint32_t prefix = 0, mask = 0;
  int64_t remaining = k;
  bool done = false;
  int count = 0;
  for (int shift = 24; shift >= 0 && !done; shift -= 8) {
    unsigned int hist[256] = {};
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t key = kernels::topk_order_key(row[i]);
      if ((key & mask) == prefix) ++hist[(key >> shift) & 0xffu];
    }
    int64_t above = 0;
    const int digit = kernels::topk_pick_digit(hist, remaining, &above);
    remaining -= above;
    prefix |= static_cast<uint32_t>(digit) << shift;
    mask |= 0xffu << shift;
    done = hist[digit] == static_cast<unsigned int>(remaining);
    ++count;
  }
  if (passes != nullptr) *passes = count;
  std::vector<int64_t> out;
  int64_t eq_seen = 0;
  for (int64_t i = 0; i < n; ++i) {
    const uint32_t key = kernels::topk_order_key(row[i]);
    if (kernels::topk_take(key, mask, prefix, eq_seen, remaining)) out.push_back(i);
    if ((key & mask) == prefix) ++eq_seen;
  }
  return out;
}

void expect_topk_emulation(const at::Tensor& scores, int64_t k) {
  at::Tensor want = topk_per_head_reference(scores, k);
  const int64_t rows = scores.size(0) * scores.size(1), n = scores.size(2);
  const float* data = scores.data_ptr<float>();
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<int64_t> got = emulate_topk_row(data + r * n, n, k);
    const int64_t* w = want.data_ptr<int64_t>() + r * k;
    ASSERT_EQ(got, std::vector<int64_t>(w, w + k)) << "row " << r << " n=" << n << " k=" << k;
  }
}

TEST(TopkEmulated, RandomTiesNaNInfAndZeros) {
  at::manual_seed(41);
  for (auto [b, h, n, k] : std::vector<std::array<int64_t, 4>>{
           {1, 1, 1, 1}, {2, 3, 17, 5}, {1, 8, 513, 257}, {1, 2, 4099, 128}, {1, 1, 3000, 3000}})
    expect_topk_emulation(at::randn({b, h, n}), k);
  for (int64_t k : {1, 7, 100, 300}) expect_topk_emulation(at::randint(0, 4, {2, 3, 300}).to(at::kFloat), k);
  expect_topk_emulation(at::zeros({1, 2, 100}), 37);
  expect_topk_emulation(1.0f + at::randint(0, 3, {1, 2, 1000}).to(at::kFloat) * 1e-7f, 333);
  at::Tensor s = at::randn({1, 2, 200});
  s.index_put_({0, 0, 3}, std::numeric_limits<float>::quiet_NaN());
  s.index_put_({0, 0, 50}, -std::numeric_limits<float>::quiet_NaN());
  s.index_put_({0, 1, 30}, std::numeric_limits<float>::infinity());
  s.index_put_({0, 1, 31}, -std::numeric_limits<float>::infinity());
  s.index_put_({0, 1, 5}, -0.0f);
  s.index_put_({0, 1, 6}, 0.0f);
  for (int64_t k : {1, 2, 3, 100, 200}) expect_topk_emulation(s, k);
  at::Tensor z = -(at::rand({1, 1, 13}) + 1);
  z.index_put_({0, 0, 2}, -0.0f);
  z.index_put_({0, 0, 4}, 0.0f);
  z.index_put_({0, 0, 9}, -0.0f);
  for (int64_t k : {1, 2, 3, 4}) expect_topk_emulation(z, k);
}

TEST(TopkEmulated, EarlyStopAndFullPasses) {
  // Distinct well-spread values: decided before the last digit; heavy ties: all four passes.
  std::vector<float> spread(1000);
  for (size_t i = 0; i < spread.size(); ++i) spread[i] = static_cast<float>((i * 7919) % 1000) * 1000.0f;
  int passes = 0;
  std::vector<int64_t> top = emulate_topk_row(spread.data(), 1000, 10, &passes);
  EXPECT_LT(passes, 4);
  std::vector<int64_t> want;
  for (int64_t i = 0; i < 1000; ++i)
    if ((i * 7919) % 1000 >= 990) want.push_back(i);
  EXPECT_EQ(top, want);
  std::vector<float> ties(100, 1.5f);
  top = emulate_topk_row(ties.data(), 100, 7, &passes);
  EXPECT_EQ(passes, 4);
  EXPECT_EQ(top, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6}));
  top = emulate_topk_row(ties.data(), 100, 100, &passes);
  EXPECT_EQ(passes, 1);  // all candidates taken after the first digit
  EXPECT_EQ(top.size(), 100u);
}

TEST(TopkEmulated, OrderKeyIsMonotone) {
  const std::vector<float> ordered = {-std::numeric_limits<float>::infinity(), -1e30f, -1.0f, -1e-30f,
                                      -std::numeric_limits<float>::denorm_min(), 0.0f,
                                      std::numeric_limits<float>::denorm_min(), 1e-30f, 1.0f, 1e30f,
                                      std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()};
  for (size_t i = 1; i < ordered.size(); ++i)
    EXPECT_LT(kernels::topk_order_key(ordered[i - 1]), kernels::topk_order_key(ordered[i])) << i;
  EXPECT_EQ(kernels::topk_order_key(-0.0f), kernels::topk_order_key(0.0f));
  EXPECT_EQ(kernels::topk_order_key(-std::numeric_limits<float>::quiet_NaN()),
            kernels::topk_order_key(std::numeric_limits<float>::quiet_NaN()));
}

// --- gather ---------------------------------------------------------------------------------------

// gather_rows_kernel with the unit launch_gather_rows picks; returns that unit.
int emulate_gather(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out) {
  const GatherRowsArgs a = kernels::gather_rows_args(src, index, out);
  const int unit = kernels::gather_rows_vector_bytes(a);
  const int64_t total = a.batch * a.heads * a.k * (a.row_bytes / unit);
  for (int64_t idx = 0; idx < total; ++idx) {
    const char* from = nullptr;
    char* to = nullptr;
    kernels::gather_unit_address(a, unit, idx, &from, &to);
    if (from != nullptr)
      std::memcpy(to, from, unit);
    else
      std::memset(to, 0, unit);
  }
  return unit;
}

void expect_gather_emulation(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out, int want_unit) {
  at::Tensor want = at::empty(out.sizes(), out.options());
  gather_rows_reference(src, index, want);
  EXPECT_EQ(emulate_gather(src, index, out), want_unit) << src.sizes() << " " << src.strides();
  EXPECT_TRUE(at::equal(out.contiguous().view(at::kByte), want.view(at::kByte))) << src.sizes();
}

TEST(GatherEmulated, EveryDtypeAndVectorWidth) {
  at::manual_seed(42);
  struct Case {
    at::ScalarType dtype;
    int64_t b, h, s, w, k;
    int unit;
  };
  for (const Case& c : std::vector<Case>{{at::kBFloat16, 1, 8, 100, 128, 33, 16},  // 256-byte rows
                                         {at::kByte, 2, 8, 300, 128, 31, 16},      // fp8 K rows of 128 B
                                         {at::kFloat8_e4m3fn, 2, 3, 17, 24, 5, 8},
                                         {at::kFloat, 3, 1, 5, 3, 12, 4},
                                         {at::kHalf, 2, 3, 17, 7, 5, 2},
                                         {at::kByte, 1, 2, 9, 7, 4, 1},
                                         {at::kFloat, 1, 1, 1, 1, 1, 4}}) {
    at::Tensor src = (at::randn({c.b, c.h, c.s, c.w}) * 4).to(c.dtype);
    at::Tensor index = at::randint(0, c.s, {c.b, c.h, c.k}, at::kLong);
    expect_gather_emulation(src, index, at::empty({c.b, c.h, c.k, c.w}, src.options()), c.unit);
  }
}

TEST(GatherEmulated, StridedMisalignedAndOutOfRange) {
  at::manual_seed(43);
  at::Tensor store = at::randn({2, 333, 8, 128}).to(at::kBFloat16);
  at::Tensor buffer = at::zeros({2, 8, 700, 128}, at::kBFloat16);
  at::Tensor index = at::randint(0, 333, {2, 8, 257}, at::kLong);
  expect_gather_emulation(store.permute({0, 2, 1, 3}), index, buffer.narrow(2, 96, 257), 16);
  EXPECT_EQ(buffer.narrow(2, 0, 96).abs().sum().item<double>(), 0.0);
  at::Tensor wide = at::randn({1, 2, 50, 65});
  expect_gather_emulation(wide.narrow(3, 1, 64), at::randint(0, 50, {1, 2, 19}, at::kLong), at::empty({1, 2, 19, 64}),
                          4);
  // Out-of-range indices: the row is zero-filled, src never read.
  at::Tensor src = at::randn({1, 2, 10, 16});
  at::Tensor bad = at::tensor({0, 10, 3, -1}, at::kLong).view({1, 2, 2});
  at::Tensor out = at::full({1, 2, 2, 16}, 7.0f);
  emulate_gather(src, bad, out);
  EXPECT_TRUE(at::equal(out[0][0][0], src[0][0][0]));
  EXPECT_EQ(out[0][0][1].abs().sum().item<float>(), 0.0f);
  EXPECT_TRUE(at::equal(out[0][1][0], src[0][1][3]));
  EXPECT_EQ(out[0][1][1].abs().sum().item<float>(), 0.0f);
}

// --- key reconstruction ---------------------------------------------------------------------------

// reconstruct_keys_kernel's arithmetic per row and channel pair (float32 accumulation over the rank).
at::Tensor emulate_reconstruct(const at::Tensor& u, const at::Tensor& sv, const at::Tensor& positions,
                               const at::Tensor& cos, const at::Tensor& sin) {
  ReconstructKeysArgs a;
  a.positions = positions.data_ptr<int64_t>();
  a.batch = u.size(0);
  a.seq = u.size(1);
  a.rank = u.size(2);
  a.heads = sv.size(1);
  a.n = positions.size(2);
  a.head_dim = sv.size(3);
  const float* U = u.data_ptr<float>();
  const float* SV = sv.data_ptr<float>();
  const float* C = cos.data_ptr<float>();
  const float* S = sin.data_ptr<float>();
  at::Tensor keys = at::full({a.batch, a.heads, a.n, a.head_dim}, std::numeric_limits<float>::quiet_NaN());
  float* K = keys.data_ptr<float>();
  const int64_t half = a.head_dim / 2;
  for (int64_t b = 0; b < a.batch; ++b)
    for (int64_t h = 0; h < a.heads; ++h)
      for (int64_t i = 0; i < a.n; ++i) {
        const int64_t row = kernels::reconstruct_row(a, b, h, i);
        const int64_t pos = kernels::reconstruct_position(a, row);
        for (int64_t j = 0; j < half; ++j) {
          float lo = 0, hi = 0;
          const float* sv_h = SV + (b * a.heads + h) * a.rank * a.head_dim;
          for (int64_t m = 0; m < a.rank && pos >= 0; ++m) {
            const float x = U[(b * a.seq + pos) * a.rank + m];
            lo += x * sv_h[m * a.head_dim + j];
            hi += x * sv_h[m * a.head_dim + j + half];
          }
          const int64_t base = row * a.head_dim;
          float out_lo = 0, out_hi = 0;
          if (pos >= 0)
            kernels::rope_pair(lo, hi, C[base + j], S[base + j], C[base + j + half], S[base + j + half], &out_lo, &out_hi);
          K[base + j] = out_lo;
          K[base + j + half] = out_hi;
        }
      }
  return keys;
}

TEST(ReconstructKeysEmulated, MatchesReference) {
  RopeConfig config;
  config.theta = 500000.0;
  for (auto [b, s, r, h, n, d] : std::vector<std::array<int64_t, 6>>{
           {1, 1, 1, 1, 1, 2}, {2, 37, 5, 3, 11, 64}, {1, 300, 160, 8, 40, 128}, {3, 100, 37, 2, 9, 64},
           {1, 50, 33, 2, 70, 6}, {2, 9, 16, 1, 0, 64}}) {
    at::manual_seed(n + r);
    at::Tensor u = at::randn({b, s, r}) / std::sqrt(static_cast<double>(r));
    at::Tensor sv = at::randn({b, h, r, d});
    at::Tensor positions = at::randint(0, s, {b, h, n}, at::kLong);
    Rope rope(config, d, at::kCPU);
    auto cs = rope.cos_sin(positions.reshape({b, h * n}), at::kFloat);
    at::Tensor cos = cs.first.view({b, h, n, d}).contiguous(), sin = cs.second.view({b, h, n, d}).contiguous();
    at::Tensor want = shadowkv_reconstruct_keys_reference(u, sv, positions, cos, sin);
    at::Tensor got = emulate_reconstruct(u, sv, positions, cos, sin);
    EXPECT_LE(max_abs(got - want), 1e-5 * (max_abs(want) + 1)) << b << " " << s << " " << r << " " << h << " " << n;
    EXPECT_FALSE(got.isnan().any().item<bool>());
  }
  // Out-of-range positions read nothing and give a zero row.
  at::Tensor u = at::randn({1, 10, 4}), sv = at::randn({1, 1, 4, 8});
  at::Tensor positions = at::tensor({3, 10, -2}, at::kLong).view({1, 1, 3});
  at::Tensor ones = at::ones({1, 1, 3, 8});
  at::Tensor got = emulate_reconstruct(u, sv, positions, ones, ones);
  EXPECT_EQ(got[0][0][1].abs().sum().item<float>(), 0.0f);
  EXPECT_EQ(got[0][0][2].abs().sum().item<float>(), 0.0f);
  EXPECT_GT(got[0][0][0].abs().sum().item<float>(), 0.0f);
}

}  // namespace
}  // namespace kvbench
