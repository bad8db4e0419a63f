// SPDX-License-Identifier: Apache-2.0
// kvbench compare's statistics and verdicts on synthetic runs: the paired bootstrap against analytic
// expectations, the Mann-Whitney p-value against its closed form, and the verdicts (a run against
// itself passes; corrupted predictions, slower decoding, more memory, a vanished cell each fail and
// name the cell; BASE and NEW with different prompts are bad input).
#include "harness/error.h"
#include "reports/bootstrap.h"
#include "reports/compare.h"
#include "reports/rank_test.h"
#include "tests/reports/synthetic_runs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using testing::SyntheticRun;
using testing::SyntheticSample;
using ::testing::HasSubstr;

fs::path scratch(const std::string& name) {
  const char* tmp = std::getenv("KVBENCH_TEST_TMP");
  fs::path dir = fs::path(tmp ? tmp : "/tmp") / "test_compare" / name;
  // rm -rf, not fs::remove_all: libtorch exports a std::filesystem::remove_all that crashes on an
  // existing tree (see test_higgs_grid_script).
  EXPECT_EQ(std::system(("rm -rf '" + dir.string() + "'").c_str()), 0);
  fs::create_directories(dir);
  return dir;
}

TEST(PairedBootstrap, ConstantDifferencesGiveAPointInterval) {
  BootstrapInterval ci = paired_bootstrap(std::vector<double>(17, -0.25), 10000, 0, 0.05);
  EXPECT_EQ(ci.mean, -0.25);
  EXPECT_EQ(ci.low, -0.25);
  EXPECT_EQ(ci.high, -0.25);
}

TEST(PairedBootstrap, TwoPointDistributionHasKnownPercentiles) {
  // d = {0, 1}: a resample mean is 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4. With 10^4
  // resamples, fewer than 2.5% zeros (or ones) has probability ~1e-280, so the 2.5% and 97.5%
  // percentiles are exactly 0 and 1, and the share of 0.5 is 1/2 within 4 standard errors (0.02).
  BootstrapInterval ci = paired_bootstrap({0, 1}, 10000, 7, 0.05);
  EXPECT_EQ(ci.low, 0.0);
  EXPECT_EQ(ci.high, 1.0);
  BootstrapInterval narrow = paired_bootstrap({0, 1}, 10000, 7, 0.6);  // 30% and 70% percentiles
  EXPECT_EQ(narrow.low, 0.5);
  EXPECT_EQ(narrow.high, 0.5);
}

TEST(PairedBootstrap, WidthMatchesTheNormalApproximationForLargeSamples) {
  // 400 differences, half +1 and half -1: sd 1.0013, the bootstrap mean is ~normal with sd
  // sqrt(1/400) = 0.05 (plug-in sd 1), so the 95% interval is about +-1.96 * 0.05 = +-0.098. Monte
  // Carlo error of a 2.5% percentile from 10^4 resamples: sqrt(.025 * .975 / 10^4) / phi(1.96) /
  // sqrt(400) ~ 0.0027; plus the discreteness of the mean (steps of 0.005): 0.01 covers both.
  std::vector<double> d;
  for (int i = 0; i < 400; ++i) d.push_back(i % 2 ? 1.0 : -1.0);
  BootstrapInterval ci = paired_bootstrap(d, 10000, 3, 0.05);
  EXPECT_EQ(ci.mean, 0.0);
  EXPECT_NEAR(ci.low, -0.098, 0.01);
  EXPECT_NEAR(ci.high, 0.098, 0.01);
  // Seeded: the same seed gives the same interval, another seed (almost surely) another one.
  BootstrapInterval again = paired_bootstrap(d, 10000, 3, 0.05);
  EXPECT_EQ(again.low, ci.low);
  EXPECT_EQ(again.high, ci.high);
}

TEST(MannWhitney, SeparatedSamplesMatchTheClosedForm) {
  // candidate 6..10 vs baseline 1..5: U = 25, mean 12.5, variance 5*5*11/12, no ties; continuity
  // corrected z = 12 / sqrt(22.9167) = 2.50672; p = 1 - Phi(z) = 0.0060926 (scipy.stats.mannwhitneyu
  // (..., alternative="greater", method="asymptotic") gives the same).
  RankTest t = mann_whitney_greater({6, 7, 8, 9, 10}, {1, 2, 3, 4, 5});
  EXPECT_EQ(t.u, 25);
  EXPECT_NEAR(t.p_value, 0.0060926, 1e-6);
  RankTest reverse = mann_whitney_greater({1, 2, 3, 4, 5}, {6, 7, 8, 9, 10});
  EXPECT_EQ(reverse.u, 0);
  EXPECT_GT(reverse.p_value, 0.99);
  EXPECT_EQ(mann_whitney_greater({3, 3, 3}, {3, 3}).p_value, 1.0);  // all tied: no evidence
}

