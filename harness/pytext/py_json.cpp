// SPDX-License-Identifier: Apache-2.0
// json.loads semantics (CPython 3.11 _json scanner with strict=True); see py_json.h.
#include "harness/pytext/py_json.h"

#include "harness/pytext/unicode_text.h"

namespace kvbench {
namespace {

constexpr size_t kMaxIntDigits = 4300;  // sys.int_info.default_max_str_digits
constexpr int kMaxDepth = 900;          // below CPython's recursion limit (RecursionError)

class Parser {
 public:
  explicit Parser(std::u32string text) : s_(std::move(text)) {}

  std::optional<PyJson> parse_document() {
    skip_ws();
    PyJson value;
    if (!parse_value(&value, 0)) return std::nullopt;
    skip_ws();
    if (pos_ != s_.size()) return std::nullopt;  // "Extra data"
    return value;
  }

 private:
  void skip_ws() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }
  bool literal(const char32_t* word) {
    size_t n = std::char_traits<char32_t>::length(word);
    if (s_.compare(pos_, n, word) != 0) return false;
    pos_ += n;
    return true;
  }
  static bool digit(char32_t c) { return c >= '0' && c <= '9'; }

  bool parse_value(PyJson* out, int depth) {
    if (depth > kMaxDepth || pos_ >= s_.size()) return false;
    char32_t c = s_[pos_];
    if (c == '"') {
      out->kind = PyJson::Kind::kString;
      ++pos_;
      return parse_string(&out->text);
    }
    if (c == '{') return parse_object(out, depth);
    if (c == '[') return parse_array(out, depth);
    if (c == 'n' && literal(U"null")) {
      out->kind = PyJson::Kind::kNull;
      return true;
    }
    if ((c == 't' && literal(U"true")) || (c == 'f' && literal(U"false"))) {
      out->kind = PyJson::Kind::kBool;
      out->boolean = c == 't';
      return true;
    }
    // Python's parse_constant: NaN, Infinity, -Infinity are floats.
    if ((c == 'N' && literal(U"NaN")) || (c == 'I' && literal(U"Infinity")) ||
        (c == '-' && literal(U"-Infinity"))) {
      out->kind = PyJson::Kind::kFloat;
      return true;
    }
    return parse_number(out);
  }

  // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?, ASCII digits only.
  bool parse_number(PyJson* out) {
    size_t start = pos_, i = pos_;
    if (i < s_.size() && s_[i] == '-') ++i;
    if (i >= s_.size() || !digit(s_[i])) return false;
    if (s_[i] == '0') {
      ++i;
    } else {
      while (i < s_.size() && digit(s_[i])) ++i;
    }
    size_t int_end = i;
    bool is_float = false;
    if (i + 1 < s_.size() && s_[i] == '.' && digit(s_[i + 1])) {
      i += 2;
      while (i < s_.size() && digit(s_[i])) ++i;
      is_float = true;
    }
    if (i < s_.size() && (s_[i] == 'e' || s_[i] == 'E')) {
      size_t j = i + 1;
      if (j < s_.size() && (s_[j] == '-' || s_[j] == '+')) ++j;
      if (j < s_.size() && digit(s_[j])) {
        while (j < s_.size() && digit(s_[j])) ++j;
        i = j;
        is_float = true;
      }
    }
    pos_ = i;
    if (is_float) {
      out->kind = PyJson::Kind::kFloat;
      out->number = u32_to_utf8(s_.substr(start, i - start));
      return true;
    }
    bool negative = s_[start] == '-';
    std::string digits = u32_to_utf8(s_.substr(start + (negative ? 1 : 0), int_end - start -
                                                                          (negative ? 1 : 0)));
    if (digits.size() > kMaxIntDigits) return false;  // int() raises ValueError
    out->kind = PyJson::Kind::kInt;
    out->number = (negative && digits != "0") ? "-" + digits : digits;
    return true;
  }

