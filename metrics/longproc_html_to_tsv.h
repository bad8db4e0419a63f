// SPDX-License-Identifier: Apache-2.0
// LongProc HTML-to-TSV row-level precision / recall / F1 (yandex-research/
// context-intensive-kv-offloading shadowkv-opencompass/opencompass/datasets/longproc/
// html_to_tsv_evaluator.py): both sides parsed as TSV with Python's csv reader, the first row is the
// header, a trailing incomplete row is dropped, other incomplete rows become all "N/A", every cell
// is normalized (lower, no punctuation, no articles, no whitespace); a row counts when it equals some
// row of the other side on every column, in any order.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kvbench {

struct TsvScores {
  double precision = 0.0;
  double recall = 0.0;
  double f1 = 0.0;
  bool error = false;  // the original returns zeros with an "error" (parse failure, 0 rows, ...)
};

// Python csv.reader(lines, delimiter='\t') (excel dialect otherwise, CPython 3.11); nullopt where
// it raises csv.Error (a bare '\r' inside an unquoted field, a field over 131072 characters).
std::optional<std::vector<std::vector<std::u32string>>> python_csv_read_tsv(
    const std::vector<std::u32string>& lines);

TsvScores html_to_tsv_scores(const std::string& prediction, const std::string& groundtruth);

// longproc_data.py eval_html_to_tsv's answer parsing, applied by the registered metric before
// html_to_tsv_scores: the text between "```tsv" and the last "```" after it (or everything after an
// unclosed "```tsv", or the whole answer without one), Python-stripped.
std::string longproc_extract_tsv(const std::string& prediction);

}  // namespace kvbench
