// SPDX-License-Identifier: Apache-2.0
// The LibTorch references of harness/kv/ops.h against independent element-by-element loops on
// awkward shapes (padding, Hadamard groups larger and smaller than a head, batch > 1, empty inputs,
// ties, strided views, every dtype), plus their argument errors. CPU only.
#include "harness/error.h"
#include "harness/kv/ops.h"
#include "harness/kv/rope.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

namespace kvbench {
namespace {

int hadamard_sign(int64_t i, int64_t j) { return (__builtin_popcountll(static_cast<uint64_t>(i & j)) & 1) ? -1 : 1; }

// --- higgs_landmark_scores ------------------------------------------------------------------------

struct HiggsCase {
  int64_t batch, hkv, q_rows, head_dim, group, grid_dim, n;
};

std::string higgs_case_name(const HiggsCase& c) {
  return str_cat("B", c.batch, "_H", c.hkv, "_G", c.q_rows, "_d", c.head_dim, "_g", c.group, "_D", c.grid_dim, "_n",
                 c.n);
}

struct HiggsInputs {
  at::Tensor query, codes, scales, grid;
  int64_t padded = 0;
};

HiggsInputs make_higgs_inputs(const HiggsCase& c, at::ScalarType qdtype = at::kFloat, uint64_t seed = 1) {
  at::manual_seed(seed);
  HiggsInputs in;
  const int64_t channels = c.hkv * c.head_dim;
  in.padded = (channels + c.group - 1) / c.group * c.group;
  in.query = at::randn({c.batch, c.hkv, c.q_rows, c.head_dim}).to(qdtype);
  in.codes = at::randint(0, 256, {c.batch, c.n, in.padded / c.grid_dim}, at::kByte);
  in.scales = at::rand({c.batch, c.n, in.padded / c.group}) * 3 + 0.1;
  in.grid = at::randn({256, c.grid_dim});
  return in;
}

// Dequantize each landmark with explicit loops (x^_j[r] = sum_i H[r][i] G[code(i)][i % D] scale_j / g)
// and take plain dot products with the query.
at::Tensor higgs_scores_by_loops(const HiggsCase& c, const HiggsInputs& in) {
  const int64_t channels = c.hkv * c.head_dim;
  auto q = in.query.to(at::kFloat).contiguous();
  auto codes = in.codes.contiguous();
  auto scales = in.scales.contiguous();
  auto grid = in.grid.contiguous();
  const float* qp = q.data_ptr<float>();
  const uint8_t* cp = codes.data_ptr<uint8_t>();
  const float* sp = scales.data_ptr<float>();
  const float* gp = grid.data_ptr<float>();
  at::Tensor out = at::zeros({c.batch, c.hkv, c.q_rows, c.n}, at::kDouble);
  double* op = out.data_ptr<double>();
  std::vector<double> x(in.padded), y(c.group);
  for (int64_t b = 0; b < c.batch; ++b) {
    for (int64_t t = 0; t < c.n; ++t) {
      const uint8_t* code_row = cp + (b * c.n + t) * (in.padded / c.grid_dim);
      for (int64_t j = 0; j < in.padded / c.group; ++j) {
        const double scale = sp[(b * c.n + t) * (in.padded / c.group) + j];
        for (int64_t i = 0; i < c.group; ++i) {
          const int64_t coord = j * c.group + i;
          y[i] = gp[code_row[coord / c.grid_dim] * c.grid_dim + coord % c.grid_dim] * scale;
        }
        for (int64_t r = 0; r < c.group; ++r) {
          double acc = 0;
          for (int64_t i = 0; i < c.group; ++i) acc += hadamard_sign(r, i) * y[i];
          x[j * c.group + r] = acc / c.group;
        }
      }
      for (int64_t h = 0; h < c.hkv; ++h)
        for (int64_t g = 0; g < c.q_rows; ++g) {
          double acc = 0;
          for (int64_t k = 0; k < c.head_dim; ++k)
            acc += qp[((b * c.hkv + h) * c.q_rows + g) * c.head_dim + k] * x[h * c.head_dim + k];
          op[((b * c.hkv + h) * c.q_rows + g) * c.n + t] = acc;
        }
      (void)channels;
    }
  }
  return out;
}

// The kernel's algorithm written as loops: Hadamard-transform the zero-extended query per group,
// then (scale_j / g) * qt . G[codes] summed over the head's groups. Checks the fusion identity and
// the kernel's index math (landmark_scores.cuh) on the CPU.
at::Tensor higgs_scores_fused_loops(const HiggsCase& c, const HiggsInputs& in) {
  const int64_t width = std::max(c.group, c.head_dim);
  auto q = in.query.to(at::kFloat).contiguous();
  const float* qp = q.data_ptr<float>();
  const uint8_t* cp = in.codes.data_ptr<uint8_t>();
  const float* sp = in.scales.data_ptr<float>();
  const float* gp = in.grid.data_ptr<float>();
  const int64_t codes_per_row = in.padded / c.grid_dim, groups_per_row = in.padded / c.group;
  at::Tensor out = at::zeros({c.batch, c.hkv, c.q_rows, c.n}, at::kDouble);
  double* op = out.data_ptr<double>();
  std::vector<double> qt(width);
  for (int64_t b = 0; b < c.batch; ++b)
    for (int64_t h = 0; h < c.hkv; ++h)
      for (int64_t g = 0; g < c.q_rows; ++g) {
        const float* qrow = qp + ((b * c.hkv + h) * c.q_rows + g) * c.head_dim;
        const int64_t j0 = h * c.head_dim / c.group;
        for (int64_t w = 0; w < width; ++w) {
          const int64_t j = j0 + w / c.group, i = w % c.group;
          double acc = 0;
          for (int64_t p = 0; p < c.head_dim; ++p) {
            const int64_t ch = h * c.head_dim + p;
            if (ch / c.group == j) acc += hadamard_sign(i, ch % c.group) * qrow[p];
          }
          qt[w] = acc;
        }
        for (int64_t t = 0; t < c.n; ++t) {
          const uint8_t* code_row = cp + (b * c.n + t) * codes_per_row;
          double acc = 0;
          for (int64_t e = 0; e < width / c.grid_dim; ++e) {
            const int64_t code = code_row[j0 * c.group / c.grid_dim + e];
            double dot = 0;
            for (int64_t m = 0; m < c.grid_dim; ++m) dot += qt[e * c.grid_dim + m] * gp[code * c.grid_dim + m];
            acc += sp[(b * c.n + t) * groups_per_row + j0 + e * c.grid_dim / c.group] * dot;
          }
          op[((b * c.hkv + h) * c.q_rows + g) * c.n + t] = acc / c.group;
        }
      }
  return out;
}

class HiggsScores : public ::testing::TestWithParam<HiggsCase> {};

TEST_P(HiggsScores, ReferenceMatchesLoopsAndFusedForm) {
  const HiggsCase c = GetParam();
  const HiggsInputs in = make_higgs_inputs(c);
  at::Tensor ref = higgs_landmark_scores_reference(in.query, in.codes, in.scales, in.grid, c.group, c.hkv, c.head_dim);
  ASSERT_EQ(ref.scalar_type(), at::kFloat);
  ASSERT_EQ(ref.sizes(), at::IntArrayRef({c.batch, c.hkv, c.q_rows, c.n}));
  at::Tensor loops = higgs_scores_by_loops(c, in);
  at::Tensor fused = higgs_scores_fused_loops(c, in);
  auto max_abs = [](const at::Tensor& t) { return t.numel() ? t.abs().max().item<double>() : 0.0; };
  const double scale = max_abs(loops) + 1;
  EXPECT_LE(max_abs(ref.to(at::kDouble) - loops) / scale, 1e-5);
  EXPECT_LE(max_abs(fused - loops) / scale, 1e-9);
  // The public op is the reference for CPU tensors.
  EXPECT_TRUE(at::equal(higgs_landmark_scores(in.query, in.codes, in.scales, in.grid, c.group, c.hkv, c.head_dim), ref));
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, HiggsScores,
    ::testing::Values(HiggsCase{1, 1, 1, 64, 64, 4, 5},      // g = d, one head
                      HiggsCase{2, 3, 2, 64, 128, 4, 7},     // g = 2d: odd Hkv pads the last group
                      HiggsCase{1, 8, 4, 128, 128, 4, 33},   // Llama shape, accuracy variant (g = d)
                      HiggsCase{2, 2, 3, 128, 32, 2, 9},     // g < d: a head spans 4 groups
                      HiggsCase{1, 5, 1, 64, 512, 4, 3},     // g = 512 > C = 320: padded group
                      HiggsCase{1, 4, 1, 128, 512, 4, 17},   // g = C, GPU variant (mean query)
                      HiggsCase{3, 2, 1, 64, 64, 8, 11},     // D = 8
                      HiggsCase{1, 2, 2, 64, 16, 1, 6},      // D = 1, g < d
                      HiggsCase{2, 1, 1, 64, 64, 4, 0},      // no landmarks
                      HiggsCase{0, 2, 1, 64, 64, 4, 5}),     // empty batch
    [](const auto& info) { return higgs_case_name(info.param); });

TEST(HiggsScoresReference, Bf16QueryIsReadAsItsFloatValue) {
  const HiggsCase c{1, 2, 2, 64, 64, 4, 5};
  const HiggsInputs in = make_higgs_inputs(c, at::kBFloat16);
  at::Tensor a = higgs_landmark_scores_reference(in.query, in.codes, in.scales, in.grid, 64, 2, 64);
  at::Tensor b = higgs_landmark_scores_reference(in.query.to(at::kFloat), in.codes, in.scales, in.grid, 64, 2, 64);
  EXPECT_TRUE(at::allclose(a, b, 1e-6, 1e-6));
}

TEST(HiggsScoresReference, RoundTripOfAnExactlyRepresentableRow) {
  // A landmark whose Hadamard-rotated, normalized groups are grid points is dequantized exactly, so
  // its score is the plain dot product with the original row.
  const int64_t hkv = 2, d = 64, g = 128, D = 4;
  at::manual_seed(3);
  at::Tensor grid = at::randn({256, D});
  at::Tensor codes = at::randint(0, 256, {1, 1, hkv * d / D}, at::kByte);
  at::Tensor y = grid.index_select(0, codes.reshape({-1}).to(at::kLong)).reshape({g});
  const double scale = 2.5;
  at::Tensor h = at::ones({1, 1});
  while (h.size(0) < g) h = at::cat({at::cat({h, h}, 1), at::cat({h, -h}, 1)}, 0);
  at::Tensor x = at::matmul(h, y * scale) / g;  // the row that quantizes to (codes, scale)
  at::Tensor scales = at::full({1, 1, 1}, scale);
  at::Tensor query = at::randn({1, hkv, 1, d});
  at::Tensor s = higgs_landmark_scores_reference(query, codes, scales, grid, g, hkv, d);
  for (int64_t head = 0; head < hkv; ++head) {
    const double expected = (query[0][head][0] * x.narrow(0, head * d, d)).sum().item<double>();
    EXPECT_NEAR(s[0][head][0][0].item<double>(), expected, 1e-4 * (1 + std::abs(expected)));
  }
}

TEST(HiggsScoresReference, RejectsUnsupportedArguments) {
  const HiggsCase c{1, 2, 1, 64, 64, 4, 3};
  const HiggsInputs in = make_higgs_inputs(c);
  auto call = [&](const at::Tensor& q, const at::Tensor& codes, const at::Tensor& scales, const at::Tensor& grid,
                  int64_t g, int64_t hkv, int64_t d) { higgs_landmark_scores_reference(q, codes, scales, grid, g, hkv, d); };
  EXPECT_THROW(call(in.query, in.codes, in.scales, in.grid, 96, 2, 64), Error);   // not a power of two
  EXPECT_THROW(call(in.query, in.codes, in.scales, in.grid, 2, 2, 64), Error);    // not a multiple of D
  EXPECT_THROW(call(in.query.narrow(3, 0, 48), in.codes, in.scales, in.grid, 64, 2, 48), Error);  // 64 vs 48
  EXPECT_THROW(call(in.query, in.codes, in.scales, in.grid, 64, 3, 64), Error);   // Hkv mismatch
  EXPECT_THROW(call(in.query, in.codes.to(at::kInt), in.scales, in.grid, 64, 2, 64), Error);
  EXPECT_THROW(call(in.query, in.codes.narrow(2, 0, 8), in.scales, in.grid, 64, 2, 64), Error);
  EXPECT_THROW(call(in.query, in.codes, in.scales.narrow(1, 0, 2), in.grid, 64, 2, 64), Error);
  EXPECT_THROW(call(in.query, in.codes, in.scales, in.grid.narrow(0, 0, 16), 64, 2, 64), Error);
  EXPECT_THROW(call(in.query.to(at::kInt), in.codes, in.scales, in.grid, 64, 2, 64), Error);
  try {
    call(in.query, in.codes, in.scales, in.grid, 32, 2, 48);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("higgs_landmark_scores"), std::string::npos) << e.what();
  }
}

// --- topk_per_head --------------------------------------------------------------------------------

// Positions of the k largest by (score desc, index asc; NaN largest, -0 == +0), ascending.
std::vector<int64_t> topk_by_loops(const float* row, int64_t n, int64_t k) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  auto above = [&](int64_t a, int64_t b) {
    const float x = row[a], y = row[b];
    const bool xn = std::isnan(x), yn = std::isnan(y);
    if (xn != yn) return xn;
    if (!xn && x != y) return x > y;
    return a < b;
  };
  std::sort(order.begin(), order.end(), above);
  order.resize(k);
  std::sort(order.begin(), order.end());
  return order;
}