SyntheticRun run_with(size_t n, double score, double ttft, double peak) {
  SyntheticRun r;
  for (size_t i = 0; i < n; ++i) {
    SyntheticSample s;
    s.id = "s" + std::to_string(i);
    s.score = score;
    s.ttft_ms = ttft + static_cast<double>(i % 5);
    s.tpot_ms = 2 + 0.01 * static_cast<double>(i % 3);
    s.peak_device_bytes = peak;
    r.samples.push_back(s);
  }
  return r;
}

std::vector<RunRecord> load(const fs::path& root, const SyntheticRun& r) {
  testing::write_synthetic_run(root, r);
  return load_runs({root.string()});
}

TEST(Compare, ARunAgainstItselfPasses) {
  auto base = load(scratch("self"), run_with(30, 1, 10, 4096));
  CompareResult r = compare_runs(base, base, CompareOptions{});
  EXPECT_EQ(r.exit_code(), 0) << r.markdown;
  EXPECT_THAT(r.markdown, HasSubstr("**No regression.**"));
  EXPECT_EQ(r.cells[0]["paired"], 30);
}

TEST(Compare, CorruptedPredictionsRegressAndNameTheCell) {
  auto base = load(scratch("good"), run_with(30, 1, 10, 4096));
  SyntheticRun bad = run_with(30, 1, 10, 4096);
  for (size_t i = 0; i < 30; i += 2) bad.samples[i].score = 0;  // half the answers corrupted
  auto candidate = load(scratch("bad"), bad);
  CompareResult r = compare_runs(base, candidate, CompareOptions{});
  EXPECT_EQ(r.exit_code(), 1) << r.markdown;
  ASSERT_EQ(r.regressions.size(), 1u) << r.markdown;
  EXPECT_THAT(r.regressions[0], HasSubstr("task_a | proto | m | full {}: accuracy: acc dropped by 0.5000"));
  EXPECT_NEAR(r.cells[0]["accuracy"]["acc"]["mean_difference"].get<double>(), -0.5, 1e-15);
  EXPECT_LT(r.cells[0]["accuracy"]["acc"]["ci_high"].get<double>(), 0);
  // Not gated on accuracy: reported, not failed.
  CompareOptions latency_only;
  latency_only.fail_on = {"latency"};
  EXPECT_EQ(compare_runs(base, candidate, latency_only).exit_code(), 0);
}

TEST(Compare, SlowerDecodingAndMoreMemoryRegress) {
  auto base = load(scratch("fast"), run_with(30, 1, 10, 4096));
  auto slow = load(scratch("slow"), run_with(30, 1, 30, 4096));
  CompareResult r = compare_runs(base, slow, CompareOptions{});
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_THAT(r.markdown, HasSubstr("latency"));
  EXPECT_NEAR(r.cells[0]["latency"]["ttft_ms"]["ratio_of_medians"].get<double>(), 32.0 / 12.0, 1e-12);
  auto bigger = load(scratch("bigger"), run_with(30, 1, 10, 4097));
  CompareResult m = compare_runs(base, bigger, CompareOptions{});
  ASSERT_EQ(m.exit_code(), 1);
  EXPECT_THAT(m.regressions[0], HasSubstr("memory: peak_device_bytes_total grew by 1 bytes"));
}

TEST(Compare, VanishedCellFailsAndDifferentPromptsAreBadInput) {
  fs::path two = scratch("two_cells");
  testing::write_synthetic_run(two, run_with(5, 1, 10, 1));
  SyntheticRun task_b = run_with(5, 1, 10, 1);
  task_b.task = "task_b";
  auto base = load(two, task_b);
  auto one = load(scratch("one_cell"), run_with(5, 1, 10, 1));
  CompareResult r = compare_runs(base, one, CompareOptions{});
  EXPECT_EQ(r.exit_code(), 1);
  EXPECT_THAT(r.markdown, HasSubstr("**MISSING**"));

  SyntheticRun renamed = run_with(5, 1, 10, 1);
  for (auto& s : renamed.samples) s.prompt_sha256 = "other-" + s.id;
  auto different = load(scratch("different_prompts"), renamed);
  try {
    compare_runs(one, different, CompareOptions{});
    FAIL() << "no pairs must be an input error";
  } catch (const Error& e) {
    EXPECT_EQ(e.exit_code(), 2);
    EXPECT_THAT(e.what(), HasSubstr("5 ids with a different prompt_sha256"));
  }
}

}  // namespace
}  // namespace kvbench
