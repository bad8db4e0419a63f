// SPDX-License-Identifier: Apache-2.0
// The CUDA kernels of harness/kv/ops.h against their LibTorch references (computed on the CPU) on
// awkward shapes: sizes that are not multiples of any block or tile, empty inputs, batch > 1,
// Hkv 1..8, d 64/128 (and odd small ones), ties and NaN for top-k, strided and misaligned views and
// host-mapped (zero-copy) sources for the gather. Exact for top-k and gather; float tolerance for
// scores and keys. Exits 77 (ctest: skipped) without a CUDA device.
#include "harness/error.h"
#include "harness/kv/ops.h"
#include "harness/kv/rope.h"

#include <ATen/Context.h>
#include <cuda_runtime_api.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <vector>

namespace kvbench {
namespace {

const at::Device kCuda(at::kCUDA, 0);

double max_rel_error(const at::Tensor& got, const at::Tensor& want) {
  if (want.numel() == 0) return 0;
  const at::Tensor g = got.to(at::kCPU).to(at::kDouble), w = want.to(at::kCPU).to(at::kDouble);
  return (g - w).abs().max().item<double>() / (w.abs().max().item<double>() + 1e-30);
}

// --- higgs_landmark_scores ------------------------------------------------------------------------

struct HiggsCase {
  int64_t batch, hkv, q_rows, head_dim, group, grid_dim, n;
};

class HiggsScoresCuda : public ::testing::TestWithParam<HiggsCase> {};

TEST_P(HiggsScoresCuda, MatchesReference) {
  const HiggsCase c = GetParam();
  at::manual_seed(c.n * 31 + c.hkv);
  const int64_t padded = (c.hkv * c.head_dim + c.group - 1) / c.group * c.group;
  at::Tensor query = at::randn({c.batch, c.hkv, c.q_rows, c.head_dim});
  at::Tensor codes = at::randint(0, 256, {c.batch, c.n, padded / c.grid_dim}, at::kByte);
  at::Tensor scales = at::rand({c.batch, c.n, padded / c.group}) * 5 + 0.05;
  at::Tensor grid = at::randn({256, c.grid_dim});
  at::Tensor want = higgs_landmark_scores_reference(query, codes, scales, grid, c.group, c.hkv, c.head_dim);
  for (auto qdtype : {at::kFloat, at::kBFloat16}) {
    at::Tensor q = query.to(qdtype);
    at::Tensor ref = qdtype == at::kFloat ? want
                                          : higgs_landmark_scores_reference(q, codes, scales, grid, c.group, c.hkv, c.head_dim);
    at::Tensor got = higgs_landmark_scores(q.to(kCuda), codes.to(kCuda), scales.to(kCuda), grid.to(kCuda), c.group,
                                           c.hkv, c.head_dim);
    ASSERT_TRUE(got.is_cuda());
    ASSERT_EQ(got.scalar_type(), at::kFloat);
    ASSERT_EQ(got.sizes(), ref.sizes());
    EXPECT_LE(max_rel_error(got, ref), 2e-5) << c10::toString(qdtype);
  }
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, HiggsScoresCuda,
    ::testing::Values(HiggsCase{1, 1, 1, 64, 64, 4, 1}, HiggsCase{2, 3, 2, 64, 128, 4, 7},
                      HiggsCase{1, 8, 4, 128, 128, 4, 1000}, HiggsCase{3, 8, 4, 128, 128, 4, 4099},
                      HiggsCase{2, 2, 3, 128, 32, 2, 9}, HiggsCase{1, 5, 1, 64, 512, 4, 33},
                      HiggsCase{2, 8, 1, 128, 1024, 4, 2051}, HiggsCase{1, 4, 4, 128, 512, 4, 65},
                      HiggsCase{3, 2, 1, 64, 64, 8, 11}, HiggsCase{1, 2, 2, 64, 16, 1, 6},
                      HiggsCase{1, 7, 2, 128, 256, 2, 513}, HiggsCase{2, 6, 1, 64, 64, 16, 19},
                      HiggsCase{2, 1, 1, 64, 64, 4, 0}, HiggsCase{0, 2, 1, 64, 64, 4, 5}),
    [](const auto& info) {
      const HiggsCase& c = info.param;
      return str_cat("B", c.batch, "_H", c.hkv, "_G", c.q_rows, "_d", c.head_dim, "_g", c.group, "_D", c.grid_dim,
                     "_n", c.n);
    });

TEST(HiggsScoresCudaErrors, Rejected) {
  at::Tensor query = at::randn({1, 2, 1, 64}, kCuda);
  at::Tensor codes = at::zeros({1, 3, 32}, at::TensorOptions().dtype(at::kByte).device(kCuda));
  at::Tensor scales = at::ones({1, 3, 2}, kCuda);
  at::Tensor grid = at::randn({256, 4}, kCuda);
  EXPECT_NO_THROW(higgs_landmark_scores(query, codes, scales, grid, 64, 2, 64));
  EXPECT_THROW(higgs_landmark_scores(query, codes.cpu(), scales, grid, 64, 2, 64), Error);       // mixed devices
  EXPECT_THROW(higgs_landmark_scores(query, codes, scales, at::randn({256, 32}, kCuda), 64, 2, 64), Error);  // D > 16
  EXPECT_THROW(higgs_landmark_scores(query, codes.transpose(1, 2).contiguous().transpose(1, 2), scales, grid, 64, 2, 64), Error);
  EXPECT_THROW(higgs_landmark_scores(query, codes, scales, grid, 96, 2, 64), Error);
}

// --- topk_per_head --------------------------------------------------------------------------------

void expect_topk_equal(const at::Tensor& scores, int64_t k) {
  at::Tensor want = topk_per_head_reference(scores, k);
  at::Tensor got = topk_per_head(scores.to(kCuda), k);
  ASSERT_TRUE(got.is_cuda());
  ASSERT_EQ(got.scalar_type(), at::kLong);
  ASSERT_TRUE(at::equal(got.cpu(), want)) << "shape " << scores.sizes() << " k=" << k;
}

TEST(TopkCuda, RandomAwkwardShapes) {
  at::manual_seed(21);
  for (auto [b, h, n, k] : std::vector<std::array<int64_t, 4>>{
           {1, 1, 1, 1}, {1, 1, 1, 0}, {1, 3, 5, 0}, {2, 3, 17, 5}, {1, 8, 511, 511}, {1, 8, 512, 1}, {1, 8, 513, 257},
           {3, 5, 1000, 31}, {2, 8, 4099, 128}, {1, 8, 32768, 1024}, {1, 8, 131072, 4096}, {1, 1, 100003, 99999},
           {0, 8, 10, 3}, {2, 0, 10, 3}})
    expect_topk_equal(at::randn({b, h, n}), k);
}

TEST(TopkCuda, TiesNaNInfinitiesAndSignedZeros) {
  at::manual_seed(22);
  for (int64_t k : {1, 7, 100, 299, 300}) expect_topk_equal(at::randint(0, 4, {2, 3, 300}).to(at::kFloat), k);
  for (int64_t k : {1, 600, 1500}) expect_topk_equal(at::zeros({1, 2, 1500}), k);
  // Values sharing the high bytes of their keys exercise every radix pass.
  expect_topk_equal((1.0f + at::randint(0, 3, {2, 2, 3000}).to(at::kFloat) * 1e-7f), 1111);
  at::Tensor s = at::randn({2, 2, 777});
  s.index_put_({0, 0, 3}, std::numeric_limits<float>::quiet_NaN());
  s.index_put_({0, 0, 500}, -std::numeric_limits<float>::quiet_NaN());
  s.index_put_({1, 1, 30}, std::numeric_limits<float>::infinity());
  s.index_put_({1, 1, 31}, -std::numeric_limits<float>::infinity());
  s.index_put_({0, 1, 5}, -0.0f);
  s.index_put_({0, 1, 6}, 0.0f);
  s.index_put_({0, 1, 7}, -0.0f);
  for (int64_t k : {1, 2, 3, 388, 777}) expect_topk_equal(s, k);
  // The largest values are zeros of both signs: they tie and resolve by index.
  at::Tensor z = -(at::rand({1, 1, 13}) + 1);
  z.index_put_({0, 0, 2}, -0.0f);
  z.index_put_({0, 0, 4}, 0.0f);
  z.index_put_({0, 0, 9}, -0.0f);
  for (int64_t k : {1, 2, 3}) expect_topk_equal(z, k);
}

TEST(TopkCuda, SameSetAsAtTopk) {
  at::manual_seed(23);
  at::Tensor s = at::randn({2, 8, 20000}, kCuda);
  at::Tensor got = topk_per_head(s, 600);
  at::Tensor torch_idx = std::get<0>(at::sort(std::get<1>(at::topk(s, 600, -1)), -1));
  EXPECT_TRUE(at::equal(got, torch_idx));
}

TEST(TopkCuda, Errors) {
  EXPECT_THROW(topk_per_head(at::randn({1, 2, 5}, kCuda), 6), Error);
  EXPECT_THROW(topk_per_head(at::randn({1, 2, 5}, kCuda).to(at::kHalf), 1), Error);
  EXPECT_THROW(topk_per_head(at::randn({1, 5, 2}, kCuda).transpose(1, 2), 1), Error);  // not contiguous
}

// --- gather_rows ----------------------------------------------------------------------------------

void expect_gather_equal(const at::Tensor& src_cpu, const at::Tensor& src_cuda, const at::Tensor& index,
                         const at::Tensor& out_cuda) {
  at::Tensor want = at::empty({index.size(0), index.size(1), index.size(2), src_cpu.size(3)}, src_cpu.options());
  gather_rows_reference(src_cpu, index, want);
  const int64_t bytes = gather_rows(src_cuda, index.to(kCuda), out_cuda);
  EXPECT_EQ(bytes, want.numel() * static_cast<int64_t>(want.element_size()));
  at::Tensor got = out_cuda.cpu().contiguous();
  ASSERT_TRUE(at::equal(got.view(at::kByte), want.view(at::kByte))) << src_cpu.sizes() << " -> " << index.sizes();
}

TEST(GatherRowsCuda, EveryDtypeAwkwardShapesAndVectorWidths) {
  at::manual_seed(31);
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf, at::kFloat8_e4m3fn, at::kByte}) {
    // Row bytes cover 16-byte multiples (fast path) and 1/2/4/8-byte fallbacks.
    for (auto [b, h, s, w, k] : std::vector<std::array<int64_t, 5>>{{1, 1, 1, 1, 1},
                                                                   {2, 3, 17, 7, 5},
                                                                   {1, 8, 100, 128, 33},
                                                                   {2, 8, 4099, 128, 131},
                                                                   {2, 2, 9, 64, 0},
                                                                   {3, 1, 5, 3, 12},
                                                                   {1, 4, 300, 24, 299},
                                                                   {2, 5, 64, 40, 64}}) {
      at::Tensor src = (at::randn({b, h, s, w}) * 4).to(dtype);
      at::Tensor index = at::randint(0, s, {b, h, k}, at::kLong);
      expect_gather_equal(src, src.to(kCuda), index, at::empty({b, h, k, w}, src.options().device(kCuda)));
    }
  }
}