void expect_topk_matches_loops(const at::Tensor& scores, int64_t k) {
  at::Tensor got = topk_per_head_reference(scores, k);
  ASSERT_EQ(got.scalar_type(), at::kLong);
  ASSERT_EQ(got.sizes(), at::IntArrayRef({scores.size(0), scores.size(1), k}));
  at::Tensor s = scores.contiguous();
  for (int64_t b = 0; b < s.size(0); ++b)
    for (int64_t h = 0; h < s.size(1); ++h) {
      const float* row = s.data_ptr<float>() + (b * s.size(1) + h) * s.size(2);
      auto expected = topk_by_loops(row, s.size(2), k);
      at::Tensor g = got[b][h].contiguous();
      std::vector<int64_t> actual(g.data_ptr<int64_t>(), g.data_ptr<int64_t>() + k);
      ASSERT_EQ(actual, expected) << "b=" << b << " h=" << h << " n=" << s.size(2) << " k=" << k;
    }
}

TEST(TopkReference, MatchesLoopsOnAwkwardShapes) {
  at::manual_seed(7);
  for (auto [b, h, n, k] : std::vector<std::array<int64_t, 4>>{
           {1, 1, 1, 1}, {1, 1, 5, 0}, {2, 3, 17, 5}, {1, 8, 1000, 31}, {3, 2, 513, 513}, {2, 8, 4099, 128}, {0, 4, 9, 3}})
    expect_topk_matches_loops(at::randn({b, h, n}), k);
}

