// SPDX-License-Identifier: Apache-2.0
// Tokenizer encode/decode pipeline (see tokenizer.h); loading is in tokenizer_json.cpp.
#include "harness/tokenizer/tokenizer.h"

#include <simdjson.h>
#include <unicode/uchar.h>

#include <deque>
#include <filesystem>

#include "harness/error.h"
#include "harness/tokenizer/byte_level.h"
#include "harness/tokenizer/tokenizer_parts.h"
#include "harness/tokenizer/utf8.h"

namespace kvbench {

namespace {

// Pre-token -> ids already emitted for it during one encode() call: (position, count) in the
// output vector. Keys point into the text being encoded (or into `owned` normalized copies), so
// the cache lives exactly as long as one call; no locking, no cross-call state.
class WordCache {
 public:
  std::deque<std::string> owned;  // normalized segments the keys may point into

  bool lookup(std::string_view word, std::vector<int32_t>& out) const {
    if (slots_.empty()) return false;
    const uint64_t h = hash_bytes(word);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.data == nullptr) return false;
      if (s.hash == h && std::string_view(s.data, s.len) == word) {
        out.insert(out.end(), out.begin() + s.pos, out.begin() + s.pos + s.count);
        return true;
      }
    }
  }
  void insert(std::string_view word, uint32_t pos, uint32_t count) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    const uint64_t h = hash_bytes(word);
    size_t i = h & mask_;
    while (slots_[i].data != nullptr) i = (i + 1) & mask_;
    slots_[i] = {word.data(), uint32_t(word.size()), pos, count, h};
    ++size_;
  }

 private:
  struct Slot {
    const char* data = nullptr;
    uint32_t len = 0, pos = 0, count = 0;
    uint64_t hash = 0;
  };
  void grow() {
    std::vector<Slot> old = std::move(slots_);
    slots_.assign(old.empty() ? 4096 : old.size() * 2, Slot{});
    mask_ = slots_.size() - 1;
    for (const Slot& s : old) {
      if (!s.data) continue;
      size_t i = s.hash & mask_;
      while (slots_[i].data != nullptr) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }
  std::vector<Slot> slots_;
  size_t mask_ = 0, size_ = 0;
};

constexpr size_t kCacheMinBytes = 512;  // shorter inputs skip the cache

// Hugging Face's Digits pre-tokenizer: runs of numeric characters (Rust char::is_numeric, i.e.
// general category Nd, Nl or No) become their own pieces, one per character when `individual`.
bool is_numeric(char32_t c) {
  if (c < 0x80) return c >= '0' && c <= '9';
  return (U_GET_GC_MASK(UChar32(c)) & U_GC_N_MASK) != 0;
}

void split_digits(std::string_view text, Span span, bool individual, std::vector<Span>& out) {
  const uint32_t end = span.begin + span.size;
  uint32_t i = span.begin;
  // Length of the character at k and whether it is numeric (text is valid UTF-8).
  auto at = [&](uint32_t k, bool* numeric) {
    const size_t n = utf8::valid_sequence_length(text, k);
    *numeric = is_numeric(utf8::decode_at(text, k, n));
    return uint32_t(n);
  };
  while (i < end) {
    bool numeric = false;
    uint32_t j = i + at(i, &numeric);
    const bool first = numeric;
    if (!(first && individual)) {
      while (j < end) {
        const uint32_t n = at(j, &numeric);
        if (numeric != first) break;
        j += n;
      }
    }
    out.push_back({i, j - i});
    i = j;
  }
}

// Splits `text` at the added tokens `matcher` finds: the text between them goes to `encode_text`,
// each token's id straight to `out` (an added token is never split or merged).
template <class EncodeText>
void split_at_added_tokens(const AddedTokenMatcher& matcher, std::string_view text,
                           std::vector<int32_t>& out, EncodeText encode_text) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t at = 0;
    const AddedToken* tok = matcher.find(text, pos, &at);
    const size_t seg_end = tok ? at : text.size();
    if (seg_end > pos) encode_text(text.substr(pos, seg_end - pos));
    if (!tok) break;
    out.push_back(tok->id);
    pos = at + tok->content.size();
  }
}

}  // namespace

