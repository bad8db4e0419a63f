// SPDX-License-Identifier: Apache-2.0
// HIGGS quantizer: tensor implementation, the scalar reference, and the EDEN grid files
// (format contract and arithmetic in higgs.h).
#include "harness/kv/higgs.h"

#include "harness/error.h"
#include "harness/json_text.h"
#include "harness/source_dir.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

namespace kvbench {
namespace {

bool is_power_of_two(int64_t v) { return v > 0 && (v & (v - 1)) == 0; }

int64_t round_up(int64_t v, int64_t multiple) { return (v + multiple - 1) / multiple * multiple; }

void check_config(const HiggsConfig& c) {
  KVBENCH_CHECK_CONFIG(c.grid_dim >= 1, "HIGGS: grid_dim must be >= 1, got ", c.grid_dim);
  KVBENCH_CHECK_CONFIG(c.grid_size >= 2 && c.grid_size <= 256,
                       "HIGGS: grid_size must be in [2, 256] (uint8 codes), got ", c.grid_size);
  KVBENCH_CHECK_CONFIG(is_power_of_two(c.group), "HIGGS: group (Hadamard size) must be a power of two, got ",
                       c.group);
  KVBENCH_CHECK_CONFIG(c.group % c.grid_dim == 0, "HIGGS: group ", c.group,
                       " must be a multiple of grid_dim ", c.grid_dim);
}

void check_grid(const HiggsConfig& c, const at::Tensor& grid) {
  KVBENCH_CHECK_CONFIG(grid.defined(), "HIGGS: grid tensor is undefined");
  KVBENCH_CHECK_CONFIG(grid.dim() == 2 && grid.size(0) == c.grid_size && grid.size(1) == c.grid_dim &&
                           grid.scalar_type() == at::kFloat,
                       "HIGGS: grid must be float32 [", c.grid_size, ", ", c.grid_dim, "], got ",
                       grid.sizes(), " ", at::toString(grid.scalar_type()));
}

// Sub-vectors scored against the grid per matmul (bounds the [rows, N] float64 score buffer).
constexpr int64_t kScoreChunk = 1 << 15;

}  // namespace

at::Tensor hadamard_transform(const at::Tensor& x) {
  const int64_t g = x.size(-1);
  KVBENCH_ASSERT(is_power_of_two(g), "Hadamard size ", g, " is not a power of two");
  const auto sizes = x.sizes().vec();
  at::Tensor y = x.reshape({-1, g});
  const int64_t rows = y.size(0);
  // Stage h pairs element i with i + h inside blocks of 2h: (a, b) -> (a + b, a - b). After all
  // stages y = H_g x with H_g the Sylvester Hadamard in natural order.
  for (int64_t h = 1; h < g; h *= 2) {
    at::Tensor v = y.view({rows, g / (2 * h), 2, h});
    at::Tensor a = v.select(2, 0), b = v.select(2, 1);
    y = at::stack({a + b, a - b}, 2).view({rows, g});
  }
  return y.view(sizes);
}

int64_t HiggsCodes::nbytes() const {
  return static_cast<int64_t>(codes.nbytes()) + static_cast<int64_t>(scales.nbytes());
}

// ---------------------------------------------------------------------------------------------
// Grid files

HiggsGrid load_higgs_grid(const std::string& path) {
  std::ifstream in(path);
  KVBENCH_CHECK_INPUT(in.good(), path, ": cannot open HIGGS grid file (generate it with "
                      "scripts/gen_higgs_grids.py)");
  std::ostringstream text;
  text << in.rdbuf();
  const nlohmann::json doc = parse_json_text(text.str(), ErrorKind::kInput, path);
  auto field = [&](const char* name) -> const nlohmann::json& {
    KVBENCH_CHECK_INPUT(doc.is_object() && doc.contains(name), path, ": missing field '", name, "'");
    return doc[name];
  };
  KVBENCH_CHECK_INPUT(field("format") == "kvbench-higgs-grid", path,
                      ": field 'format' must be \"kvbench-higgs-grid\", got ", field("format").dump());
  KVBENCH_CHECK_INPUT(field("version") == 1, path, ": field 'version': unsupported ", field("version").dump());
  KVBENCH_CHECK_INPUT(field("dim").is_number_integer() && field("size").is_number_integer(), path,
                      ": fields 'dim' and 'size' must be integers");
  const int64_t dim = field("dim").get<int64_t>(), size = field("size").get<int64_t>();
  KVBENCH_CHECK_INPUT(dim >= 1 && size >= 2 && size <= 256, path, ": dim ", dim, " / size ", size,
                      " out of range (dim >= 1, 2 <= size <= 256)");
  KVBENCH_CHECK_INPUT(field("expected_mse").is_number() && field("expected_mse").get<double>() > 0, path,
                      ": field 'expected_mse' must be a positive number");
  const nlohmann::json& points = field("points");
  KVBENCH_CHECK_INPUT(points.is_array() && static_cast<int64_t>(points.size()) == size, path,
                      ": field 'points' must hold ", size, " points");
  at::Tensor grid = at::empty({size, dim}, at::kFloat);
  float* out = grid.data_ptr<float>();
  for (int64_t i = 0; i < size; ++i) {
    const nlohmann::json& row = points[static_cast<size_t>(i)];
    KVBENCH_CHECK_INPUT(row.is_array() && static_cast<int64_t>(row.size()) == dim, path, ": points[", i,
                        "] must hold ", dim, " numbers");
    for (int64_t k = 0; k < dim; ++k) {
      const nlohmann::json& v = row[static_cast<size_t>(k)];
      KVBENCH_CHECK_INPUT(v.is_number() && std::isfinite(v.get<double>()), path, ": points[", i, "][", k,
                          "] is not a finite number");
      out[i * dim + k] = static_cast<float>(v.get<double>());
    }
  }
  return HiggsGrid{grid, field("expected_mse").get<double>(), path};
}

std::string higgs_grid_path(int64_t dim, int64_t size) {
  return str_cat(source_dir(), "/harness/kv/higgs_grids/EDEN", dim, "-", size, ".json");
}

const HiggsGrid& shipped_higgs_grid(int64_t dim, int64_t size) {
  static std::mutex mutex;
  static std::map<std::pair<int64_t, int64_t>, HiggsGrid> cache;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache.find({dim, size});
  if (it != cache.end()) return it->second;
  const std::string path = higgs_grid_path(dim, size);
  HiggsGrid grid = load_higgs_grid(path);
  KVBENCH_CHECK_INPUT(grid.points.size(0) == size && grid.points.size(1) == dim, path, ": holds a ",
                      grid.points.size(1), "-D grid of ", grid.points.size(0), " points, expected EDEN", dim,
                      "-", size);
  return cache.emplace(std::make_pair(dim, size), std::move(grid)).first->second;
}

// ---------------------------------------------------------------------------------------------
// Tensor implementation

HiggsQuantizer::HiggsQuantizer(const HiggsConfig& config, const at::Tensor& grid) : config_(config) {
  check_config(config_);
  check_grid(config_, grid);
  grid_ = grid.to(at::kCPU).contiguous();
}

HiggsQuantizer::HiggsQuantizer(const HiggsConfig& config)
    : HiggsQuantizer(config, (check_config(config), shipped_higgs_grid(config.grid_dim, config.grid_size).points)) {}

int64_t HiggsQuantizer::padded_channels(int64_t channels) const { return round_up(channels, config_.group); }

int64_t HiggsQuantizer::row_bytes(int64_t channels) const {
  const int64_t padded = padded_channels(channels);
  return padded / config_.grid_dim + 4 * (padded / config_.group);
}

const at::Tensor& HiggsQuantizer::grid_on(const at::Device& device) const {
  if (device.is_cpu()) return grid_;
  if (!grid_device_.defined() || grid_device_.device() != device) grid_device_ = grid_.to(device);
  return grid_device_;
}

HiggsCodes HiggsQuantizer::quantize(const at::Tensor& x) const {
  KVBENCH_CHECK(x.dim() >= 1 && at::isFloatingType(x.scalar_type()), "HIGGS quantize: expected a floating "
                "tensor [..., C], got ", x.sizes(), " ", at::toString(x.scalar_type()));
  const int64_t c = x.size(-1), g = config_.group, d = config_.grid_dim;
  const int64_t padded = padded_channels(c), groups = padded / g;
  auto lead = x.sizes().vec();
  lead.pop_back();
  at::Tensor x64 = x.to(at::kFloat).to(at::kDouble).reshape({-1, c});
  const int64_t rows = x64.size(0);
  if (padded != c) x64 = at::constant_pad_nd(x64, {0, padded - c}, 0.0);
  x64 = x64.view({rows, groups, g});
  // scale_j = fp32(||x_j||); y = fp32(H x_j / scale_j), 0 for a zero group.
  at::Tensor scales = x64.mul(x64).sum(-1).sqrt().to(at::kFloat);            // [rows, groups]
  at::Tensor scale64 = scales.to(at::kDouble).unsqueeze(-1);
  at::Tensor y = at::where(scale64 > 0, hadamard_transform(x64) / scale64, at::zeros({}, x64.options()))
                     .to(at::kFloat);                                         // [rows, groups, g]
  // Nearest grid point of every D-dim sub-vector: argmax 2 u.G_c - ||G_c||^2 in float64.
  const at::Tensor grid64 = grid_on(x.device()).to(at::kDouble);
  const at::Tensor norms = grid64.mul(grid64).sum(-1);                        // [N]
  at::Tensor sub = y.to(at::kDouble).view({-1, d});                          // [rows*padded/D, D]
  at::Tensor codes = at::empty({sub.size(0)}, x.options().dtype(at::kByte));
  for (int64_t begin = 0; begin < sub.size(0); begin += kScoreChunk) {
    const int64_t n = std::min(kScoreChunk, sub.size(0) - begin);
    at::Tensor scores = at::matmul(sub.narrow(0, begin, n), grid64.t()).mul_(2.0).sub_(norms);
    codes.narrow(0, begin, n).copy_(scores.argmax(-1));
  }
  auto code_shape = lead, scale_shape = lead;
  code_shape.push_back(padded / d);
  scale_shape.push_back(groups);
  return HiggsCodes{codes.view(code_shape), scales.view(scale_shape), c};
}

at::Tensor HiggsQuantizer::dequantize(const HiggsCodes& q) const {
  const int64_t g = config_.group, d = config_.grid_dim;
  const int64_t padded = padded_channels(q.channels), groups = padded / g;
  KVBENCH_CHECK(q.codes.dim() >= 1 && q.codes.size(-1) == padded / d && q.codes.scalar_type() == at::kByte,
                "HIGGS dequantize: codes must be uint8 [..., ", padded / d, "] for ", q.channels,
                " channels, got ", q.codes.sizes());
  KVBENCH_CHECK(q.scales.dim() == q.codes.dim() && q.scales.size(-1) == groups, "HIGGS dequantize: scales must be [..., ",
                groups, "], got ", q.scales.sizes());
  auto shape = q.codes.sizes().vec();
  shape.back() = q.channels;
  const at::Tensor grid64 = grid_on(q.codes.device()).to(at::kDouble);
  at::Tensor points = grid64.index_select(0, q.codes.reshape({-1}).to(at::kLong));  // [rows*padded/D, D]
  at::Tensor v = points.view({-1, groups, g}) * q.scales.to(at::kDouble).reshape({-1, groups, 1});
  at::Tensor x = (hadamard_transform(v) / static_cast<double>(g)).to(at::kFloat).view({-1, padded});
  if (padded != q.channels) x = x.narrow(1, 0, q.channels);
  return x.reshape(shape);
}

at::Tensor HiggsQuantizer::quantize_dequantize(const at::Tensor& x) const {
  return dequantize(quantize(x)).to(x.scalar_type());
}

// ---------------------------------------------------------------------------------------------
// Scalar reference

namespace {

// H_g[i][j] = (-1)^popcount(i & j): the Sylvester Hadamard matrix in natural order.
std::vector<int> hadamard_matrix(int64_t g) {
  std::vector<int> h(static_cast<size_t>(g * g));
  for (int64_t i = 0; i < g; ++i)
    for (int64_t j = 0; j < g; ++j) h[static_cast<size_t>(i * g + j)] = (__builtin_popcountll(i & j) % 2) ? -1 : 1;
  return h;
}

}  // namespace

HiggsCodes higgs_quantize_reference(const at::Tensor& x, const HiggsConfig& config, const at::Tensor& grid) {
  check_config(config);
  check_grid(config, grid);
  const int64_t c = x.size(-1), g = config.group, d = config.grid_dim, n = config.grid_size;
  const int64_t padded = round_up(c, g), groups = padded / g;
  at::Tensor xf = x.to(at::kCPU).to(at::kFloat).reshape({-1, c}).contiguous();
  at::Tensor gf = grid.to(at::kCPU).contiguous();
  const int64_t rows = xf.size(0);
  const float* xp = xf.data_ptr<float>();
  const float* gp = gf.data_ptr<float>();
  const std::vector<int> h = hadamard_matrix(g);
  at::Tensor codes = at::empty({rows, padded / d}, at::kByte);
  at::Tensor scales = at::empty({rows, groups}, at::kFloat);
  uint8_t* cp = codes.data_ptr<uint8_t>();
  float* sp = scales.data_ptr<float>();
  std::vector<double> xs(static_cast<size_t>(g));
  std::vector<float> y(static_cast<size_t>(g));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < groups; ++j) {
      double sumsq = 0;
      for (int64_t i = 0; i < g; ++i) {
        const int64_t ch = j * g + i;
        xs[static_cast<size_t>(i)] = ch < c ? static_cast<double>(xp[r * c + ch]) : 0.0;
        sumsq += xs[static_cast<size_t>(i)] * xs[static_cast<size_t>(i)];
      }
      const float scale = static_cast<float>(std::sqrt(sumsq));
      sp[r * groups + j] = scale;
      for (int64_t i = 0; i < g; ++i) {
        double acc = 0;
        for (int64_t k = 0; k < g; ++k) acc += h[static_cast<size_t>(i * g + k)] * xs[static_cast<size_t>(k)];
        y[static_cast<size_t>(i)] = scale > 0 ? static_cast<float>(acc / static_cast<double>(scale)) : 0.0f;
      }
      for (int64_t s = 0; s < g / d; ++s) {
        int64_t best = 0;
        double best_score = 0;
        for (int64_t p = 0; p < n; ++p) {
          double dot = 0, norm = 0;
          for (int64_t k = 0; k < d; ++k) {
            const double gv = gp[p * d + k];
            dot += static_cast<double>(y[static_cast<size_t>(s * d + k)]) * gv;
            norm += gv * gv;
          }
          const double score = 2.0 * dot - norm;
          if (p == 0 || score > best_score) {  // strict: ties keep the lowest index
            best = p;
            best_score = score;
          }
        }
        cp[r * (padded / d) + j * (g / d) + s] = static_cast<uint8_t>(best);
      }
    }
  }
  auto lead = x.sizes().vec();
  lead.pop_back();
  auto code_shape = lead, scale_shape = lead;
  code_shape.push_back(padded / d);
  scale_shape.push_back(groups);
  return HiggsCodes{codes.view(code_shape), scales.view(scale_shape), c};
}