TEST(TopkReference, TiesNaNAndSignedZeros) {
  at::manual_seed(8);
  // Few distinct values: many ties straddle the k boundary; they resolve to the smallest indices.
  expect_topk_matches_loops(at::randint(0, 4, {2, 3, 300}).to(at::kFloat), 77);
  expect_topk_matches_loops(at::zeros({1, 2, 50}), 7);
  at::Tensor s = at::randn({1, 1, 40});
  s[0][0][3] = std::numeric_limits<float>::quiet_NaN();
  s[0][0][30] = std::numeric_limits<float>::infinity();
  s[0][0][31] = -std::numeric_limits<float>::infinity();
  s[0][0][5] = -0.0f;
  s[0][0][6] = 0.0f;
  s[0][0][7] = -0.0f;
  expect_topk_matches_loops(s, 1);   // the NaN
  expect_topk_matches_loops(s, 2);   // NaN, +inf
  expect_topk_matches_loops(s, 40);
  at::Tensor zeros = at::randn({1, 1, 12}).abs() + 1;
  zeros[0][0][2] = -0.0f;
  zeros[0][0][4] = 0.0f;
  zeros[0][0][9] = -0.0f;
  at::Tensor top = topk_per_head_reference(-zeros, 2);  // the three zeros are the largest of -zeros
  EXPECT_EQ(std::vector<int64_t>(top.data_ptr<int64_t>(), top.data_ptr<int64_t>() + 2), (std::vector<int64_t>{2, 4}));
}

