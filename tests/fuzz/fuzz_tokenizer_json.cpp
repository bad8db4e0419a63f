// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a tokenizer.json file through Tokenizer::load. A file that loads must then encode
// and decode a fixed text (ASCII, multi-byte UTF-8, invalid UTF-8, special-token spellings) without
// error, giving ids inside [0, vocab_size).
#include "harness/tokenizer/tokenizer.h"
#include "tests/fuzz/fuzz_support.h"

#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvbench;
  const std::filesystem::path path = fuzz::scratch_dir() / "tokenizer.json";
  fuzz::write_file(path, data, size);
  std::optional<Tokenizer> tokenizer;
  try {
    tokenizer.emplace(Tokenizer::load(path.string()));
  } catch (const Error& e) {
    fuzz::expect_clean_error(e, {ErrorKind::kInput});
    return 0;
  }
  static const std::string_view kTexts[] = {
      "Hello world! 12345  tabs\tand\nnewlines",
      "Grüße, 世界 — ﬁ ½ 🙂",
      "\xff\xfe invalid \xc3 utf-8 \xe2\x82",
      "<|begin_of_text|><|im_start|>user<|im_end|><s></s>",
  };
  for (std::string_view text : kTexts) {
    for (bool special : {false, true}) {
      const std::vector<int32_t> ids = tokenizer->encode(text, special);
      for (int32_t id : ids)
        if (id < 0 || id >= tokenizer->vocab_size())
          fuzz::fail("encode gave id " + std::to_string(id) + " outside the vocabulary");
      (void)tokenizer->decode(ids, special);
      (void)tokenizer->normalize(text);
    }
  }
  return 0;
}
