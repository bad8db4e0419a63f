// SPDX-License-Identifier: Apache-2.0
// The embedded model's conversion (scripts/convert_gguf_model.py, run by setup.sh) against
// transformers' own GGUF loader on the same file: runs scripts/reference/check_gguf_conversion.py
// with the reference python and checks the JSON it writes field by field.
#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>

namespace kvbench {
namespace {

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) : fallback;
}

TEST(GgufConversion, MatchesTransformersGgufLoader) {
  const std::string python = env_or("KVBENCH_PYTHON", "python3");
  const std::string source = env_or("KVBENCH_SOURCE_DIR", ".");
  const std::string out = env_or("KVBENCH_TEST_TMP", "/tmp") + "/gguf_conversion.json";
  std::remove(out.c_str());
  // 32 greedy steps per prompt (the check's minimum for the issue), stderr kept for the CI log.
  const std::string script = source + "/scripts/reference/check_gguf_conversion.py";
  const std::string cmd = "'" + python + "' '" + script + "' --steps 32 --json-out '" + out + "' > /dev/null";
  const int rc = std::system(cmd.c_str());
  std::ifstream in(out);
  ASSERT_TRUE(in.good()) << "no report at " << out << " (command: " << cmd << ", status " << rc << ")";
  const nlohmann::json report = nlohmann::json::parse(in);
  ASSERT_FALSE(report.contains("error")) << report["error"];

  const auto& tok = report.at("tokenizer");
  EXPECT_TRUE(tok.at("same_vocab").get<bool>());
  EXPECT_TRUE(tok.at("chat_templates_equal").get<bool>());
  EXPECT_TRUE(tok.at("mismatches").empty()) << tok.at("mismatches").dump();
  EXPECT_TRUE(tok.at("roundtrip_failures").empty()) << tok.at("roundtrip_failures").dump();
  EXPECT_TRUE(tok.at("chat_render_mismatches").empty()) << tok.at("chat_render_mismatches").dump();
  EXPECT_GE(tok.at("texts").get<int>(), 50);
  EXPECT_TRUE(tok.at("ok").get<bool>());

  const auto& model = report.at("model");
  EXPECT_TRUE(model.at("param_key_mismatch").empty());
  EXPECT_EQ(model.at("max_abs_weight_diff").get<double>(), 0.0);
  EXPECT_TRUE(model.at("config_diff").empty()) << model.at("config_diff").dump();
  EXPECT_TRUE(model.at("ok").get<bool>());
  ASSERT_EQ(model.at("logits").size(), 3u);
  for (const auto& [name, l] : model.at("logits").items()) {
    EXPECT_LE(l.at("max_abs_diff").get<double>(), 1e-4) << name;
    EXPECT_GT(l.at("max_abs_logit").get<double>(), 1.0) << name;  // real logits, not zeros
  }
  for (const auto& [name, g] : model.at("greedy").items()) {
    EXPECT_TRUE(g.at("equal").get<bool>()) << name;
    EXPECT_EQ(g.at("tokens").size(), 32u) << name;
  }
  EXPECT_TRUE(report.at("ok").get<bool>());
  EXPECT_EQ(rc, 0);
}

}  // namespace
}  // namespace kvbench