TEST(TopkReference, Errors) {
  EXPECT_THROW(topk_per_head_reference(at::randn({1, 2, 5}), 6), Error);   // k > n
  EXPECT_THROW(topk_per_head_reference(at::randn({1, 2, 5}), -1), Error);
  EXPECT_THROW(topk_per_head_reference(at::randn({2, 5}), 1), Error);
  EXPECT_THROW(topk_per_head_reference(at::randn({1, 2, 5}).to(at::kDouble), 1), Error);
  EXPECT_EQ(topk_per_head(at::randn({1, 2, 0}), 0).sizes(), at::IntArrayRef({1, 2, 0}));
}

// --- gather_rows ----------------------------------------------------------------------------------

void expect_gather_matches_loops(const at::Tensor& src, const at::Tensor& index, const at::Tensor& out) {
  const int64_t bytes = gather_rows_reference(src, index, out);
  EXPECT_EQ(bytes, out.numel() * static_cast<int64_t>(out.element_size()));
  const int64_t es = src.element_size();
  for (int64_t b = 0; b < src.size(0); ++b)
    for (int64_t h = 0; h < src.size(1); ++h)
      for (int64_t i = 0; i < index.size(2); ++i) {
        const int64_t s = index[b][h][i].item<int64_t>();
        const char* from = static_cast<const char*>(src.data_ptr()) +
                           (b * src.stride(0) + h * src.stride(1) + s * src.stride(2)) * es;
        const char* to = static_cast<const char*>(out.data_ptr()) +
                         (b * out.stride(0) + h * out.stride(1) + i * out.stride(2)) * es;
        ASSERT_EQ(std::memcmp(from, to, src.size(3) * es), 0) << b << " " << h << " " << i;
      }
}