TEST(GatherRowsCuda, StridedAndMisalignedViews) {
  at::manual_seed(32);
  // Token-major store [B, S, Hkv, d] read as [B, Hkv, S, d]; destination a slice of a larger buffer.
  at::Tensor store = at::randn({2, 333, 8, 128}).to(at::kBFloat16);
  at::Tensor buffer = at::zeros({2, 8, 700, 128}, at::TensorOptions().dtype(at::kBFloat16).device(kCuda));
  at::Tensor out = buffer.narrow(2, 96, 257);
  at::Tensor index = at::randint(0, 333, {2, 8, 257}, at::kLong);
  expect_gather_equal(store.permute({0, 2, 1, 3}), store.to(kCuda).permute({0, 2, 1, 3}), index, out);
  EXPECT_EQ(buffer.narrow(2, 0, 96).abs().sum().item<double>(), 0.0);
  EXPECT_EQ(buffer.narrow(2, 353, 347).abs().sum().item<double>(), 0.0);
  // Rows starting one element into the allocation: not 16-byte aligned, the narrow fallback copies.
  at::Tensor wide = at::randn({1, 2, 50, 65});
  at::Tensor src = wide.narrow(3, 1, 64);
  expect_gather_equal(src, wide.to(kCuda).narrow(3, 1, 64), at::randint(0, 50, {1, 2, 19}, at::kLong),
                      at::empty({1, 2, 19, 64}, kCuda));
  at::Tensor plain = at::randn({1, 2, 50, 64});
  at::Tensor dst_wide = at::zeros({1, 2, 19, 65}, kCuda);
  expect_gather_equal(plain, plain.to(kCuda), at::randint(0, 50, {1, 2, 19}, at::kLong), dst_wide.narrow(3, 1, 64));
  EXPECT_EQ(dst_wide.select(3, 0).abs().sum().item<float>(), 0.0f);
}

