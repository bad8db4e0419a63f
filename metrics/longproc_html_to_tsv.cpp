// SPDX-License-Identifier: Apache-2.0
// LongProc HTML-to-TSV scorer (see longproc_html_to_tsv.h), including the pandas behaviours the
// original relies on: duplicate header names with data rows fail, column counts must agree.
#include "metrics/longproc_html_to_tsv.h"

#include "harness/error.h"
#include "harness/task/metric.h"
#include "metrics/normalize.h"
#include "harness/pytext/unicode_text.h"

#include <set>

namespace kvbench {
namespace {

constexpr size_t kFieldLimit = 131072;  // csv.field_size_limit() default
constexpr char32_t kEol = 0xFFFFFFFF;   // the reader's end-of-line pseudo character

enum class CsvState {
  kStartRecord, kStartField, kInField, kInQuotedField, kQuoteInQuotedField, kEatCrnl
};

// One step of CPython's _csv.c parse_process_char for delimiter '\t', quotechar '"',
// doublequote, no escapechar, strict off. Returns false on csv.Error.
class CsvParser {
 public:
  bool feed(char32_t c) {
    switch (state_) {
      case CsvState::kStartRecord:
        if (c == kEol) return true;
        if (c == '\n' || c == '\r') {
          state_ = CsvState::kEatCrnl;
          return true;
        }
        state_ = CsvState::kStartField;
        [[fallthrough]];
      case CsvState::kStartField:
        if (c == '\n' || c == '\r' || c == kEol) {
          save_field();
          state_ = c == kEol ? CsvState::kStartRecord : CsvState::kEatCrnl;
        } else if (c == '"') {
          state_ = CsvState::kInQuotedField;
        } else if (c == '\t') {
          save_field();
        } else {
          if (!add(c)) return false;
          state_ = CsvState::kInField;
        }
        return true;
      case CsvState::kInField:
        if (c == '\n' || c == '\r' || c == kEol) {
          save_field();
          state_ = c == kEol ? CsvState::kStartRecord : CsvState::kEatCrnl;
        } else if (c == '\t') {
          save_field();
          state_ = CsvState::kStartField;
        } else if (!add(c)) {
          return false;
        }
        return true;
      case CsvState::kInQuotedField:
        if (c == kEol) return true;
        if (c == '"') {
          state_ = CsvState::kQuoteInQuotedField;
          return true;
        }
        return add(c);
      case CsvState::kQuoteInQuotedField:
        if (c == '"') {
          if (!add(c)) return false;
          state_ = CsvState::kInQuotedField;
        } else if (c == '\t') {
          save_field();
          state_ = CsvState::kStartField;
        } else if (c == '\n' || c == '\r' || c == kEol) {
          save_field();
          state_ = c == kEol ? CsvState::kStartRecord : CsvState::kEatCrnl;
        } else {
          if (!add(c)) return false;
          state_ = CsvState::kInField;
        }
        return true;
      case CsvState::kEatCrnl:
        if (c == '\n' || c == '\r') return true;
        if (c == kEol) {
          state_ = CsvState::kStartRecord;
          return true;
        }
        return false;  // "new-line character seen in unquoted field"
    }
    return false;
  }
  CsvState state() const { return state_; }
  bool field_pending() const { return !field_.empty() || state_ == CsvState::kInQuotedField; }
  void save_field() {
    fields_.push_back(field_);
    field_.clear();
  }
  std::vector<std::u32string> take_record() {
    std::vector<std::u32string> out;
    out.swap(fields_);
    field_.clear();
    state_ = CsvState::kStartRecord;
    return out;
  }

