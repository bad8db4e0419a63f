// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a YAML or JSON config file (an input starting with '{' is written as .json, any other
// as .yaml) through the whole config path of `kvbench run`: load_config_document (includes
// resolved next to the file, so self-includes and missing files are exercised), `--set` overrides
// (each input line starting with "#= " is one; a YAML comment, so the document is unchanged),
// sweep expansion, then per cell resolve_run_config, run_label and run_hash. Tasks are the real
// registered loaders; the method catalog holds the test method of tests/support/test_components.h
// (real methods need LibTorch). Only one-line config or usage errors may come out.
#include "harness/config_document.h"
#include "harness/run/run_config.h"
#include "harness/run/sweep.h"
#include "tests/fuzz/fuzz_support.h"
#include "tests/support/test_components.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvbench;
  testing::register_test_components();
  const std::string text(reinterpret_cast<const char*>(data), size);
  const bool json = !text.empty() && text[0] == '{';
  const std::filesystem::path path = fuzz::scratch_dir() / (json ? "config.json" : "config.yaml");
  fuzz::write_file(path, data, size);
  try {
    ConfigDocument doc = load_config_document(path);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (text.compare(start, 3, "#= ") == 0) apply_override(doc, text.substr(start + 3, end - start - 3));
      start = end + 1;
    }
    // Keep one input cheap: sweeps of 65..kMaxSweepCells runs are not expanded; larger ones must be
    // refused by expand_sweep before it builds any cell.
    size_t cells = 1, zip_length = 1;
    const nlohmann::json grid = get_key_path(doc.value, "sweep.grid");
    const nlohmann::json zip = get_key_path(doc.value, "sweep.zip");
    if (grid.is_object())
      for (const auto& [key, values] : grid.items())
        if (values.is_array() && !values.empty()) cells = std::min<size_t>(cells * values.size(), size_t{1} << 40);
    if (zip.is_object() && !zip.empty() && zip.begin()->is_array()) zip_length = std::max<size_t>(1, zip.begin()->size());
    cells *= zip_length;
    if (cells > kMaxSweepCells) {
      try {
        (void)expand_sweep(doc);
      } catch (const Error& e) {
        fuzz::expect_clean_error(e, {ErrorKind::kConfig, ErrorKind::kUsage});
        return 0;
      }
      fuzz::fail("a sweep of more than kMaxSweepCells runs was expanded");
    }
    if (cells > 64) return 0;
    for (const SweepCell& cell : expand_sweep(doc)) {
      RunConfig run = resolve_run_config(cell.document);
      const std::string label = run_label(run.resolved);
      const std::string hash = run_hash(run.resolved, "fuzz");
      if (hash.size() != 8 || label.empty()) fuzz::fail("bad run label or hash for a resolved config");
      // A resolved config resolves to itself (defaults already applied, params already checked).
      ConfigDocument again;
      again.value = run.resolved;
      if (resolve_run_config(again).resolved != run.resolved)
        fuzz::fail("resolving a resolved config changed it: " + run.resolved.dump());
    }
  } catch (const Error& e) {
    fuzz::expect_clean_error(e, {ErrorKind::kConfig, ErrorKind::kUsage});
  }
  return 0;
}