  static int hex_value(char32_t c) {
    if (c >= '0' && c <= '9') return static_cast<int>(c - '0');
    if (c >= 'a' && c <= 'f') return static_cast<int>(c - 'a' + 10);
    if (c >= 'A' && c <= 'F') return static_cast<int>(c - 'A' + 10);
    return -1;
  }
  bool hex4(size_t at, char32_t* value) {
    if (at + 4 > s_.size()) return false;
    char32_t v = 0;
    for (size_t k = 0; k < 4; ++k) {
      int h = hex_value(s_[at + k]);
      if (h < 0) return false;
      v = (v << 4) | static_cast<char32_t>(h);
    }
    *value = v;
    return true;
  }

  bool parse_string(std::u32string* out) {
    while (true) {
      if (pos_ >= s_.size()) return false;  // "Unterminated string"
      char32_t c = s_[pos_++];
      if (c == '"') return true;
      if (c < 0x20) return false;  // strict: "Invalid control character"
      if (c != '\\') {
        out->push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char32_t e = s_[pos_++];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          char32_t v = 0;
          if (!hex4(pos_, &v)) return false;
          pos_ += 4;
          // A high surrogate followed by an escaped low surrogate combines; anything else stays.
          if (v >= 0xD800 && v <= 0xDBFF && pos_ + 6 <= s_.size() && s_[pos_] == '\\' &&
              s_[pos_ + 1] == 'u') {
            char32_t low = 0;
            if (!hex4(pos_ + 2, &low)) return false;
            if (low >= 0xDC00 && low <= 0xDFFF) {
              v = 0x10000 + (((v - 0xD800) << 10) | (low - 0xDC00));
              pos_ += 6;
            }
          }
          out->push_back(v);
          break;
        }
        default: return false;  // "Invalid \\escape"
      }
    }
  }

  bool parse_array(PyJson* out, int depth) {
    out->kind = PyJson::Kind::kArray;
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == ']') {
      ++pos_;
      return true;
    }
    while (true) {
      PyJson item;
      if (!parse_value(&item, depth + 1)) return false;
      out->items.push_back(std::move(item));
      skip_ws();
      if (pos_ >= s_.size()) return false;
      if (s_[pos_] == ']') {
        ++pos_;
        return true;
      }
      if (s_[pos_] != ',') return false;
      ++pos_;
      skip_ws();
    }
  }

  bool parse_object(PyJson* out, int depth) {
    out->kind = PyJson::Kind::kObject;
    ++pos_;
    skip_ws();
    if (pos_ < s_.size() && s_[pos_] == '}') {
      ++pos_;
      return true;
    }
    while (true) {
      if (pos_ >= s_.size() || s_[pos_] != '"') return false;
      ++pos_;
      std::u32string key;
      if (!parse_string(&key)) return false;
      skip_ws();
      if (pos_ >= s_.size() || s_[pos_] != ':') return false;
      ++pos_;
      skip_ws();
      PyJson value;
      if (!parse_value(&value, depth + 1)) return false;
      bool replaced = false;
      for (auto& field : out->fields)
        if (field.first == key) {
          field.second = std::move(value);
          replaced = true;
          break;
        }
      if (!replaced) out->fields.emplace_back(std::move(key), std::move(value));
      skip_ws();
      if (pos_ >= s_.size()) return false;
      if (s_[pos_] == '}') {
        ++pos_;
        return true;
      }
      if (s_[pos_] != ',') return false;
      ++pos_;
      skip_ws();
    }
  }

  std::u32string s_;
  size_t pos_ = 0;
};

}  // namespace

const PyJson* PyJson::find(const std::u32string& key) const {
  for (const auto& field : fields)
    if (field.first == key) return &field.second;
  return nullptr;
}

std::optional<PyJson> py_json_loads(const std::string& text) {
  std::u32string decoded = utf8_to_u32(text);
  if (!decoded.empty() && decoded[0] == U'\uFEFF') return std::nullopt;  // "Unexpected UTF-8 BOM"
  return Parser(std::move(decoded)).parse_document();
}

}  // namespace kvbench
