// SPDX-License-Identifier: Apache-2.0
// The Python str semantics of harness/pytext/unicode_text.h against CPython itself (scripts/reference/
// unicode_reference.py) over every Unicode code point: str.lower, str.isspace, str.split, and re's
// \w, \d, \s; plus final-sigma contexts.
#include "harness/pytext/unicode_text.h"
#include "tests/unit/parity_util.h"

#include <gtest/gtest.h>

namespace kvbench {
namespace {

TEST(UnicodeParity, EveryCodePointMatchesCPython) {
  const std::string dir = test::tmp_dir();
  ASSERT_TRUE(test::run_reference("unicode_reference.py", {dir + "/unicode_out.jsonl"}));
  std::vector<nlohmann::json> rows = test::read_jsonl(dir + "/unicode_out.jsonl");
  ASSERT_GT(rows.size(), 60u);
  size_t checked = 0;
  for (size_t r = 0; r + 1 < rows.size(); ++r) {
    std::u32string text = utf8_to_u32(rows[r]["text"].get<std::string>());
    std::string flags = rows[r]["flags"].get<std::string>();
    ASSERT_EQ(text.size(), flags.size());
    EXPECT_EQ(u32_to_utf8(py_lower(text)), rows[r]["lower"].get<std::string>()) << "block " << rows[r]["start"];
    EXPECT_EQ(py_split_whitespace(text).size(), rows[r]["split"].get<size_t>()) << "block " << rows[r]["start"];
    for (size_t i = 0; i < text.size(); ++i) {
      int f = flags[i] - 'a';
      char32_t c = text[i];
      int got = int(py_re_is_word(c)) + 2 * int(py_re_is_digit(c)) + 4 * int(py_re_is_space(c)) + 8 * int(py_isspace(c));
      EXPECT_EQ(got, f) << "U+" << std::hex << static_cast<uint32_t>(c);
      ++checked;
    }
  }
  const nlohmann::json& probes = rows.back();
  for (size_t i = 0; i < probes["probes"].size(); ++i)
    EXPECT_EQ(py_lower_utf8(probes["probes"][i].get<std::string>()), probes["lower"][i].get<std::string>()) << i;
  std::printf("[parity] unicode: %zu code points\n", checked);
}

}  // namespace
}  // namespace kvbench