TEST(GatherRowsCuda, HostMappedSource) {
  // Pinned host memory read through its device address (zero-copy), as KVPlacement::kMappedHost.
  at::manual_seed(33);
  at::Tensor host = at::randn({1, 8, 5000, 128}).to(at::kBFloat16).pin_memory();
  void* device_ptr = nullptr;
  ASSERT_EQ(cudaHostGetDevicePointer(&device_ptr, host.data_ptr(), 0), cudaSuccess);
  at::Tensor view = at::from_blob(device_ptr, host.sizes(), host.strides(),
                                  at::TensorOptions().dtype(at::kBFloat16).device(kCuda));
  at::Tensor index = at::randint(0, 5000, {1, 8, 613}, at::kLong);
  expect_gather_equal(host, view, index, at::empty({1, 8, 613, 128}, view.options()));
}

TEST(GatherRowsCuda, OutOfRangeIndices) {
  at::Tensor src = at::randn({1, 2, 10, 16}, kCuda);
  at::Tensor index = at::tensor({0, 10, 3, -1}, at::kLong).view({1, 2, 2}).to(kCuda);
  at::Tensor out = at::full({1, 2, 2, 16}, 7.0f, kCuda);
  EXPECT_THROW(gather_rows(src, index, out), Error);
  out.fill_(7.0f);
  EXPECT_NO_THROW(gather_rows(src, index, out, /*check_indices=*/false));
  EXPECT_TRUE(at::equal(out[0][0][0], src[0][0][0]));
  EXPECT_EQ(out[0][0][1].abs().sum().item<float>(), 0.0f);  // zero-filled, src never read
  EXPECT_TRUE(at::equal(out[0][1][0], src[0][1][3]));
  EXPECT_EQ(out[0][1][1].abs().sum().item<float>(), 0.0f);
  EXPECT_THROW(gather_rows(src, index.cpu(), out), Error);  // mixed devices
}

