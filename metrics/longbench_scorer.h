// SPDX-License-Identifier: Apache-2.0
// LongBench v1 official scoring (THUDM/LongBench LongBench/metrics.py + eval.py): the per-pair metric
// functions, and eval.py's scorer()/scorer_e() logic the task and the report use: first-line cut of
// predictions for trec/triviaqa/samsum/lsht, max over references (starting from 0), dataset score
// round(100 * sum / n, 2), LongBench-E buckets on the sample's `length` (words or characters).
//
// Per-sample scores are in 0..1 (what metrics.py returns); the x100 happens only in the dataset
// aggregation, exactly where eval.py does it.
#pragma once

#include "harness/task/metric.h"

#include <map>
#include <string>
#include <vector>

namespace kvbench {

// metrics.py, one (prediction, ground_truth) pair each; all_classes only used by classification.
using LongBenchPairFn = double (*)(const std::string& prediction, const std::string& ground_truth,
                                   const std::vector<std::string>& all_classes);
double longbench_qa_f1_score(const std::string& prediction, const std::string& ground_truth,
                             const std::vector<std::string>& all_classes);
double longbench_qa_f1_zh_score(const std::string& prediction, const std::string& ground_truth,
                                const std::vector<std::string>& all_classes);
double longbench_rouge_score(const std::string& prediction, const std::string& ground_truth,
                             const std::vector<std::string>& all_classes);
double longbench_rouge_zh_score(const std::string& prediction, const std::string& ground_truth,
                                const std::vector<std::string>& all_classes);
double longbench_classification_score(const std::string& prediction,
                                      const std::string& ground_truth,
                                      const std::vector<std::string>& all_classes);
double longbench_retrieval_score(const std::string& prediction, const std::string& ground_truth,
                                 const std::vector<std::string>& all_classes);
double longbench_retrieval_zh_score(const std::string& prediction, const std::string& ground_truth,
                                    const std::vector<std::string>& all_classes);
double longbench_count_score(const std::string& prediction, const std::string& ground_truth,
                             const std::vector<std::string>& all_classes);
double longbench_code_sim_score(const std::string& prediction, const std::string& ground_truth,
                                const std::vector<std::string>& all_classes);

// count_score / retrieval_score core: the share of re.findall(r"\d+", prediction) equal to target
// (0 when the prediction has no number).
double longbench_number_share(const std::string& prediction, const std::u32string& target);

// True for trec, triviaqa, samsum, lsht (eval.py cuts their predictions to the first line).
bool longbench_uses_first_line(const std::string& dataset);
// prediction.lstrip('\n').split('\n')[0] for those datasets; the prediction unchanged otherwise.
std::string longbench_prepare_prediction(const std::string& dataset, const std::string& prediction);
// eval.py per-sample score: max(0., metric(prediction, gt) for gt in references).
double longbench_sample_score(LongBenchPairFn metric, const std::string& prepared_prediction,
                              const std::vector<std::string>& references,
                              const std::vector<std::string>& all_classes);
// eval.py scorer(): round(100 * total / n, 2) with the total summed in order; error when empty.
double longbench_dataset_score(const std::vector<double>& sample_scores);
// eval.py scorer_e(): buckets "0-4k" (length < 4000), "4-8k" (< 8000), "8k+", each
// round(100 * np.mean(bucket), 2) (numpy's pairwise summation; NaN for an empty bucket).
std::map<std::string, double> longbench_e_scores(const std::vector<double>& sample_scores,
                                                 const std::vector<double>& lengths);
// Python's round(x, 2) (correctly rounded, ties to even on the exact binary value).
double python_round2(double x);

// The Metric all LongBench scorers register: reads the optional sample metadata "dataset" (for the
// first-line cut) and "all_classes"; returns {score_name: per-sample score in 0..1}.
class LongBenchMetric : public Metric {
 public:
  LongBenchMetric(std::string score_name, LongBenchPairFn fn)
      : score_name_(std::move(score_name)), fn_(fn) {}
  Scores score(const std::string& prediction, const std::vector<std::string>& references,
               const nlohmann::json& sample_metadata) const override;
  // eval.py: round(100 * total / n, 2); for samples whose metadata has "length" (LongBench-E), the
  // scorer_e buckets as parts (null for an empty bucket, where numpy gives NaN).
  OfficialAggregate aggregate(const std::vector<ScoredSample>& samples) const override;

 private:
  std::string score_name_;
  LongBenchPairFn fn_;
};

// The registry entry of one LongBench metric: `name` (e.g. "longbench.qa_f1") scored by metrics.py's
// `function_name` (`fn`), with its description and the extra every LongBench scorer shares (source,
// scale, metadata used); every LongBench metric registers through this.
RegistryEntry<Metric> longbench_metric_entry(const std::string& name, const std::string& function_name,
                                             LongBenchPairFn fn, const std::string& description);

}  // namespace kvbench
