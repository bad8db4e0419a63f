// SPDX-License-Identifier: Apache-2.0
// tokenizer.json / tokenizer_config.json loader (simdjson DOM). Accepts exactly the components the
// supported models use and rejects anything else with the file, the field path and what was
// expected, rather than tokenizing differently from Hugging Face.
#include <simdjson.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>

#include "harness/error.h"
#include "harness/tokenizer/tokenizer_parts.h"

namespace kvbench {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

// GPT-2's pre-tokenization regex, which ByteLevel(use_regex = true) applies.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

struct Reader {
  std::string file;

  [[noreturn]] void fail(const std::string& field, const std::string& what) const {
    KVBENCH_FAIL(ErrorKind::kInput, file, ": ", field, ": ", what);
  }
  std::optional<element> opt(const object& o, std::string_view key) const {
    element e;
    if (o[key].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
    return e;
  }
  element req(const object& o, std::string_view key, const std::string& field) const {
    element e;
    if (o[key].get(e) != simdjson::SUCCESS) fail(field, "missing (required)");
    return e;
  }
  object obj(element e, const std::string& field) const {
    object o;
    if (e.get(o) != simdjson::SUCCESS) fail(field, "expected an object");
    return o;
  }
  array arr(element e, const std::string& field) const {
    array a;
    if (e.get(a) != simdjson::SUCCESS) fail(field, "expected an array");
    return a;
  }
  std::string str(element e, const std::string& field) const {
    std::string_view s;
    if (e.get(s) != simdjson::SUCCESS) fail(field, "expected a string");
    return std::string(s);
  }
  int64_t integer(element e, const std::string& field) const {
    int64_t v;
    if (e.get(v) != simdjson::SUCCESS) fail(field, "expected an integer");
    return v;
  }
  bool boolean(const object& o, std::string_view key, const std::string& field, bool dflt) const {
    auto e = opt(o, key);
    if (!e) return dflt;
    bool v;
    if (e->get(v) != simdjson::SUCCESS) fail(field, "expected true or false");
    return v;
  }
  std::string type_of(const object& o, const std::string& field) const {
    return str(req(o, "type", field + ".type"), field + ".type");
  }
};

std::string escape_regex(const std::string& literal) {
  std::string out;
  for (char c : literal) {
    if (std::string_view("\\^$.|?*+()[]{}").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

void parse_normalizer(const Reader& r, element e, const std::string& field, TokenizerParts& t) {
  if (e.is_null()) return;
  const object o = r.obj(e, field);
  const std::string type = r.type_of(o, field);
  if (type == "NFC") {
    t.normalizer = Normalizer(Normalizer::Kind::kNfc);
  } else if (type == "Sequence") {
    const array items = r.arr(r.req(o, "normalizers", field + ".normalizers"), field + ".normalizers");
    size_t i = 0;
    for (element item : items) parse_normalizer(r, item, str_cat(field, ".normalizers[", i++, "]"), t);
  } else {
    r.fail(field + ".type", "unsupported normalizer \"" + type + "\" (supported: NFC, Sequence)");
  }
}

void parse_pre_tokenizer(const Reader& r, element e, const std::string& field, TokenizerParts& t,
                         bool* byte_level) {
  if (e.is_null()) return;
  const object o = r.obj(e, field);
  const std::string type = r.type_of(o, field);
  if (type == "Sequence") {
    const array items =
        r.arr(r.req(o, "pretokenizers", field + ".pretokenizers"), field + ".pretokenizers");
    size_t i = 0;
    for (element item : items)
      parse_pre_tokenizer(r, item, str_cat(field, ".pretokenizers[", i++, "]"), t, byte_level);
  } else if (type == "Split") {
    const object pat = r.obj(r.req(o, "pattern", field + ".pattern"), field + ".pattern");
    std::string regex;
    if (auto re = r.opt(pat, "Regex")) {
      regex = r.str(*re, field + ".pattern.Regex");
    } else if (auto lit = r.opt(pat, "String")) {
      regex = escape_regex(r.str(*lit, field + ".pattern.String"));
    } else {
      r.fail(field + ".pattern", "expected {\"Regex\": ...} or {\"String\": ...}");
    }
    const std::string behavior = r.str(r.req(o, "behavior", field + ".behavior"), field + ".behavior");
    if (behavior != "Isolated")
      r.fail(field + ".behavior", "unsupported \"" + behavior + "\" (supported: Isolated)");
    if (r.boolean(o, "invert", field + ".invert", false))
      r.fail(field + ".invert", "unsupported true (supported: false)");
    PreTokenizerStep step;
    step.regex = std::make_unique<RegexSplitter>(regex, r.file + ": " + field + ".pattern");
    t.pre_steps.push_back(std::move(step));
  } else if (type == "ByteLevel") {
    if (r.boolean(o, "add_prefix_space", field + ".add_prefix_space", true))
      r.fail(field + ".add_prefix_space", "unsupported true (supported: false)");
    if (r.boolean(o, "use_regex", field + ".use_regex", true)) {
      PreTokenizerStep step;
      step.regex = std::make_unique<RegexSplitter>(kGpt2Pattern, r.file + ": " + field);
      t.pre_steps.push_back(std::move(step));
    }
    *byte_level = true;
  } else if (type == "Digits") {
    PreTokenizerStep step;
    step.kind = PreTokenizerStep::Kind::kDigits;
    step.individual_digits = r.boolean(o, "individual_digits", field + ".individual_digits", false);
    t.pre_steps.push_back(std::move(step));
  } else {
    r.fail(field + ".type",
           "unsupported pre-tokenizer \"" + type + "\" (supported: Sequence, Split, ByteLevel, Digits)");
  }
}

int32_t special_id(const Reader& r, const object& specials, const std::string& name,
                   const std::string& field) {
  const object s = r.obj(r.req(specials, name, field + "." + name), field + "." + name);
  const array ids = r.arr(r.req(s, "ids", field + "." + name + ".ids"), field + "." + name + ".ids");
  if (ids.size() != 1) r.fail(field + "." + name + ".ids", "expected exactly one id");
  return int32_t(r.integer(ids.at(0), field + "." + name + ".ids[0]"));
}

void parse_post_processor(const Reader& r, element e, const std::string& field, TokenizerParts& t) {
  if (e.is_null()) return;
  const object o = r.obj(e, field);
  const std::string type = r.type_of(o, field);
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "Sequence") {
    const array items = r.arr(r.req(o, "processors", field + ".processors"), field + ".processors");
    size_t i = 0;
    for (element item : items) parse_post_processor(r, item, str_cat(field, ".processors[", i++, "]"), t);
    return;
  }
  if (type != "TemplateProcessing")
    r.fail(field + ".type", "unsupported post-processor \"" + type +
                                "\" (supported: ByteLevel, TemplateProcessing, Sequence)");
  const array single = r.arr(r.req(o, "single", field + ".single"), field + ".single");
  const object specials =
      r.obj(r.req(o, "special_tokens", field + ".special_tokens"), field + ".special_tokens");
  bool seen_sequence = false;
  size_t i = 0;
  for (element item : single) {
    const std::string f = str_cat(field, ".single[", i++, "]");
    const object piece = r.obj(item, f);
    if (auto s = r.opt(piece, "SpecialToken")) {
      const std::string name = r.str(r.req(r.obj(*s, f + ".SpecialToken"), "id", f + ".SpecialToken.id"),
                                     f + ".SpecialToken.id");
      (seen_sequence ? t.suffix_ids : t.prefix_ids)
          .push_back(special_id(r, specials, name, field + ".special_tokens"));
    } else if (r.opt(piece, "Sequence")) {
      if (seen_sequence) r.fail(f, "expected a single Sequence in \"single\"");
      seen_sequence = true;
    } else {
      r.fail(f, "expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  if (!seen_sequence) r.fail(field + ".single", "expected one {\"Sequence\": {\"id\": \"A\"}}");
}

void check_decoder(const Reader& r, element e, const std::string& field) {
  if (e.is_null()) r.fail(field, "expected a ByteLevel decoder, got null");
  const object o = r.obj(e, field);
  const std::string type = r.type_of(o, field);
  if (type != "ByteLevel") r.fail(field + ".type", "unsupported decoder \"" + type + "\" (supported: ByteLevel)");
}

void parse_model(const Reader& r, element e, TokenizerParts& t) {
  const object m = r.obj(e, "model");
  if (auto type = r.opt(m, "type")) {
    const std::string s = r.str(*type, "model.type");
    if (s != "BPE") r.fail("model.type", "unsupported model \"" + s + "\" (supported: BPE)");
  }
  if (auto d = r.opt(m, "dropout")) r.fail("model.dropout", "expected null (BPE dropout is not supported)");
  // Without an unk token, a byte missing from the vocabulary is dropped (as Hugging Face does).
  if (auto u = r.opt(m, "unk_token")) r.fail("model.unk_token", "expected null (unk tokens are not supported)");
  if (r.boolean(m, "byte_fallback", "model.byte_fallback", false))
    r.fail("model.byte_fallback", "unsupported true (supported: false, byte-level BPE)");
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"})
    if (auto v = r.opt(m, key))
      if (!r.str(*v, std::string("model.") + key).empty())
        r.fail(std::string("model.") + key, "expected null or \"\"");
  const bool ignore_merges = r.boolean(m, "ignore_merges", "model.ignore_merges", false);

  std::vector<std::pair<std::string, int32_t>> vocab;
  const object v = r.obj(r.req(m, "vocab", "model.vocab"), "model.vocab");
  vocab.reserve(v.size());
  for (auto [key, value] : v) {
    const int64_t id = r.integer(value, str_cat("model.vocab[\"", key, "\"]"));
    if (id < 0 || id > INT32_MAX) r.fail(str_cat("model.vocab[\"", key, "\"]"), "expected an id in [0, 2^31)");
    vocab.emplace_back(std::string(key), int32_t(id));
  }
  std::vector<std::pair<std::string, std::string>> merges;
  const array ms = r.arr(r.req(m, "merges", "model.merges"), "model.merges");
  merges.reserve(ms.size());
  size_t i = 0;
  for (element item : ms) {
    const std::string f = str_cat("model.merges[", i++, "]");
    std::string_view s;
    array pair;
    if (item.get(s) == simdjson::SUCCESS) {
      const size_t sp = s.find(' ');
      if (sp == std::string_view::npos || s.find(' ', sp + 1) != std::string_view::npos)
        r.fail(f, "expected \"left right\" (two parts separated by one space)");
      merges.emplace_back(std::string(s.substr(0, sp)), std::string(s.substr(sp + 1)));
    } else if (item.get(pair) == simdjson::SUCCESS && pair.size() == 2) {
      merges.emplace_back(r.str(pair.at(0), f + "[0]"), r.str(pair.at(1), f + "[1]"));
    } else {
      r.fail(f, "expected \"left right\" or [\"left\", \"right\"]");
    }
  }
  t.model = std::make_unique<BpeModel>(vocab, merges, ignore_merges, r.file);
}

void parse_added_tokens(const Reader& r, element e, TokenizerParts& t) {
  if (e.is_null()) return;
  size_t i = 0;
  for (element item : r.arr(e, "added_tokens")) {
    const std::string f = str_cat("added_tokens[", i++, "]");
    const object o = r.obj(item, f);
    AddedToken tok;
    const int64_t id = r.integer(r.req(o, "id", f + ".id"), f + ".id");
    if (id < 0 || id > INT32_MAX) r.fail(f + ".id", "expected an id in [0, 2^31)");
    tok.id = int32_t(id);
    tok.content = r.str(r.req(o, "content", f + ".content"), f + ".content");
    if (tok.content.empty()) r.fail(f + ".content", "expected a non-empty string");
    tok.special = r.boolean(o, "special", f + ".special", false);
    tok.normalized = r.boolean(o, "normalized", f + ".normalized", !tok.special);
    for (const char* flag : {"lstrip", "rstrip", "single_word"})
      if (r.boolean(o, flag, f + "." + flag, false))
        r.fail(f + "." + flag, "unsupported true (supported: false)");
    t.added.push_back(std::move(tok));
  }
}

// bos_token / eos_token / pad_token in tokenizer_config.json: a string, {"content": ...} or null.
// (nlohmann rather than simdjson: these files hold integers beyond 64 bits, e.g. model_max_length.)
std::string config_token(const std::string& file, const nlohmann::json& cfg, const char* key) {
  auto it = cfg.find(key);
  if (it == cfg.end() || it->is_null()) return "";
  const nlohmann::json& v = it->is_object() && it->contains("content") ? (*it)["content"] : *it;
  KVBENCH_CHECK_INPUT(v.is_string(), file, ": ", key, ": expected a string or {\"content\": string}");
  return v.get<std::string>();
}

}  // namespace

std::unique_ptr<TokenizerParts> load_tokenizer_parts(const std::string& tokenizer_json,
                                                     const std::string& config_json) {
  auto t = std::make_unique<TokenizerParts>();
  t->source = tokenizer_json;
  Reader r{tokenizer_json};
  simdjson::dom::parser parser;
  simdjson::padded_string text;
  if (simdjson::padded_string::load(tokenizer_json).get(text) != simdjson::SUCCESS)
    KVBENCH_FAIL(ErrorKind::kInput, tokenizer_json, ": cannot read the file");
  element doc;
  if (auto err = parser.parse(text).get(doc))
    KVBENCH_FAIL(ErrorKind::kInput, tokenizer_json, ": not valid JSON: ", simdjson::error_message(err));
  const object root = r.obj(doc, "(top level)");
  for (const char* key : {"truncation", "padding"})
    if (r.opt(root, key))
      r.fail(key, "expected null (kvbench truncates and pads with its own helpers)");
  parse_model(r, r.req(root, "model", "model"), *t);
  if (auto e = r.opt(root, "normalizer")) parse_normalizer(r, *e, "normalizer", *t);
  bool byte_level = false;
  if (auto e = r.opt(root, "pre_tokenizer")) parse_pre_tokenizer(r, *e, "pre_tokenizer", *t, &byte_level);
  if (!byte_level)
    r.fail("pre_tokenizer", "expected a ByteLevel pre-tokenizer (only byte-level BPE is supported)");
  if (auto e = r.opt(root, "post_processor")) parse_post_processor(r, *e, "post_processor", *t);
  check_decoder(r, r.req(root, "decoder", "decoder"), "decoder");
  if (auto e = r.opt(root, "added_tokens")) parse_added_tokens(r, *e, *t);

  int32_t max_id = t->model->max_id();
  for (const AddedToken& a : t->added) max_id = std::max(max_id, a.id);
  t->vocab_size = max_id + 1;
  t->added_index.assign(size_t(max_id + 1), -1);
  for (size_t i = 0; i < t->added.size(); ++i) {
    t->added_index[t->added[i].id] = int32_t(i);
    t->added_by_content.insert(t->added[i].content, int32_t(i));
  }
  t->raw_matcher.build(t->added, false);
  t->normalized_matcher.build(t->added, true);

  if (!config_json.empty()) {
    std::ifstream in(config_json);
    KVBENCH_CHECK_INPUT(in.good(), config_json, ": cannot read the file");
    nlohmann::json cfg;
    try {
      cfg = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
      KVBENCH_FAIL(ErrorKind::kInput, config_json, ": not valid JSON: ", e.what());
    }
    KVBENCH_CHECK_INPUT(cfg.is_object(), config_json, ": (top level): expected an object");
    t->bos_token = config_token(config_json, cfg, "bos_token");
    t->eos_token = config_token(config_json, cfg, "eos_token");
    t->pad_token = config_token(config_json, cfg, "pad_token");
  }
  auto lookup = [&](const std::string& name, const char* what) -> std::optional<int32_t> {
    if (name.empty()) return std::nullopt;
    const int32_t k = t->added_by_content.find(name);
    if (k >= 0) return t->added[k].id;
    const int32_t id = t->model->find_bytes(name);  // plain ASCII tokens spell their bytes
    if (id >= 0) return id;
    KVBENCH_FAIL(ErrorKind::kInput, config_json, ": ", what, ": token \"", name,
                 "\" is not in ", tokenizer_json);
  };
  t->bos_id = lookup(t->bos_token, "bos_token");
  t->eos_id = lookup(t->eos_token, "eos_token");
  t->pad_id = lookup(t->pad_token, "pad_token");
  if (!t->bos_id && !t->prefix_ids.empty() && t->prefix_ids.front() <= max_id &&
      t->added_index[t->prefix_ids.front()] >= 0) {
    t->bos_id = t->prefix_ids.front();
    t->bos_token = t->added[t->added_index[*t->bos_id]].content;
  }
  return t;
}

}  // namespace kvbench
