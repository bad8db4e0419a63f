// SPDX-License-Identifier: Apache-2.0
// Text2JSON scorer (see text2json_scorer.h): matching by name, -0.5 per missing/null attribute,
// -0.25 per wrong value, union denominator, exactly one '[' and one ']', U+2019 -> ' on names
// and values, repeated gold names make the sample "bad".
#include "metrics/text2json_scorer.h"

#include "harness/error.h"
#include "harness/task/metric.h"
#include "harness/pytext/py_json.h"
#include "harness/pytext/unicode_text.h"

#include <algorithm>

namespace kvbench {
namespace {

std::u32string apostrophes(std::u32string text) {
  std::replace(text.begin(), text.end(), U'\u2019', U'\'');
  return text;
}

struct GoldEntry {
  std::u32string name;
  std::vector<std::pair<std::u32string, PyJson>> attributes;  // the two non-name keys, in order
};

}  // namespace

Text2JsonSample text2json_score_sample(const std::string& prediction, const std::string& gold) {
  Text2JsonSample out;
  std::optional<PyJson> gold_json = py_json_loads(gold);
  KVBENCH_CHECK_INPUT(gold_json.has_value(), "Text2JSON gold answer is not valid JSON");
  KVBENCH_CHECK_INPUT(gold_json->kind == PyJson::Kind::kArray,
                      "Text2JSON gold answer is not a JSON list");
  std::vector<GoldEntry> remaining;
  for (const PyJson& instance : gold_json->items) {
    KVBENCH_CHECK_INPUT(instance.kind == PyJson::Kind::kObject && instance.fields.size() == 3,
                        "Text2JSON gold answer: every element must be an object with 3 keys");
    const PyJson* name = instance.find(U"name");
    KVBENCH_CHECK_INPUT(name != nullptr && name->kind == PyJson::Kind::kString,
                        "Text2JSON gold answer: an element has no string field 'name'");
    GoldEntry entry{apostrophes(name->text), {}};
    for (const auto& field : instance.fields)
      if (field.first != U"name") entry.attributes.push_back(field);
    bool repeated = std::any_of(remaining.begin(), remaining.end(),
                                [&](const GoldEntry& g) { return g.name == entry.name; });
    if (repeated) {
      out.bad = true;
      return out;
    }
    remaining.push_back(std::move(entry));
  }
  long union_size = static_cast<long>(remaining.size());

  // Exactly one '[' and one ']' with '[' first; the slice between them must parse as a list.
  size_t open = prediction.find('['), close = prediction.find(']');
  if (std::count(prediction.begin(), prediction.end(), '[') != 1 ||
      std::count(prediction.begin(), prediction.end(), ']') != 1 || open > close)
    return out;
  std::optional<PyJson> parsed = py_json_loads(prediction.substr(open, close - open + 1));
  if (!parsed || parsed->kind != PyJson::Kind::kArray) return out;
  out.valid_list = true;

  double credit = 0.0;
  const double max_instance = 1.0, missing_penalty = max_instance / 2, wrong_penalty = max_instance / 4;
  for (const PyJson& instance : parsed->items) {
    if (instance.kind != PyJson::Kind::kObject) {
      // Python: `'name' not in instance` is a substring test on a str (raising later when it
      // holds "name") and raises on numbers, booleans and null.
      if (instance.kind != PyJson::Kind::kString || instance.text.find(U"name") != std::u32string::npos)
        ++out.python_would_raise;
      ++union_size;
      continue;
    }
    const PyJson* name = instance.find(U"name");
    if (name == nullptr || name->kind != PyJson::Kind::kString) {
      ++union_size;
      continue;
    }
    std::u32string key = apostrophes(name->text);
    auto match = std::find_if(remaining.begin(), remaining.end(),
                              [&](const GoldEntry& g) { return g.name == key; });
    if (match == remaining.end()) {
      ++union_size;
      continue;
    }
    double instance_score = max_instance;
    for (const auto& attribute : match->attributes) {
      const PyJson* value = instance.find(attribute.first);
      if (value == nullptr || value->kind == PyJson::Kind::kNull) {
        instance_score -= missing_penalty;
        continue;
      }
      KVBENCH_CHECK_INPUT(attribute.second.kind == PyJson::Kind::kString,
                          "Text2JSON gold answer: attribute '", u32_to_utf8(attribute.first),
                          "' is not a string");
      std::u32string predicted;
      if (value->kind == PyJson::Kind::kString) {
        predicted = apostrophes(value->text);
      } else if (value->kind == PyJson::Kind::kInt) {
        predicted = utf8_to_u32(value->number);  // str(int)
      } else {
        ++out.python_would_raise;  // .replace on a float/bool/dict raises in the original
        instance_score -= wrong_penalty;
        continue;
      }
      if (apostrophes(attribute.second.text) != predicted) instance_score -= wrong_penalty;
    }
    credit += instance_score;
    remaining.erase(match);
  }
  KVBENCH_CHECK_INPUT(union_size > 0, "Text2JSON: empty gold list and no predicted elements "
                      "(the original evaluator divides by zero)");
  out.credit = credit;
  out.union_size = union_size;
  out.score = credit / static_cast<double>(union_size);
  return out;
}

double text2json_average(const std::vector<Text2JsonSample>& samples) {
  double total = 0.0;
  long bad = 0;
  for (const Text2JsonSample& s : samples) {
    if (s.bad) ++bad;
    else total += s.score;
  }
  long n = static_cast<long>(samples.size());
  KVBENCH_CHECK(n - bad > 0, "Text2JSON average over zero usable samples");
  return 100 * total / static_cast<double>(n - bad);
}

namespace {

class Text2JsonMetric : public Metric {
 public:
  Scores score(const std::string& prediction, const std::vector<std::string>& references,
               const nlohmann::json&) const override {
    KVBENCH_CHECK_INPUT(references.size() == 1, "Text2JSON: expected one reference (the gold "
                        "JSON answer), got ", references.size());
    Text2JsonSample s = text2json_score_sample(prediction, references[0]);
    if (s.bad) return {{"bad_sample", 1.0}};
    return {{"text2json_score", s.score}, {"bad_sample", 0.0}};
  }
};

}  // namespace

KVBENCH_REGISTER(Metric, RegistryEntry<Metric>{
    "text2json.iou",
    "Text2JSON (authors' evaluator): name-matched credit with missing/wrong penalties over union",
    {},
    [](const nlohmann::json&) { return std::make_unique<Text2JsonMetric>(); },
    {{"source", "yandex-research/context-intensive-kv-offloading shadowkv-opencompass/opencompass/"
                "datasets/text2json.py:Text2jsonEvaluator"},
     {"scale", "per-sample 0..1 (absent for bad samples); average_score = 100 * sum / (n - bad) "
               "via text2json_average"}}});

}  // namespace kvbench
