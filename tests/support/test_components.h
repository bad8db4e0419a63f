// SPDX-License-Identifier: Apache-2.0
// Test-only components for the foundation tests: a task of numbered arithmetic questions, an engine
// that answers them (optionally slowly, optionally failing on chosen ids) and an exact-answer metric.
// They exist only in test binaries; the product registers no fake model.
#pragma once

#include "harness/task/task.h"
#include "harness/engine/engine.h"
#include "harness/registry.h"
#include "harness/task/metric.h"

#include <chrono>
#include <set>
#include <string>
#include <thread>

namespace kvbench::testing {

class CountingTask : public Task {
 public:
  explicit CountingTask(int count) : count_(count) {}
  std::vector<Sample> samples(const TaskContext&) override {
    std::vector<Sample> out;
    for (int i = 0; i < count_; ++i) {
      Sample s;
      s.id = "q" + std::to_string(i);
      s.messages = {{"user", "What is " + std::to_string(i) + " + " + std::to_string(i) + "?"}};
      s.references = {std::to_string(2 * i)};
      s.metadata = {{"bucket", i % 2 ? "odd" : "even"}};
      s.max_new_tokens = 8;
      out.push_back(s);
    }
    return out;
  }
  std::string dataset_sha256(const TaskContext&) override { return "test-" + std::to_string(count_); }
  std::vector<std::string> metrics(const TaskContext&) const override { return {"test.exact"}; }

 private:
  int count_;
};

// Answers correctly except for every third question (so scores are not all 1), sleeping `delay`.
class ArithmeticEngine : public Engine {
 public:
  explicit ArithmeticEngine(std::chrono::milliseconds delay = std::chrono::milliseconds(0),
                            std::set<std::string> failing = {})
      : delay_(delay), failing_(std::move(failing)) {}
  nlohmann::json describe() const override { return {{"engine", "test-arithmetic"}}; }
  const Tokenizer* tokenizer() const override { return nullptr; }
  SampleResult run(const Sample& sample, const GenerationSettings&) override {
    std::this_thread::sleep_for(delay_);
    if (failing_.count(sample.id)) throw std::runtime_error("out of memory (simulated in a test)");
    int i = std::stoi(sample.id.substr(1));
    SampleResult r;
    r.prediction = std::to_string(i % 3 == 2 ? 2 * i + 1 : 2 * i);
    r.input_tokens = 10 + i;
    r.output_tokens = 1;
    r.timing = {{"prefill_ms", 1.0}};
    return r;
  }

 private:
  std::chrono::milliseconds delay_;
  std::set<std::string> failing_;
};

class ExactMetric : public Metric {
 public:
  Scores score(const std::string& prediction, const std::vector<std::string>& references,
               const nlohmann::json&) const override {
    for (const auto& r : references)
      if (r == prediction) return {{"test_exact", 1.0}};
    return {{"test_exact", 0.0}};
  }
};

// Registers the test task ("test.counting", param `count`), the metric and a test method entry in
// the catalog (methods are registered by their own files in the product).
inline void register_test_components() {
  static bool done = false;
  if (done) return;
  done = true;
  ParamSpec count{"count", ParamType::kInt, 12, "number of samples", 1.0, 1000.0};
  TaskRegistry::instance().add(
      {"test.counting", "test-only arithmetic task", {count},
       [](const nlohmann::json& p) { return std::make_unique<CountingTask>(p["count"].get<int>()); },
       {{"protocols", {"test.default", "test.other"}}, {"default_protocol", "test.default"}}});
  MetricRegistry::instance().add(
      {"test.exact", "test-only exact match", {}, [](const nlohmann::json&) {
         return std::make_unique<ExactMetric>();
       }});
  ParamSpec budget{"budget_tokens", ParamType::kInt, 64, "tokens kept", 1.0};
  ParamSpec window{"window", ParamType::kInt, 8, "local window", 0.0};
  catalog()["method"]["test.method"] = {"method", "test.method", "test-only method",
                                        {budget, window}, {{"budget_params", {"budget_tokens"}}}};
}

}  // namespace kvbench::testing