Tokenizer::Tokenizer(std::unique_ptr<TokenizerParts> parts) : p_(std::move(parts)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::load(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path file = path;
  std::error_code ec;
  if (fs::is_directory(file, ec)) file /= "tokenizer.json";
  KVBENCH_CHECK_INPUT(fs::is_regular_file(file, ec), file.string(),
                      ": no such file (expected a tokenizer.json or a model folder holding one)");
  const fs::path config = file.parent_path() / "tokenizer_config.json";
  return Tokenizer(load_tokenizer_parts(file.string(),
                                        fs::is_regular_file(config, ec) ? config.string() : ""));
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special_tokens) const {
  KVBENCH_CHECK(text.size() < (size_t(1) << 32) - 1, "Tokenizer::encode: text of ", text.size(),
                " bytes; at most 4 GiB is supported");
  std::string repaired;
  if (!simdjson::validate_utf8(text.data(), text.size())) {
    repaired = utf8::repair(text);
    text = repaired;
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 8);
  if (add_special_tokens) out.insert(out.end(), p_->prefix_ids.begin(), p_->prefix_ids.end());
  WordCache cache;
  WordCache* cache_ptr = text.size() >= kCacheMinBytes ? &cache : nullptr;
  split_at_added_tokens(p_->raw_matcher, text, out,
                        [&](std::string_view segment) { encode_segment(segment, out, cache_ptr); });
  if (add_special_tokens) out.insert(out.end(), p_->suffix_ids.begin(), p_->suffix_ids.end());
  return out;
}

void Tokenizer::encode_segment(std::string_view text, std::vector<int32_t>& out,
                               void* cache_v) const {
  auto* cache = static_cast<WordCache*>(cache_v);
  std::string normalized;
  if (p_->normalizer.normalize(text, normalized)) {
    if (cache) {
      cache->owned.push_back(std::move(normalized));
      text = cache->owned.back();
    } else {
      text = normalized;
    }
  }
  if (p_->normalized_matcher.empty()) {
    encode_pretokenized(text, out, cache);
    return;
  }
  split_at_added_tokens(p_->normalized_matcher, text, out,
                        [&](std::string_view segment) { encode_pretokenized(segment, out, cache); });
}

void Tokenizer::encode_pretokenized(std::string_view text, std::vector<int32_t>& out,
                                    void* cache_v) const {
  auto* cache = static_cast<WordCache*>(cache_v);
  std::vector<Span> spans{{0, uint32_t(text.size())}}, next;
  for (const PreTokenizerStep& step : p_->pre_steps) {
    next.clear();
    next.reserve(text.size() / 3 + 1);
    for (const Span& s : spans) {
      if (step.kind == PreTokenizerStep::Kind::kRegex) {
        step.regex->split(text, s, next);
      } else {
        split_digits(text, s, step.individual_digits, next);
      }
    }
    spans.swap(next);
  }
  for (const Span& s : spans) {
    const std::string_view word = text.substr(s.begin, s.size);
    if (cache) {
      if (cache->lookup(word, out)) continue;
      const size_t before = out.size();
      p_->model->encode_piece(word, out);
      cache->insert(word, uint32_t(before), uint32_t(out.size() - before));
    } else {
      p_->model->encode_piece(word, out);
    }
  }
}

void Tokenizer::append_bytes(const int32_t* ids, size_t n, bool skip_special_tokens,
                             std::string& out) const {
  for (size_t i = 0; i < n; ++i) {
    const int32_t id = ids[i];
    const int32_t k = id >= 0 && id < int32_t(p_->added_index.size()) ? p_->added_index[id] : -1;
    if (k >= 0) {
      const AddedToken& tok = p_->added[k];
      if (skip_special_tokens && tok.special) continue;
      // Like Hugging Face's ByteLevel decoder: a token spelled entirely in the byte alphabet
      // becomes those bytes, any other token is copied as written.
      auto bytes = byte_level::decode_token(tok.content);
      out.append(bytes ? *bytes : tok.content);
      continue;
    }
    if (const std::string* b = p_->model->token_bytes(id)) out.append(*b);
  }
}

std::string Tokenizer::decode(const int32_t* ids, size_t n, bool skip_special_tokens) const {
  std::string bytes;
  append_bytes(ids, n, skip_special_tokens, bytes);
  if (simdjson::validate_utf8(bytes.data(), bytes.size())) return bytes;
  return utf8::repair(bytes);
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special_tokens) const {
  return decode(ids.data(), ids.size(), skip_special_tokens);
}

std::string Tokenizer::normalize(std::string_view text) const {
  std::string out;
  if (p_->normalizer.normalize(text, out)) return out;
  return std::string(text);
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  const int32_t k = p_->added_by_content.find(token);
  if (k >= 0) return p_->added[k].id;
  auto bytes = byte_level::decode_token(token);
  const int32_t id = p_->model->find_bytes(bytes ? std::string_view(*bytes) : token);
  if (id >= 0 && *p_->model->token_text(id) == token) return id;
  return std::nullopt;
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (id >= 0 && id < int32_t(p_->added_index.size()) && p_->added_index[id] >= 0)
    return p_->added[p_->added_index[id]].content;
  if (const std::string* t = p_->model->token_text(id)) return *t;
  return std::nullopt;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < int32_t(p_->added_index.size()) && p_->added_index[id] >= 0 &&
         p_->added[p_->added_index[id]].special;
}

int32_t Tokenizer::vocab_size() const { return p_->vocab_size; }
const std::vector<AddedToken>& Tokenizer::added_tokens() const { return p_->added; }
std::optional<int32_t> Tokenizer::bos_id() const { return p_->bos_id; }
std::optional<int32_t> Tokenizer::eos_id() const { return p_->eos_id; }
std::optional<int32_t> Tokenizer::pad_id() const { return p_->pad_id; }
const std::string& Tokenizer::bos_token() const { return p_->bos_token; }
const std::string& Tokenizer::eos_token() const { return p_->eos_token; }
const std::vector<int32_t>& Tokenizer::prefix_ids() const { return p_->prefix_ids; }
const std::vector<int32_t>& Tokenizer::suffix_ids() const { return p_->suffix_ids; }
const std::string& Tokenizer::source() const { return p_->source; }

}  // namespace kvbench
