// SPDX-License-Identifier: Apache-2.0
// LongBench's middle truncation (pred.py: encode, keep int(max/2) tokens from each end, decode
// with skip_special_tokens) vs the same code run with transformers at test time.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "harness/tokenizer/tokenizer.h"
#include "harness/tokenizer/truncation.h"
#include "tests/unit/tokenizer_test_util.h"

namespace kvbench {
namespace {

TEST(TruncationParity, LongBenchMiddleTruncationMatchesTransformers) {
  const std::string out = test::tmp_dir() + "/truncation_parity.json";
  std::filesystem::create_directories(test::tmp_dir());
  const std::string cmd = test::python() + " " + test::source_dir() +
                          "/scripts/reference/hf_tokenizer_reference.py truncation --data-dir " +
                          test::data_dir() + " --out " + out;
  ASSERT_EQ(test::run_command(cmd), 0) << cmd;
  const auto cases = nlohmann::json::parse(test::read_file(out));
  std::map<std::string, std::unique_ptr<Tokenizer>> toks;
  int truncated = 0;
  for (const auto& c : cases) {
    auto& tok = toks[c["model_dir"]];
    if (!tok) tok = std::make_unique<Tokenizer>(Tokenizer::load(c["model_dir"]));
    const std::string prompt = c["prompt"];
    const size_t max_length = c["max_length"];
    EXPECT_EQ(tok->encode(prompt, true).size(), c["tokens"].get<size_t>()) << c["model_dir"];
    EXPECT_EQ(truncate_middle_longbench(*tok, prompt, max_length), c["truncated"].get<std::string>())
        << c["model_dir"] << " max_length " << max_length;
    truncated += c["tokens"].get<size_t>() > max_length;
  }
  EXPECT_GT(truncated, 20);
}

}  // namespace
}  // namespace kvbench
