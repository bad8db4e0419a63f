// SPDX-License-Identifier: Apache-2.0
// The C++ jieba segmenter against PyPI jieba.cut(text, cut_all=False) (scripts/reference/
// jieba_reference.py) on the Chinese LongBench texts in ../shared/data (multifieldqa_zh and
// passage_retrieval_zh contexts, MiniLongBench dureader / vcsum / lsht prompts and predictions) plus
// mixed-script edge cases: the token lists must be identical. Also checks that the vendored
// dictionary is byte-identical to the package's.
#include "metrics/jieba_segmenter.h"
#include "harness/pytext/py_regex.h"
#include "tests/unit/parity_util.h"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include <chrono>

namespace kvbench {
namespace {

std::string sha256_hex(const std::string& data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), digest);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) out += {hex[b >> 4], hex[b & 15]};
  return out;
}

TEST(JiebaParity, TokensIdenticalToPythonJieba) {
  std::vector<nlohmann::json> texts;
  size_t chars = 0;
  auto add = [&](const std::string& id, const std::string& text) {
    std::string clean = sanitize_utf8(text);
    chars += utf8_to_u32(clean).size();
    texts.push_back({{"id", id}, {"text", clean}});
  };
  for (const char* name : {"multifieldqa_zh", "passage_retrieval_zh"}) {
    size_t i = 0;
    for (const auto& row : test::read_jsonl_text(
             test::read_gz(test::data_path(std::string("longbench/data/") + name + ".jsonl.gz")))) {
      if (i >= 120) break;
      add(std::string(name) + "#" + std::to_string(i), row.at("context").get<std::string>());
      add(std::string(name) + "#a" + std::to_string(i), row.at("answers")[0].get<std::string>());
      ++i;
    }
  }
  for (const char* name : {"dureader", "vcsum", "lsht", "multifieldqa_zh"}) {
    nlohmann::json data = nlohmann::json::parse(test::read_gz(
        test::data_path(std::string("longbench/minilongbench/MiniLongBench_") + name + ".json.gz")));
    for (const auto& kv : data.items()) {
      add(std::string(name) + "#p" + kv.key(), kv.value().at("origin_prompt").get<std::string>());
      add(std::string(name) + "#r" + kv.key(), kv.value().at("prediction").get<std::string>());
    }
  }
  const std::vector<std::string> edges = {
      "", " ", "\r\n", "\r\r\n\n", "abc123", "3.14%\xE7\x9A\x84", "C++\xE5\x92\x8C" "C#", "AT&T",
      "\xE4\xB8\x80\xE4\xBA\x8C\xE4\xB8\x89", "\xE5\x8F\xB0\xE6\xB9\xBE\xE6\x80\xBB\xE7\xBB\x9F\xE8\xB5\xB5\xE6\x99\x93\xE4\xB8\x9C",
      "\xEF\xBC\x91\xEF\xBC\x92\xEF\xBC\x93\xE5\xB9\xB4", "\xE3\x80\x80\xE3\x80\x80\xE4\xB8\xAD",
      "e-mail_x.y", "\xF0\x9F\x98\x80\xE4\xB8\xAD", "\xE9\xBE\xA5\xE9\xBE\xA6", "a\tb\nc"};
  for (size_t i = 0; i < edges.size(); ++i) add("edge#" + std::to_string(i), edges[i]);

  const std::string dir = test::tmp_dir();
  test::write_jsonl(dir + "/jieba_texts.jsonl", texts);
  ASSERT_TRUE(test::run_reference("jieba_reference.py", {dir + "/jieba_texts.jsonl", dir + "/jieba_out.jsonl"}));
  std::vector<nlohmann::json> out = test::read_jsonl(dir + "/jieba_out.jsonl");
  ASSERT_EQ(out.size(), texts.size() + 1);
  EXPECT_EQ(sha256_hex(test::read_gz(test::env_or_fail("KVBENCH_SOURCE_DIR") +
                                     "/metrics/data/jieba/dict.txt.gz")),
            out[0]["dict_sha256"].get<std::string>());

  const JiebaSegmenter& jieba = JiebaSegmenter::default_instance();
  size_t tokens = 0, mismatched = 0;
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < texts.size(); ++i) {
    std::vector<std::string> got;
    for (const auto& t : jieba.cut(utf8_to_u32(texts[i]["text"].get<std::string>())))
      got.push_back(u32_to_utf8(t));
    std::vector<std::string> want = out[i + 1]["tokens"].get<std::vector<std::string>>();
    tokens += want.size();
    if (got != want) {
      ++mismatched;
      size_t k = 0;
      while (k < got.size() && k < want.size() && got[k] == want[k]) ++k;
      ADD_FAILURE() << texts[i]["id"] << ": first difference at token " << k << ": C++ '"
                    << (k < got.size() ? got[k] : "<end>") << "' vs Python '"
                    << (k < want.size() ? want[k] : "<end>") << "'";
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[parity] jieba: %zu texts, %zu characters, %zu tokens, %zu mismatched, %.2f s\n",
              texts.size(), chars, tokens, mismatched, seconds);
}

}  // namespace
}  // namespace kvbench
