// SPDX-License-Identifier: Apache-2.0
#include "harness/run/sweep.h"

#include "harness/error.h"

namespace kvbench {
namespace {

struct Axis {
  std::string key_path;
  nlohmann::json values;  // array
};

std::vector<Axis> read_axes(const ConfigDocument& doc, const char* kind) {
  std::vector<Axis> axes;
  nlohmann::json section = get_key_path(doc.value, std::string("sweep.") + kind);
  if (section.is_null()) return axes;
  std::string where = doc.locate(std::string("sweep.") + kind);
  KVBENCH_CHECK_CONFIG(section.is_object(), where, ": sweep.", kind,
                       ": expected a mapping of key.path: [values]");
  for (const auto& [key, values] : section.items()) {
    std::string path = std::string("sweep.") + kind + "." + key;
    KVBENCH_CHECK_CONFIG(values.is_array() && !values.empty(), doc.locate(path), ": ", path,
                         ": expected a non-empty list of values");
    KVBENCH_CHECK_CONFIG(key.rfind("sweep", 0) != 0 && key.rfind("include", 0) != 0,
                         doc.locate(path), ": ", path, ": cannot sweep over '", key, "'");
    axes.push_back({key, values});
  }
  return axes;
}

}  // namespace

std::vector<SweepCell> expand_sweep(const ConfigDocument& document) {
  ConfigDocument base = document;
  std::vector<Axis> grid, zip;
  if (base.value.contains("sweep")) {
    const nlohmann::json& sweep = base.value["sweep"];
    std::string where = base.locate("sweep");
    KVBENCH_CHECK_CONFIG(sweep.is_object(), where, ": sweep: expected a mapping with grid and/or zip");
    for (const auto& [key, unused] : sweep.items()) {
      KVBENCH_CHECK_CONFIG(key == "grid" || key == "zip", base.locate("sweep." + key),
                           ": unknown key 'sweep.", key, "'; known keys: grid, zip");
    }
    grid = read_axes(base, "grid");
    zip = read_axes(base, "zip");
    base.value.erase("sweep");
  }
  size_t zip_length = zip.empty() ? 1 : zip.front().values.size();
  for (const auto& axis : zip) {
    KVBENCH_CHECK_CONFIG(axis.values.size() == zip_length, document.locate("sweep.zip." + axis.key_path),
                         ": sweep.zip.", axis.key_path, " has ", axis.values.size(),
                         " values but sweep.zip.", zip.front().key_path, " has ", zip_length,
                         "; zip axes must have equal lengths");
  }
  // A typo can ask for billions of runs (or overflow the count): refuse more than kMaxSweepCells,
  // naming the axis that passes the limit, before any cell is built.
  size_t grid_cells = 1, total_cells = zip_length;
  for (const auto& axis : grid) {
    KVBENCH_CHECK_CONFIG(!__builtin_mul_overflow(grid_cells, axis.values.size(), &grid_cells) &&
                             !__builtin_mul_overflow(grid_cells, zip_length, &total_cells) &&
                             total_cells <= kMaxSweepCells,
                         document.locate("sweep.grid." + axis.key_path), ": sweep.grid.", axis.key_path,
                         ": the sweep expands to more than ", kMaxSweepCells, " runs");
  }
  KVBENCH_CHECK_CONFIG(total_cells <= kMaxSweepCells, document.locate("sweep.zip"),
                       ": sweep.zip: the sweep expands to more than ", kMaxSweepCells, " runs");

  std::vector<SweepCell> cells;
  for (size_t g = 0; g < grid_cells; ++g) {
    for (size_t z = 0; z < zip_length; ++z) {
      SweepCell cell{base, nlohmann::json::object()};
      size_t rest = g;
      for (size_t a = grid.size(); a-- > 0;) {  // last axis varies fastest
        const Axis& axis = grid[a];
        const nlohmann::json& v = axis.values[rest % axis.values.size()];
        rest /= axis.values.size();
        set_key_path(cell.document, axis.key_path, v, document.locate("sweep.grid." + axis.key_path));
        cell.axes[axis.key_path] = v;
      }
      for (const auto& axis : zip) {
        set_key_path(cell.document, axis.key_path, axis.values[z],
                     document.locate("sweep.zip." + axis.key_path));
        cell.axes[axis.key_path] = axis.values[z];
      }
      cells.push_back(std::move(cell));
    }
  }
  return cells;
}

}  // namespace kvbench