// --- shadowkv_reconstruct_keys --------------------------------------------------------------------

struct KeysCase {
  int64_t batch, seq, rank, hkv, n, head_dim;
};

class ReconstructKeysCuda : public ::testing::TestWithParam<KeysCase> {};

TEST_P(ReconstructKeysCuda, MatchesReference) {
  const KeysCase c = GetParam();
  at::manual_seed(c.n + c.rank);
  at::Tensor u = at::randn({c.batch, c.seq, c.rank}) / std::sqrt(static_cast<double>(c.rank));
  at::Tensor sv = at::randn({c.batch, c.hkv, c.rank, c.head_dim});
  at::Tensor positions = at::randint(0, c.seq, {c.batch, c.hkv, c.n}, at::kLong);
  RopeConfig config;
  config.type = "llama3";
  config.theta = 500000.0;
  config.factor = 8.0;
  Rope rope(config, c.head_dim, at::kCPU);
  for (auto dtype : {at::kFloat, at::kBFloat16, at::kHalf}) {
    auto cs = rope.cos_sin(positions.reshape({c.batch, c.hkv * c.n}), dtype);
    at::Tensor cos = cs.first.view({c.batch, c.hkv, c.n, c.head_dim});
    at::Tensor sin = cs.second.view({c.batch, c.hkv, c.n, c.head_dim});
    at::Tensor ud = u.to(dtype), svd = sv.to(dtype);
    // Reference from the same (rounded) inputs, computed in float32: the kernel rounds once at the end.
    at::Tensor want = shadowkv_reconstruct_keys_reference(ud.to(at::kFloat), svd.to(at::kFloat), positions,
                                                          cos.to(at::kFloat), sin.to(at::kFloat));
    at::Tensor got = shadowkv_reconstruct_keys(ud.to(kCuda), svd.to(kCuda), positions.to(kCuda), cos.to(kCuda),
                                               sin.to(kCuda));
    ASSERT_TRUE(got.is_cuda());
    ASSERT_EQ(got.scalar_type(), dtype);
    ASSERT_EQ(got.sizes(), want.sizes());
    const double tol = dtype == at::kFloat ? 1e-5 : dtype == at::kHalf ? 2e-3 : 1e-2;
    EXPECT_LE(max_rel_error(got, want), tol) << c10::toString(dtype);
    if (dtype != at::kFloat) {  // and the dtype reference (ATen ops in that dtype) agrees to rounding
      at::Tensor ref_dtype = shadowkv_reconstruct_keys_reference(ud, svd, positions, cos, sin);
      EXPECT_LE(max_rel_error(got, ref_dtype), 3 * tol) << c10::toString(dtype);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    AwkwardShapes, ReconstructKeysCuda,
    ::testing::Values(KeysCase{1, 1, 1, 1, 1, 2}, KeysCase{2, 37, 5, 3, 11, 64}, KeysCase{1, 300, 160, 8, 40, 128},
                      KeysCase{1, 4099, 160, 8, 2048, 128}, KeysCase{3, 100, 37, 2, 9, 64}, KeysCase{2, 9, 16, 1, 0, 64},
                      KeysCase{1, 50, 33, 2, 70, 6}, KeysCase{2, 1000, 160, 4, 17, 128}, KeysCase{1, 64, 1024, 1, 8, 64},
                      KeysCase{1, 20, 7, 5, 7, 256}),
    [](const auto& info) {
      const KeysCase& c = info.param;
      return str_cat("B", c.batch, "_S", c.seq, "_r", c.rank, "_H", c.hkv, "_n", c.n, "_d", c.head_dim);
    });

TEST(ReconstructKeysCudaErrors, Rejected) {
  at::Tensor u = at::randn({1, 10, 4}, kCuda), sv = at::randn({1, 2, 4, 8}, kCuda);
  at::Tensor pos = at::randint(0, 10, {1, 2, 3}, at::TensorOptions().dtype(at::kLong).device(kCuda));
  at::Tensor cos = at::randn({1, 2, 3, 8}, kCuda), sin = at::randn({1, 2, 3, 8}, kCuda);
  EXPECT_NO_THROW(shadowkv_reconstruct_keys(u, sv, pos, cos, sin));
  at::Tensor bad = pos.clone();
  bad.index_put_({0, 1, 2}, 10);
  EXPECT_THROW(shadowkv_reconstruct_keys(u, sv, bad, cos, sin), Error);
  at::Tensor keys = shadowkv_reconstruct_keys(u, sv, bad, cos, sin, /*check_positions=*/false);
  EXPECT_EQ(keys[0][1][2].abs().sum().item<float>(), 0.0f);  // zero-filled row
  EXPECT_THROW(shadowkv_reconstruct_keys(u, sv, pos, cos.cpu(), sin), Error);
  EXPECT_THROW(shadowkv_reconstruct_keys(u, at::randn({1, 2, 4, 4096}, kCuda), pos, at::randn({1, 2, 3, 4096}, kCuda),
                                         at::randn({1, 2, 3, 4096}, kCuda)),
               Error);  // d above the kernel's limit
  EXPECT_THROW(shadowkv_reconstruct_keys(u, sv.transpose(2, 3).contiguous().transpose(2, 3), pos, cos, sin), Error);
}

}  // namespace
}  // namespace kvbench
