// SPDX-License-Identifier: Apache-2.0
// Acceptance 2 for lrqk: the reference's own algorithm (scripts/reference/lrqk_reference.py, a CPU
// port of tenghuilee/LRQK lrqk_attention.py with provenance) and kvbench, on the same random
// queries/keys and the same seeded randn initialisation (exchanged as raw fp64 files), give the same
// prefill factors and, at every decode step, the same chosen tokens per query head and the same
// number of rows fetched from the host. Both sides run in fp64 (the reference computes in fp32; the
// port makes the dtype a parameter) so the comparison is far inside every top-k margin.
#include "methods/lrqk_factors.h"
#include "tests/methods/attention_calls.h"
#include "tests/methods/eviction_reference.h"
#include "tests/methods/json_tensor.h"
#include "tests/methods/method_equivalence.h"
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace kvbench {
namespace {

void write_f64(const std::filesystem::path& path, const at::Tensor& t) {
  const at::Tensor c = t.to(at::kDouble).contiguous();
  std::ofstream out(path, std::ios::binary);
  out.write(static_cast<const char*>(c.data_ptr()), static_cast<std::streamsize>(c.nbytes()));  // x86-64: little-endian
  ASSERT_TRUE(out.good()) << path;
}

double relative_difference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / std::max(1e-300, b.abs().max().item<double>());
}

TEST(LrqkReference, SameFactorsAndChosenTokensAsTheReferencePort) {
  const int64_t hq = 4, hkv = 2, d = 64, s = 40, steps = 10, active = 8, lite = 4, rank = 4, group = hq / hkv;
  const int64_t n = s + steps;
  // Random post-RoPE queries/keys (fp64) and one-hot values (the attention output names the rows).
  test::LayerSequence seq = test::random_onehot_sequence(hq, hkv, n, d, 13);
  seq.query = seq.query.to(at::kDouble);
  seq.key = seq.key.to(at::kDouble);
  seq.key_pre_rope = seq.key;
  seq.value = seq.value.to(at::kDouble);
  const lrqk::FactorInit init = lrqk::random_init(/*seed=*/0, 1, hq, s, rank, seq.query.options());

  const std::filesystem::path dir = std::filesystem::path(test::env("KVBENCH_TEST_TMP", "/tmp")) / "lrqk_reference";
  test::recreate_dir(dir);
  const nlohmann::json manifest = {
      {"hq", hq}, {"hkv", hkv}, {"prompt", s}, {"steps", steps}, {"head_dim", d}, {"rank", rank},
      {"active", active}, {"lite", lite}, {"max_iter", {2, 2}}, {"tol", {1e-2, 1e-2}},
      {"tensors", {{"query", {1, hq, n, d}}, {"key", {1, hkv, n, d}}, {"a_q0", {1, hq, s, rank}}, {"a_k0", {1, hq, s, rank}}}}};
  std::ofstream(dir / "manifest.json") << manifest.dump();
  write_f64(dir / "query.f64", seq.query);
  write_f64(dir / "key.f64", seq.key);
  write_f64(dir / "a_q0.f64", init.a_q);
  write_f64(dir / "a_k0.f64", init.a_k);
  const std::filesystem::path out = dir / "reference.json";
  const test::CommandResult r = test::run_command(test::reference_script("lrqk_reference.py", {dir.string(), out.string()}));
  ASSERT_EQ(r.code, 0) << r.out;
  const nlohmann::json ref = test::read_json_file(out);

  // Factors. Both sides evaluate the same fp64 operations in the same order (matmuls with inner
  // dimension <= S = 40, r x r LU solves); only the summation/blocking order inside each op may
  // differ, <= S * eps64 ~ 5e-15 relative per op. Each solve amplifies a relative perturbation by at
  // most its condition number; the prefill runs <= 2 iterations of 4 solves plus 2 final ones, and
  // the systems here are well conditioned (asserted below on the final Gram matrices: kappa <= 1e2,
  // as expected of Gaussian S x r factors with S = 10 r). Two amplification stages per iteration
  // give <= kappa^4 * 5e-15 ~ 5e-7 relative at worst; 1e-6 bounds it, and a wrong port (another
  // update order, a missing term) differs by O(1).
  const at::Tensor k_rep = seq.key.narrow(2, 0, s).repeat_interleave(group, 1);
  const lrqk::Factors f = lrqk::fit_prefill(seq.query.narrow(2, 0, s), k_rep, init.a_q, init.a_k, 2, 1e-2);
  EXPECT_EQ(f.iterations, ref["factors"]["iterations"].get<int64_t>());
  for (const at::Tensor& a : {f.a_q, f.a_k}) {
    const double kappa = at::linalg_cond(at::matmul(a.transpose(-1, -2), a)).max().item<double>();
    ASSERT_LE(kappa, 1e2) << "ill-conditioned test data; choose another seed";
  }
  const double worst = std::max({relative_difference(f.a_q, test::tensor_from_json(ref["factors"]["a_q"], {1, hq, s, rank}, at::kDouble)),
                                  relative_difference(f.a_k, test::tensor_from_json(ref["factors"]["a_k"], {1, hq, s, rank}, at::kDouble)),
                                  relative_difference(f.b_q, test::tensor_from_json(ref["factors"]["b_q"], {1, hq, rank, d}, at::kDouble)),
                                  relative_difference(f.b_k, test::tensor_from_json(ref["factors"]["b_k"], {1, hq, rank, d}, at::kDouble))});
  std::printf("[lrqk reference] factors: max relative difference %.3g (%lld iterations)\n", worst,
              static_cast<long long>(f.iterations));
  EXPECT_LE(worst, 1e-6);

  // Chosen tokens: drive the method (fp64 in, so its factor algebra runs in fp64) and read each
  // step's attended rows from the one-hot outputs: the lite ring (last `lite` tokens) plus the
  // active slots, which must be the port's hit table.
  ASSERT_EQ(ref["steps"].size(), static_cast<size_t>(steps));
  KVShape shape{1, hq, hkv, d};
  auto method = test::make_method("lrqk", {{"active", active}, {"lite", lite}, {"rank", rank}, {"seed", 0}});
  method->reset({shape, nullptr, nullptr}, 1, n);
  method->attend(seq.call(0, s, AttentionPhase::kPrefill));
  int64_t previous_misses = 0;
  for (int64_t t = 0; t < steps; ++t) {
    const nlohmann::json& step = ref["steps"][static_cast<size_t>(t)];
    // A top-k boundary closer than 1e-6 (relative to the scores' scale, ~1) could flip between two
    // fp64 computations that differ by <= 1e-6 relative in their factors; the seed keeps them apart.
    if (!step["margins"].is_null())
      for (const auto& margin : step["margins"]) ASSERT_GT(margin.get<double>(), 1e-4) << "near tie at step " << t;
    const at::Tensor output = method->attend(seq.call(s + t, 1, AttentionPhase::kDecode));
    const int64_t tokens = s + t + 1;
    int64_t refilled = 0;
    for (int64_t h = 0; h < hq; ++h) {
      std::set<int64_t> chosen;
      for (int64_t p : test::attended_positions(output, h))
        if (p < tokens - lite) chosen.insert(p);
      const auto hits = step["hits"][static_cast<size_t>(h)].get<std::vector<int64_t>>();
      EXPECT_EQ(chosen, std::set<int64_t>(hits.begin(), hits.end())) << "step " << t << " head " << h;
      for (int64_t x : step["refill"][static_cast<size_t>(h)].get<std::vector<int64_t>>()) refilled += x;
    }
    const KVMemory m = method->memory();
    EXPECT_EQ(m.cache_lookups - m.cache_hits - previous_misses, refilled) << "misses at step " << t;
    previous_misses = m.cache_lookups - m.cache_hits;
  }
  std::printf("[lrqk reference] %lld decode steps, %lld rows fetched, selections equal\n", static_cast<long long>(steps),
              static_cast<long long>(previous_misses));
  EXPECT_GT(previous_misses, 0) << "no step changed the selection: the comparison would be weak";
}

}  // namespace
}  // namespace kvbench