TEST(GatherRowsReference, EveryDtypeAndAwkwardShapes) {
  at::manual_seed(9);
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf, at::kFloat8_e4m3fn, at::kByte}) {
    for (auto [b, h, s, w, k] : std::vector<std::array<int64_t, 5>>{
             {1, 1, 1, 1, 1}, {2, 3, 17, 7, 5}, {1, 8, 100, 128, 33}, {2, 2, 9, 64, 0}, {3, 1, 5, 3, 12}}) {
      at::Tensor src = (at::randn({b, h, s, w}) * 4).to(dtype);
      at::Tensor index = at::randint(0, s, {b, h, k}, at::kLong);  // repeats allowed
      at::Tensor out = at::empty({b, h, k, w}, src.options());
      expect_gather_matches_loops(src, index, out);
    }
  }
}

TEST(GatherRowsReference, StridedSourceAndDestination) {
  at::manual_seed(10);
  // src: a token-major [B, S, Hkv, d] store viewed as [B, Hkv, S, d]; out: a slice of a bigger buffer.
  at::Tensor store = at::randn({2, 50, 4, 32}).to(at::kBFloat16);
  at::Tensor src = store.permute({0, 2, 1, 3});
  at::Tensor buffer = at::zeros({2, 4, 40, 32}, at::kBFloat16);
  at::Tensor out = buffer.narrow(2, 10, 20);
  at::Tensor index = at::randint(0, 50, {2, 4, 20}, at::kLong);
  expect_gather_matches_loops(src, index, out);
  EXPECT_EQ(buffer.narrow(2, 0, 10).abs().sum().item<double>(), 0.0);  // nothing written outside
  EXPECT_EQ(buffer.narrow(2, 30, 10).abs().sum().item<double>(), 0.0);
}

