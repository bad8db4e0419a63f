// SPDX-License-Identifier: Apache-2.0
// HIGGS quantizer (harness/kv/higgs.h): the Hadamard transform, the tensor path equal bit for bit to
// the scalar reference, shapes/padding round trips, Gaussian MSE equal to the grid's expected MSE
// (2-bit D4/N256 and 4-bit D2/N256), and grid-file errors.
#include "harness/error.h"
#include "harness/kv/higgs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace kvbench {
namespace {

std::string tmp_dir() {
  const char* v = std::getenv("KVBENCH_TEST_TMP");
  std::string dir = (v != nullptr && *v != '\0') ? v : "/tmp/kvbench-test-tmp";
  dir += "/higgs";
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(Hadamard, EqualsSylvesterMatrixAndIsSelfInverseUpToG) {
  for (int64_t g : {1, 2, 8, 64}) {
    at::Tensor h = at::ones({1, 1}, at::kDouble);
    while (h.size(0) < g) h = at::cat({at::cat({h, h}, 1), at::cat({h, -h}, 1)}, 0);
    at::Tensor x = at::randn({5, 3, g}, at::kDouble);
    at::Tensor want = at::matmul(x, h.t());
    EXPECT_TRUE(at::allclose(hadamard_transform(x), want, 0, 1e-12)) << g;
    EXPECT_TRUE(at::allclose(hadamard_transform(hadamard_transform(x)), x * static_cast<double>(g), 0, 1e-10));
  }
}

TEST(Higgs, ShippedGridsLoad) {
  for (auto [dim, size] : {std::pair<int64_t, int64_t>{2, 256}, {4, 256}}) {
    const HiggsGrid& grid = shipped_higgs_grid(dim, size);
    EXPECT_EQ(grid.points.sizes(), (std::vector<int64_t>{size, dim}));
    EXPECT_TRUE(at::isfinite(grid.points).all().item<bool>());
    // Per-coordinate MSE of a 256-point grid lies between the rate-distortion bound 2^(-2R) and
    // the Lloyd-Max scalar quantizer at the same rate R = 8/D bits (0.1175 at 2 bits, 0.009497 at 4).
    const double rate = 8.0 / static_cast<double>(dim);
    EXPECT_GT(grid.expected_mse, std::pow(2.0, -2.0 * rate)) << dim;
    EXPECT_LT(grid.expected_mse, dim == 4 ? 0.1175 : 0.009497) << dim;
  }
}

// Random rows with awkward sizes, a zero row, a zero group and large/small magnitudes.
at::Tensor awkward_rows(int64_t rows, int64_t channels, int64_t group) {
  at::Tensor x = at::randn({rows, channels}) * at::rand({rows, 1}).mul(5).exp();
  x[1].zero_();
  if (channels > group) x[2].narrow(0, 0, group).zero_();
  x[3].mul_(1e-6);
  return x;
}

TEST(Higgs, TensorPathEqualsScalarReferenceBitForBit) {
  at::manual_seed(11);
  struct Case {
    HiggsConfig config;
    int64_t channels;
  };
  for (const Case& c : {Case{{4, 256, 128}, 256}, Case{{4, 256, 128}, 200}, Case{{2, 256, 64}, 192},
                        Case{{2, 256, 256}, 100}, Case{{4, 256, 1024}, 1024}}) {
    const at::Tensor grid = shipped_higgs_grid(c.config.grid_dim, c.config.grid_size).points;
    HiggsQuantizer quantizer(c.config, grid);
    at::Tensor x = awkward_rows(24, c.channels, c.config.group).view({2, 12, c.channels});
    for (at::ScalarType dtype : {at::kFloat, at::kBFloat16}) {
      at::Tensor input = x.to(dtype);
      HiggsCodes fast = quantizer.quantize(input);
      HiggsCodes ref = higgs_quantize_reference(input, c.config, grid);
      const std::string what = str_cat("D", c.config.grid_dim, " g", c.config.group, " C", c.channels, " ",
                                       at::toString(dtype));
      ASSERT_EQ(fast.codes.sizes(), ref.codes.sizes()) << what;
      EXPECT_TRUE(at::equal(fast.codes, ref.codes)) << what;
      EXPECT_TRUE(at::equal(fast.scales, ref.scales)) << what;
      at::Tensor back = quantizer.dequantize(fast);
      EXPECT_TRUE(at::equal(back, higgs_dequantize_reference(ref, c.config, grid))) << what;
      EXPECT_EQ(back.scalar_type(), at::kFloat);
      // Zero row and zero group stay exactly zero.
      EXPECT_TRUE(back[0][1].eq(0).all().item<bool>()) << what;
      if (c.channels > c.config.group) {
        EXPECT_TRUE(back[0][2].narrow(0, 0, c.config.group).eq(0).all().item<bool>()) << what;
      }
    }
  }
}

TEST(Higgs, ShapesAndPaddingRoundTrip) {
  at::manual_seed(3);
  HiggsQuantizer quantizer(HiggsConfig{4, 256, 128});
  at::Tensor x = at::randn({2, 3, 5, 200});
  HiggsCodes q = quantizer.quantize(x);
  EXPECT_EQ(q.codes.sizes(), (std::vector<int64_t>{2, 3, 5, 256 / 4}));
  EXPECT_EQ(q.scales.sizes(), (std::vector<int64_t>{2, 3, 5, 2}));
  EXPECT_EQ(q.codes.scalar_type(), at::kByte);
  EXPECT_EQ(q.scales.scalar_type(), at::kFloat);
  EXPECT_EQ(q.channels, 200);
  EXPECT_EQ(q.nbytes(), 2 * 3 * 5 * (64 + 2 * 4));
  EXPECT_EQ(quantizer.row_bytes(200), 64 + 2 * 4);
  at::Tensor back = quantizer.dequantize(q);
  EXPECT_EQ(back.sizes(), x.sizes());
  // Padding is zeros: quantizing the explicitly zero-padded rows gives the same codes and scales,
  // and the padded dequantization cropped to 200 channels is the same tensor.
  at::Tensor padded = at::constant_pad_nd(x, {0, 56}, 0.0);
  HiggsCodes qp = quantizer.quantize(padded);
  EXPECT_TRUE(at::equal(qp.codes, q.codes));
  EXPECT_TRUE(at::equal(qp.scales, q.scales));
  EXPECT_TRUE(at::equal(quantizer.dequantize(qp).narrow(-1, 0, 200), back));
  // The scale is the group's L2 norm.
  EXPECT_TRUE(at::allclose(q.scales.select(-1, 0), x.narrow(-1, 0, 128).norm(2, -1), 1e-6, 0));
  // quantize_dequantize keeps the dtype.
  EXPECT_EQ(quantizer.quantize_dequantize(x.to(at::kBFloat16)).scalar_type(), at::kBFloat16);
}

// Mean and standard error of the per-row values of v [R].
std::pair<double, double> mean_and_stderr(const at::Tensor& v) {
  const double n = static_cast<double>(v.numel());
  return {v.mean().item<double>(), v.std().item<double>() / std::sqrt(n)};
}

// Per-row, per-coordinate MSE of nearest-grid-point quantization of the D-dim sub-vectors of the
// rows of y [R, g] (plain LibTorch, no Hadamard or scales): the dense reference of what HIGGS does
// after its rotation.
at::Tensor nearest_point_mse_rows(const at::Tensor& y, const at::Tensor& grid) {
  at::Tensor u = y.reshape({-1, grid.size(1)}).to(at::kDouble);
  at::Tensor g = grid.to(at::kDouble);
  at::Tensor dist = (u * u).sum(1, true) - 2 * at::matmul(u, g.t()) + (g * g).sum(1).unsqueeze(0);
  return std::get<0>(dist.min(1)).view({y.size(0), -1}).mean(1) / static_cast<double>(grid.size(1));
}

// Gaussian rows x: y = H_g x_j / ||x_j|| is exactly uniform on the sphere of radius sqrt(g)
// (H_g / sqrt(g) is orthogonal) and ||x^_j - x_j||^2 / ||x_j||^2 = ||y^ - y||^2 / g, so HIGGS's
// relative MSE equals the grid's MSE on sphere sub-vectors, computed here directly on fresh sphere
// samples; the two must agree within 4 standard errors (both estimated from the per-row spread, so
// the tolerance follows the heavy tail of the squared error instead of a guessed constant). The
// sphere's D-dim marginals tend to N(0, I_D) as g grows, so at g = 1024 HIGGS also reaches the
// Gaussian MSE stored with the grid, up to 4 standard errors plus 2% for the O(D/g) bias and the
// grid file's own estimate (measured with the shipped grids: the sphere MSE is about 1% below the
// Gaussian one at g = 128 and 0.4% below at g = 1024).
TEST(Higgs, GaussianMseEqualsGridExpectedMse) {
  at::manual_seed(5);
  for (int64_t dim : {4, 2}) {
    const HiggsGrid& grid = shipped_higgs_grid(dim, 256);
    for (int64_t group : {128, 1024}) {
      HiggsQuantizer quantizer(HiggsConfig{dim, 256, group}, grid.points);
      const int64_t rows = 256 * 1024 / group;
      at::Tensor x = at::randn({rows, group});
      at::Tensor back = quantizer.dequantize(quantizer.quantize(x));
      auto [mse, mse_se] = mean_and_stderr((back - x).pow(2).sum(1).to(at::kDouble) / x.pow(2).sum(1).to(at::kDouble));
      at::Tensor z = at::randn({rows, group}, at::kDouble);
      auto [sphere, sphere_se] = mean_and_stderr(
          nearest_point_mse_rows(z * (std::sqrt(static_cast<double>(group)) / z.norm(2, 1, true)), grid.points));
      const double se = std::sqrt(mse_se * mse_se + sphere_se * sphere_se);
      const std::string what = str_cat("D", dim, " g", group, ": higgs mse ", mse, " +- ", mse_se, ", sphere reference ",
                                       sphere, " +- ", sphere_se, ", grid (Gaussian) ", grid.expected_mse);
      EXPECT_NEAR(mse, sphere, 4 * se) << what;
      if (group == 1024) {
        EXPECT_NEAR(mse, grid.expected_mse, 4 * mse_se + 0.02 * grid.expected_mse) << what;
      }
      std::cout << what << "\n";
    }
  }
}

TEST(Higgs, GridFileErrorsNameFileAndField) {
  const std::string dir = tmp_dir();
  auto write = [&](const std::string& name, const std::string& text) {
    std::ofstream(dir + "/" + name) << text;
    return dir + "/" + name;
  };
  auto expect_error = [](const std::string& path, const std::string& needle) {
    try {
      load_higgs_grid(path);
      ADD_FAILURE() << path << " loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInput);
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_error(dir + "/missing.json", "cannot open");
  expect_error(write("bad.json", "{\"format\": "), "invalid JSON");
  expect_error(write("format.json", "{\"format\": \"x\"}"), "'format'");
  const std::string head = "{\"format\":\"kvbench-higgs-grid\",\"version\":1,\"dim\":2,\"size\":3,";
  expect_error(write("nomse.json", head + "\"points\":[]}"), "'expected_mse'");
  expect_error(write("count.json", head + "\"expected_mse\":0.1,\"points\":[[1,2]]}"), "'points'");
  expect_error(write("row.json", head + "\"expected_mse\":0.1,\"points\":[[1,2],[1],[3,4]]}"), "points[1]");
  HiggsGrid ok = load_higgs_grid(write("ok.json", head + "\"expected_mse\":0.1,\"points\":[[1,2],[0,0],[3,4]]}"));
  EXPECT_EQ(ok.points.sizes(), (std::vector<int64_t>{3, 2}));
  EXPECT_FLOAT_EQ(ok.points[2][1].item<float>(), 4.0f);
  // A config that does not fit the grid is a config error.
  EXPECT_THROW(HiggsQuantizer(HiggsConfig{2, 256, 96}, shipped_higgs_grid(2, 256).points), Error);
  EXPECT_THROW(HiggsQuantizer(HiggsConfig{4, 256, 128}, ok.points), Error);
}

}  // namespace
}  // namespace kvbench
