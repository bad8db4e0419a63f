// SPDX-License-Identifier: Apache-2.0
// Chinese word segmentation identical to the PyPI `jieba` 0.42.1 default `jieba.cut(text,
// cut_all=False)` (HMM=True): prefix-dictionary DAG + max log-frequency route, with finalseg's
// BMES Viterbi HMM for runs of unknown single characters. Data: metrics/data/jieba/ (exported from the
// pinned package by scripts/reference/export_jieba_data.py); LongBench's qa_f1_zh / rouge_zh need it.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace kvbench {

class JiebaSegmenter {
 public:
  // Loads dict.txt.gz and hmm.tsv.gz from `data_dir`; kvbench::Error(kInput) naming the file and
  // line when a file is missing or malformed.
  explicit JiebaSegmenter(const std::string& data_dir);

  // The process-wide segmenter over the vendored data (<source dir>/metrics/data/jieba, or
  // $KVBENCH_JIEBA_DIR when set); loaded once, thread-safe.
  static const JiebaSegmenter& default_instance();

  // jieba.cut(text, cut_all=False, HMM=True) as a list of tokens (whitespace tokens included).
  std::vector<std::u32string> cut(const std::u32string& text) const;

 private:
  struct Hmm {
    double start[4];       // states in the order B, M, E, S
    double trans[4][4];    // trans[from][to]; absent transitions hold MIN_FLOAT
    std::unordered_map<char32_t, double> emit[4];
  };

  void cut_dag(const std::u32string& block, std::vector<std::u32string>* out) const;
  void cut_hmm_block(const std::u32string& block, std::vector<std::u32string>* out) const;
  void viterbi(const std::u32string& han, std::vector<std::u32string>* out) const;
  int64_t freq(const std::u32string& word) const;  // 0 when absent (FREQ.get(word) or 0)
  bool has_prefix(const std::u32string& word) const;

  std::unordered_map<std::u32string, int64_t> freq_;  // words and their prefixes (prefix: 0)
  int64_t total_ = 0;
  Hmm hmm_;
};

}  // namespace kvbench