TEST(GatherRowsReference, Errors) {
  at::Tensor src = at::randn({1, 2, 5, 4});
  at::Tensor out = at::empty({1, 2, 3, 4});
  EXPECT_THROW(gather_rows_reference(src, at::full({1, 2, 3}, 5, at::kLong), out), Error);   // index == S
  EXPECT_THROW(gather_rows_reference(src, at::full({1, 2, 3}, -1, at::kLong), out), Error);
  EXPECT_THROW(gather_rows_reference(src, at::zeros({1, 2, 3}, at::kInt), out), Error);
  EXPECT_THROW(gather_rows_reference(src, at::zeros({1, 2, 4}, at::kLong), out), Error);     // k mismatch
  EXPECT_THROW(gather_rows_reference(src, at::zeros({1, 2, 3}, at::kLong), out.to(at::kHalf)), Error);
  EXPECT_THROW(gather_rows_reference(src.transpose(2, 3), at::zeros({1, 2, 3}, at::kLong), at::empty({1, 2, 3, 5})),
               Error);  // last dimension not contiguous
}

// --- shadowkv_reconstruct_keys --------------------------------------------------------------------

// RoPE(U[b, p] @ SV[b, h], p) with explicit loops in double.
at::Tensor reconstruct_by_loops(const at::Tensor& u, const at::Tensor& sv, const at::Tensor& pos, const at::Tensor& cos,
                                const at::Tensor& sin) {
  const int64_t B = u.size(0), r = u.size(2), H = sv.size(1), n = pos.size(2), d = sv.size(3);
  auto U = u.to(at::kDouble).contiguous(), SV = sv.to(at::kDouble).contiguous();
  auto C = cos.to(at::kDouble).contiguous(), S = sin.to(at::kDouble).contiguous();
  at::Tensor out = at::zeros({B, H, n, d}, at::kDouble);
  std::vector<double> k(d);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t i = 0; i < n; ++i) {
        const int64_t p = pos[b][h][i].item<int64_t>();
        for (int64_t c = 0; c < d; ++c) {
          double acc = 0;
          for (int64_t m = 0; m < r; ++m)
            acc += U.data_ptr<double>()[(b * U.size(1) + p) * r + m] * SV.data_ptr<double>()[((b * H + h) * r + m) * d + c];
          k[c] = acc;
        }
        for (int64_t c = 0; c < d; ++c) {
          const double rot = c < d / 2 ? -k[c + d / 2] : k[c - d / 2];
          const int64_t at_ = ((b * H + h) * n + i) * d + c;
          out.data_ptr<double>()[at_] = k[c] * C.data_ptr<double>()[at_] + rot * S.data_ptr<double>()[at_];
        }
      }
  return out;
}

struct ReconstructInputs {
  at::Tensor u, sv, positions, cos, sin;
};

ReconstructInputs make_reconstruct_inputs(int64_t b, int64_t s, int64_t r, int64_t h, int64_t n, int64_t d,
                                          at::ScalarType dtype, uint64_t seed) {
  at::manual_seed(seed);
  ReconstructInputs in;
  in.u = (at::randn({b, s, r}) / std::sqrt(static_cast<double>(r))).to(dtype);
  in.sv = at::randn({b, h, r, d}).to(dtype);
  in.positions = at::randint(0, s, {b, h, n}, at::kLong);
  RopeConfig rope_config;
  rope_config.theta = 500000.0;
  Rope rope(rope_config, d, at::kCPU);
  auto cs = rope.cos_sin(in.positions.reshape({b, h * n}), dtype);
  in.cos = cs.first.view({b, h, n, d});
  in.sin = cs.second.view({b, h, n, d});
  return in;
}

