// SPDX-License-Identifier: Apache-2.0
// Parity of kvbench::Tokenizer with the Hugging Face `tokenizers` library on a > 5 MB corpus
// (essays, LongBench EN+ZH, MiniLongBench, GSM8K, LongProc HTML, llama.cpp vectors, adversarial
// strings, invalid UTF-8). The reference ids/decodes are produced at test time by
// scripts/reference/hf_tokenizer_reference.py running in the project venv.
#include <gtest/gtest.h>

#include <filesystem>

#include "harness/tokenizer/tokenizer.h"
#include "harness/tokenizer/utf8.h"
#include "tests/unit/tokenizer_test_util.h"

namespace kvbench {
namespace {

struct Doc {
  bool valid;
  std::string bytes;
};

class TokenizerParity : public ::testing::TestWithParam<const char*> {
 public:
  static std::string out_dir() { return test::tmp_dir() + "/tokenizer_parity"; }
  static std::string tokenizer_path(const std::string& name) {
    const std::string d = test::data_dir() + "/tokenizers/";
    if (name == "gpt2_digits") return out_dir() + "/gpt2_digits.tokenizer.json";
    if (name == "llama3") return d + "llama3/tokenizer.json";
    if (name == "llama3_1") return d + "llama3-lenml_llama3_1/tokenizer.json";
    return d + "qwen3/tokenizer.json";
  }
  static void SetUpTestSuite() {
    std::filesystem::create_directories(out_dir());
    std::string cmd = test::python() + " " + test::source_dir() +
                      "/scripts/reference/hf_tokenizer_reference.py corpus --data-dir " +
                      test::data_dir() + " --out-dir " + out_dir();
    for (const char* n : {"llama3", "llama3_1", "qwen3"})
      cmd += std::string(" --tokenizer ") + n + "=" + tokenizer_path(n);
    // SmolLM2-style GPT-2 regex + Digits pre-tokenization on Qwen's vocabulary (file written by
    // the reference script, read by both sides).
    cmd += " --derive-gpt2 gpt2_digits=" + tokenizer_path("qwen3");
    ASSERT_EQ(test::run_command(cmd), 0) << cmd;
    test::BinReader r(out_dir() + "/corpus.bin");
    const uint32_t n = r.u32();
    docs_ = new std::vector<Doc>();
    for (uint32_t i = 0; i < n; ++i) {
      const bool valid = r.u8() != 0;
      docs_->push_back({valid, r.str()});
    }
  }
  static void TearDownTestSuite() {
    delete docs_;
    docs_ = nullptr;
  }
  static std::vector<Doc>* docs_;
};
std::vector<Doc>* TokenizerParity::docs_ = nullptr;

std::string show(const std::vector<int32_t>& v, size_t around) {
  std::string s;
  const size_t b = around > 8 ? around - 8 : 0;
  for (size_t i = b; i < v.size() && i < around + 8; ++i) s += std::to_string(v[i]) + " ";
  return s;
}

size_t first_difference(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  return i;
}

TEST_P(TokenizerParity, EncodeDecodeMatchHuggingFace) {
  ASSERT_NE(docs_, nullptr);
  const std::string name = GetParam();
  const size_t stride = name == "gpt2_digits" ? 4 : 1;  // DERIVED_STRIDE in the script
  const Tokenizer tok = Tokenizer::load(tokenizer_path(name));
  test::BinReader ids(out_dir() + "/" + name + ".ids.bin");
  test::BinReader special(out_dir() + "/" + name + ".ids_special.bin");
  test::BinReader dec(out_dir() + "/" + name + ".decode.bin");
  ASSERT_EQ(ids.u32(), (docs_->size() + stride - 1) / stride);
  const uint32_t n_special = special.u32();
  size_t bytes = 0, tokens = 0, mismatches = 0, invalid_docs = 0, checked = 0;
  for (size_t i = 0; i < docs_->size(); i += stride, ++checked) {
    const Doc& doc = (*docs_)[i];
    const std::vector<int32_t> want = ids.ids();
    const std::vector<int32_t> got = tok.encode(doc.bytes, false);
    bytes += doc.bytes.size();
    tokens += got.size();
    if (got != want) {
      const size_t at = first_difference(got, want);
      if (++mismatches <= 5)
        ADD_FAILURE() << name << " doc " << i << " (" << doc.bytes.size() << " bytes): ids differ at "
                      << at << "\n  kvbench: " << show(got, at) << "\n  hf:      " << show(want, at)
                      << "\n  text: " << doc.bytes.substr(0, 200);
    }
    const std::string want_keep = dec.str(), want_skip = dec.str();
    EXPECT_EQ(tok.decode(want, false), want_keep) << name << " doc " << i;
    EXPECT_EQ(tok.decode(want, true), want_skip) << name << " doc " << i;
    if (doc.valid) {
      // Round trip (Qwen normalizes to NFC first, so its round trip gives the NFC form).
      EXPECT_EQ(tok.decode(got, false), tok.normalize(doc.bytes)) << name << " doc " << i;
      EXPECT_EQ(want_keep, tok.normalize(doc.bytes)) << name << " doc " << i;
    } else {
      ++invalid_docs;
      EXPECT_EQ(want_keep, utf8::repair(doc.bytes)) << name << " doc " << i;
    }
    if (checked < n_special) {
      EXPECT_EQ(tok.encode(doc.bytes, true), special.ids()) << name << " doc " << i;
    }
  }
  EXPECT_EQ(mismatches, 0u);
  // The real tokenizer files see the whole corpus (>= 5 MB); the derived one every 4th document.
  EXPECT_GE(bytes, stride == 1 ? 5u * 1000 * 1000 : 1u * 1000 * 1000);
  EXPECT_GT(invalid_docs, 100u / stride);
  std::printf("%s: %zu documents, %zu bytes, %zu tokens, %zu mismatches\n", name.c_str(),
              docs_->size(), bytes, tokens, mismatches);
}

INSTANTIATE_TEST_SUITE_P(Files, TokenizerParity, ::testing::Values("llama3", "llama3_1", "qwen3", "gpt2_digits"));

}  // namespace
}  // namespace kvbench