at::Tensor higgs_dequantize_reference(const HiggsCodes& q, const HiggsConfig& config, const at::Tensor& grid) {
  check_config(config);
  check_grid(config, grid);
  const int64_t c = q.channels, g = config.group, d = config.grid_dim;
  const int64_t padded = round_up(c, g), groups = padded / g;
  at::Tensor codes = q.codes.to(at::kCPU).reshape({-1, padded / d}).contiguous();
  at::Tensor scales = q.scales.to(at::kCPU).to(at::kFloat).reshape({-1, groups}).contiguous();
  at::Tensor gf = grid.to(at::kCPU).contiguous();
  const int64_t rows = codes.size(0);
  const uint8_t* cp = codes.data_ptr<uint8_t>();
  const float* sp = scales.data_ptr<float>();
  const float* gp = gf.data_ptr<float>();
  const std::vector<int> h = hadamard_matrix(g);
  at::Tensor out = at::empty({rows, c}, at::kFloat);
  float* op = out.data_ptr<float>();
  std::vector<double> v(static_cast<size_t>(g));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < groups; ++j) {
      const double scale = sp[r * groups + j];
      for (int64_t i = 0; i < g; ++i) {
        const int64_t code = cp[r * (padded / d) + j * (g / d) + i / d];
        v[static_cast<size_t>(i)] = static_cast<double>(gp[code * d + i % d]) * scale;
      }
      for (int64_t i = 0; i < g; ++i) {
        const int64_t ch = j * g + i;
        if (ch >= c) continue;
        double acc = 0;
        for (int64_t k = 0; k < g; ++k) acc += h[static_cast<size_t>(i * g + k)] * v[static_cast<size_t>(k)];
        op[r * c + ch] = static_cast<float>(acc / static_cast<double>(g));
      }
    }
  }
  auto shape = q.codes.sizes().vec();
  shape.back() = c;
  return out.view(shape);
}

}  // namespace kvbench