TEST(ReconstructKeysReference, MatchesLoopsOnAwkwardShapes) {
  for (auto [b, s, r, h, n, d] : std::vector<std::array<int64_t, 6>>{
           {1, 1, 1, 1, 1, 2}, {2, 37, 5, 3, 11, 64}, {1, 300, 160, 8, 40, 128}, {2, 9, 16, 1, 0, 64}, {1, 50, 33, 2, 70, 6}}) {
    const auto in = make_reconstruct_inputs(b, s, r, h, n, d, at::kFloat, 11);
    at::Tensor ref = shadowkv_reconstruct_keys_reference(in.u, in.sv, in.positions, in.cos, in.sin);
    ASSERT_EQ(ref.sizes(), at::IntArrayRef({b, h, n, d}));
    if (ref.numel() == 0) continue;
    at::Tensor loops = reconstruct_by_loops(in.u, in.sv, in.positions, in.cos, in.sin);
    EXPECT_LE((ref.to(at::kDouble) - loops).abs().max().item<double>(), 1e-4 * (1 + loops.abs().max().item<double>()));
  }
}

TEST(ReconstructKeysReference, AgreesWithRopeApply) {
  // The same keys through harness/kv/rope.h: reconstruct pre-RoPE keys densely, rotate them with
  // Rope::apply at their positions (one KV head per call, positions [B, n]).
  const int64_t b = 2, s = 64, r = 24, h = 3, n = 10, d = 64;
  const auto in = make_reconstruct_inputs(b, s, r, h, n, d, at::kFloat, 12);
  at::Tensor ref = shadowkv_reconstruct_keys_reference(in.u, in.sv, in.positions, in.cos, in.sin);
  RopeConfig rope_config;
  rope_config.theta = 500000.0;
  Rope rope(rope_config, d, at::kCPU);
  for (int64_t head = 0; head < h; ++head) {
    at::Tensor pos = in.positions.select(1, head);                                     // [B, n]
    at::Tensor rows = at::stack({in.u[0].index_select(0, pos[0]), in.u[1].index_select(0, pos[1])});  // [B, n, r]
    at::Tensor pre = at::matmul(rows, in.sv.select(1, head)).unsqueeze(1);              // [B, 1, n, d]
    at::Tensor post = rope.apply(pre, pos).squeeze(1);
    EXPECT_TRUE(at::allclose(ref.select(1, head), post, 1e-5, 1e-5)) << head;
  }
}

TEST(ReconstructKeysReference, Bf16WithinRounding) {
  const auto in = make_reconstruct_inputs(1, 100, 160, 8, 33, 128, at::kBFloat16, 13);
  at::Tensor ref = shadowkv_reconstruct_keys_reference(in.u, in.sv, in.positions, in.cos, in.sin);
  EXPECT_EQ(ref.scalar_type(), at::kBFloat16);
  at::Tensor loops = reconstruct_by_loops(in.u, in.sv, in.positions, in.cos, in.sin);
  EXPECT_LE((ref.to(at::kDouble) - loops).abs().max().item<double>(), 0.02 * (1 + loops.abs().max().item<double>()));
}

TEST(ReconstructKeysReference, Errors) {
  const auto in = make_reconstruct_inputs(1, 10, 4, 2, 3, 8, at::kFloat, 14);
  auto call = [](const ReconstructInputs& x) {
    shadowkv_reconstruct_keys_reference(x.u, x.sv, x.positions, x.cos, x.sin);
  };
  auto bad = in;
  bad.positions = in.positions.clone();
  bad.positions[0][1][2] = 10;  // == S
  EXPECT_THROW(call(bad), Error);
  bad = in;
  bad.sv = in.sv.narrow(3, 0, 7);  // odd d
  EXPECT_THROW(call(bad), Error);
  bad = in;
  bad.sv = in.sv.to(at::kHalf);
  EXPECT_THROW(call(bad), Error);
  bad = in;
  bad.cos = in.cos.narrow(2, 0, 2);
  EXPECT_THROW(call(bad), Error);
  bad = in;
  bad.positions = in.positions.to(at::kInt);
  EXPECT_THROW(call(bad), Error);
  bad = in;
  bad.u = in.u.narrow(2, 0, 3);  // rank mismatch
  EXPECT_THROW(call(bad), Error);
}

}  // namespace
}  // namespace kvbench