 private:
  bool add(char32_t c) {
    if (field_.size() >= kFieldLimit) return false;  // "field larger than field limit"
    field_.push_back(c);
    return true;
  }
  CsvState state_ = CsvState::kStartRecord;
  std::u32string field_;
  std::vector<std::u32string> fields_;
};

// The cell normalization: lower, drop string.punctuation, articles -> " ", collapse whitespace,
// then remove the remaining spaces.
std::u32string normalize_cell(const std::u32string& cell) {
  std::u32string text = normalize_answer(cell), out;
  for (char32_t c : text)
    if (c != U' ') out.push_back(c);
  return out;
}

using Table = std::vector<std::vector<std::u32string>>;

// _string_to_pd: nullopt where the original returns None.
std::optional<Table> to_table(const std::string& text) {
  std::u32string stripped = py_strip(utf8_to_u32(text));
  std::vector<std::u32string> lines;
  size_t start = 0;
  while (true) {
    size_t nl = stripped.find(U'\n', start);
    lines.push_back(stripped.substr(start, nl == std::u32string::npos ? std::u32string::npos
                                                                      : nl - start));
    if (nl == std::u32string::npos) break;
    start = nl + 1;
  }
  auto rows = python_csv_read_tsv(lines);
  if (!rows || rows->empty()) return std::nullopt;
  const std::vector<std::u32string> header = (*rows)[0];
  Table data(rows->begin() + 1, rows->end());
  if (data.empty()) return std::nullopt;  // data[-1] raises IndexError
  if (data.back().size() != header.size()) data.pop_back();
  for (auto& row : data)
    if (row.size() != header.size()) row.assign(header.size(), U"N/A");
  // pandas: df[name] on a duplicated column name is a DataFrame, and applying the str-only
  // normalization to it raises when there are rows.
  std::set<std::u32string> names(header.begin(), header.end());
  if (names.size() != header.size() && !data.empty()) return std::nullopt;
  for (auto& row : data)
    for (auto& cell : row) cell = normalize_cell(cell);
  // Keep the column count (header size) with the rows: an empty table still has its columns.
  data.insert(data.begin(), std::vector<std::u32string>(header.size()));
  return data;
}

// Fraction of rows of `a` equal (all columns) to some row of `b`; nullopt where the original
// raises (column counts differ while comparing, or `a` has no rows).
std::optional<double> row_match_fraction(const Table& a, const Table& b) {
  size_t a_cols = a[0].size(), b_cols = b[0].size();
  size_t a_rows = a.size() - 1, matched = 0;
  for (size_t i = 1; i < a.size(); ++i) {
    if (a_cols != b_cols) return std::nullopt;  // DataFrame.eq: "Unable to coerce to Series"
    for (size_t j = 1; j < b.size(); ++j)
      if (a[i] == b[j]) {
        ++matched;
        break;
      }
  }
  if (a_rows == 0) return std::nullopt;  // ZeroDivisionError
  return static_cast<double>(matched) / static_cast<double>(a_rows);
}

}  // namespace

std::optional<std::vector<std::vector<std::u32string>>> python_csv_read_tsv(
    const std::vector<std::u32string>& lines) {
  std::vector<std::vector<std::u32string>> rows;
  CsvParser parser;
  for (const std::u32string& line : lines) {
    for (char32_t c : line)
      if (!parser.feed(c)) return std::nullopt;
    if (!parser.feed(kEol)) return std::nullopt;
    if (parser.state() == CsvState::kStartRecord) rows.push_back(parser.take_record());
  }
  // End of input inside a record (an open quoted field): strict is off, so it is saved.
  if (parser.field_pending()) {
    parser.save_field();
    rows.push_back(parser.take_record());
  }
  return rows;
}

TsvScores html_to_tsv_scores(const std::string& prediction, const std::string& groundtruth) {
  TsvScores out;
  out.error = true;  // the original's except branch: all zeros
  std::optional<Table> gt = to_table(groundtruth);
  std::optional<Table> pred = to_table(prediction);
  // Precision first: a missing prediction table, a missing gold table, a column-count mismatch or
  // zero predicted rows all raise there; recall then raises for zero gold rows.
  if (!pred || !gt) return out;
  std::optional<double> precision = row_match_fraction(*pred, *gt);
  if (!precision) return out;
  std::optional<double> recall = row_match_fraction(*gt, *pred);
  if (!recall) return out;
  out.error = false;
  out.precision = *precision;
  out.recall = *recall;
  out.f1 = (*recall + *precision == 0) ? 0.0 : 2 * *recall * *precision / (*recall + *precision);
  return out;
}

std::string longproc_extract_tsv(const std::string& prediction) {
  // re.search(r'```tsv([\s\S]*)```', prediction): the first "```tsv" that some later "```"
  // follows, greedy up to the last "```" (a later "```tsv" counts as one). "```" contains no "tsv",
  // so if the first opening has no closing after it, no later opening has one either.
  const std::string open = "```tsv";
  const size_t start = prediction.find(open);
  if (start == std::string::npos) return py_strip_utf8(prediction);
  const size_t body = start + open.size();
  const size_t close = prediction.rfind("```");
  if (close != std::string::npos && close >= body)
    return py_strip_utf8(prediction.substr(body, close - body));
  // No closing fence: prediction.split("```tsv")[1], i.e. everything after the opening (no second
  // opening can follow, it would be a closing fence).
  return py_strip_utf8(prediction.substr(body));
}

namespace {

class HtmlToTsvMetric : public Metric {
 public:
  Scores score(const std::string& prediction, const std::vector<std::string>& references,
               const nlohmann::json&) const override {
    KVBENCH_CHECK_INPUT(references.size() == 1, "LongProc html_to_tsv: expected one reference "
                        "(the gold TSV), got ", references.size());
    // longproc_data.py eval_html_to_tsv: the TSV block is cut out of the answer first.
    TsvScores s = html_to_tsv_scores(longproc_extract_tsv(prediction), references[0]);
    return {{"precision", s.precision}, {"recall", s.recall}, {"f1", s.f1},
            {"error", s.error ? 1.0 : 0.0}};
  }
};

}  // namespace

KVBENCH_REGISTER(Metric, RegistryEntry<Metric>{
    "longproc.html_to_tsv",
    "LongProc HTML-to-TSV: row-level precision/recall/F1 over normalized TSV rows",
    {},
    [](const nlohmann::json&) { return std::make_unique<HtmlToTsvMetric>(); },
    {{"source", "yandex-research/context-intensive-kv-offloading shadowkv-opencompass/opencompass/"
                "datasets/longproc/longproc_data.py:eval_html_to_tsv (```tsv extraction) + "
                "html_to_tsv_evaluator.py:evaluate_html_to_csv_compute_metrics"},
     {"scale", "per-sample 0..1 (precision, recall, f1)"}}});

}  // namespace kvbench
