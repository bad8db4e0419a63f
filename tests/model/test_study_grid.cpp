// SPDX-License-Identifier: Apache-2.0
// The reference study's grid as shipped configs (configs/study/, issue 13): each of the four model
// files expands under `kvbench validate` to (methods of methods.yaml) x (tasks of tasks.yaml) runs
// with the study's budgets and generation lengths, and the miniature runs end to end on the embedded
// SmolLM2-135M-Instruct and the tiny Qwen3 chat model, writing every method's row for every task
// family into one `kvbench report` table. The validation needs only a tokenizer folder; the
// miniature skips when setup has not converted the embedded model.
#include "harness/config_document.h"
#include "harness/run/run_config.h"
#include "tests/support/cli_test_support.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace kvbench {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using test::env;
using test::run_command;

const fs::path kStudy = fs::path(KVBENCH_SOURCE_DIR) / "configs" / "study";

// The method names of methods.yaml's grid, in order.
std::vector<std::string> study_methods() {
  const json methods = load_config_document(kStudy / "methods.yaml").value["sweep"]["grid"]["method"];
  std::vector<std::string> names;
  for (const json& m : methods) names.push_back(m["name"].get<std::string>());
  return names;
}

std::string kvbench() { return env("KVBENCH_BINARY", "kvbench"); }

// A data root holding the shared data plus a stand-in text2json/text2json.jsonl (the released file
// is not shipped; validation only needs the file to exist and parse).
fs::path data_root_with_text2json(const fs::path& root) {
  EXPECT_TRUE(test::recreate_dir(root));
  const fs::path shared = env("KVBENCH_DATA_DIR");
  for (const auto& entry : fs::directory_iterator(shared))
    if (entry.path().filename() != "text2json") fs::create_directory_symlink(entry.path(), root / entry.path().filename());
  fs::create_directories(root / "text2json");
  fs::create_directory_symlink(shared / "text2json" / "longproc_html_to_tsv", root / "text2json" / "longproc_html_to_tsv");
  std::ofstream(root / "text2json" / "text2json.jsonl")
      << R"({"problem": "Extract the person as JSON: Alice is 30.", "answer": "{\"name\": \"Alice\", \"age\": 30}"})" << "\n";
  return root;
}

TEST(StudyGrid, MethodAxisHoldsTheStudysMethodsAtTheirBudgets) {
  const std::vector<std::string> names = study_methods();
  const std::set<std::string> have(names.begin(), names.end());
  // The study's six (arXiv 2604.08426: full attention and five offloading methods).
  for (const char* method : {"full", "shadowkv", "yakv", "arkvale", "lrqk", "infinigen"})
    EXPECT_TRUE(have.count(method)) << method;
  EXPECT_EQ(names.size(), 6u);
  EXPECT_EQ(have.size(), names.size()) << "a method appears twice";
  const json methods = load_config_document(kStudy / "methods.yaml").value["sweep"]["grid"]["method"];
  for (const json& m : methods) {
    // methods.md 1.4: ShadowKV at 1.5625 % of the prompt, YAKV at 3.125 % + 64 local tokens.
    if (m["name"] == "shadowkv") EXPECT_EQ(m["params"]["sparse_budget"], "1.5625%");
    if (m["name"] == "infinigen") EXPECT_EQ(m["params"]["budget"], 0.2);   // methods.md 3.3
    if (m["name"] == "arkvale") EXPECT_EQ(m["params"]["token_budget"], "0.78125%");
    if (m["name"] == "yakv") {
      EXPECT_EQ(m["params"]["sparse_budget"], "3.125%");
      EXPECT_EQ(m["params"]["local_budget"], 64);
    }
  }
}

TEST(StudyGrid, EachModelFileValidatesToMethodsTimesTasks) {
  const fs::path tmp = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "study_grid_validate";
  const fs::path data = data_root_with_text2json(tmp / "data");
  const size_t tasks = load_config_document(kStudy / "tasks.yaml").value["sweep"]["grid"]["task"].size();
  const size_t expected = study_methods().size() * tasks;
  ASSERT_EQ(tasks, 11u);  // Text2JSON, NeedleBench 128K, LongProc 8k, 8 RULER NIAH tasks
  const std::string tokenizer_folder = test::tiny_chat_model().string();
  for (const char* model : {"llama31_8b", "llama32_3b", "qwen3_4b", "qwen3_30b_a3b"}) {
    SCOPED_TRACE(model);
    std::string variable = std::string("KVBENCH_STUDY_") + model;
    for (char& c : variable) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    const test::CommandResult r =
        run_command(variable + "='" + tokenizer_folder + "' KVBENCH_DATA_DIR='" + data.string() + "' " + kvbench() +
                    " validate '" + (kStudy / (std::string(model) + ".yaml")).string() + "' --json");
    ASSERT_EQ(r.code, 0) << r.out;
    const json runs = json::parse(r.out);
    ASSERT_TRUE(runs.is_array()) << r.out;
    EXPECT_EQ(runs.size(), expected);
    std::set<std::string> cells;
    for (const json& run : runs) {
      const json& cfg = run.contains("config") ? run["config"] : run;
      EXPECT_EQ(cfg["model"]["dtype"], "bfloat16");
      EXPECT_EQ(cfg["model"]["max_context"], 131072);
      cells.insert(cfg["method"]["name"].get<std::string>() + "/" + cfg["task"]["name"].get<std::string>());
    }
    EXPECT_EQ(cells.size(), expected) << "every (method, task) cell once";
  }
  // Without the variable the error names it.
  const test::CommandResult r = run_command("env -u KVBENCH_STUDY_QWEN3_4B " + kvbench() + " validate '" +
                                            (kStudy / "qwen3_4b.yaml").string() + "'");
  EXPECT_EQ(r.code, 2) << r.out;
  EXPECT_NE(r.out.find("KVBENCH_STUDY_QWEN3_4B is not set"), std::string::npos) << r.out;
}

TEST(StudyGrid, MiniatureRunsEveryMethodOnEveryTaskFamily) {
  const std::string embedded = expand_env("${KVBENCH_CACHE}/models/smollm2-135m-instruct");
  if (!fs::exists(fs::path(embedded) / "model.safetensors"))
    GTEST_SKIP() << "embedded model not converted (run scripts/setup.sh): " << embedded;
  const fs::path root = fs::path(env("KVBENCH_TEST_TMP", "/tmp")) / "study_grid_miniature";
  ASSERT_TRUE(test::recreate_dir(root));
  // The miniature on the embedded model, then the same grid on the tiny Qwen3 chat model. That model
  // has 2 layers, so InfiniGen keeps 1 dense layer there (the study's 2 would leave no sparse layer,
  // a config error of the method).
  std::ofstream(root / "embedded.yaml") << "include: " << (kStudy / "miniature.yaml").string() << "\n"
                                        << "output: {dir: " << (root / "runs").string() << "}\n";
  json methods_axis = load_config_document(kStudy / "methods.yaml").value["sweep"]["grid"]["method"];
  for (json& m : methods_axis)
    if (m["name"] == "infinigen") m["params"]["dense_layers"] = 1;
  std::ofstream(root / "tiny.yaml") << "include: " << (kStudy / "miniature.yaml").string() << "\n"
                                    << "model: {path: " << test::tiny_chat_model().string() << "}\n"
                                    << "output: {dir: " << (root / "runs").string() << "}\n"
                                    << "sweep:\n  grid:\n    method: " << methods_axis.dump() << "\n";
  test::CommandResult r;
  for (const char* config : {"embedded.yaml", "tiny.yaml"}) {
    r = run_command(kvbench() + " run '" + (root / config).string() + "' --no-progress");
    ASSERT_EQ(r.code, 0) << config << ": " << r.out;
  }
  const std::vector<std::string> methods = study_methods();
  const std::set<std::string> families = {"text2json.synthetic", "needlebench.multi_retrieval", "longproc.html_to_tsv",
                                          "ruler.niah_single_1"};
  std::set<std::string> cells;
  for (const auto& entry : fs::recursive_directory_iterator(root / "runs")) {
    if (entry.path().filename() != "metrics.json") continue;
    const json metrics = test::read_json_file(entry.path());
    const json config = test::read_json_file(entry.path().parent_path() / "config.json");
    SCOPED_TRACE(entry.path().string());
    EXPECT_EQ(metrics["n_samples"]["errors"], 0);
    EXPECT_GE(metrics["n_samples"]["scored"].get<int>(), 1);
    EXPECT_TRUE(families.count(config["task"]["name"].get<std::string>()));
    cells.insert(config["model"]["name"].get<std::string>() + "/" + config["method"]["name"].get<std::string>() + "/" +
                 config["task"]["name"].get<std::string>());
  }
  EXPECT_EQ(cells.size(), 2 * methods.size() * families.size());
  // One report table holds every method's row for every task family.
  r = run_command(kvbench() + " report '" + (root / "runs").string() + "' --format md --out '" +
                  (root / "report").string() + "'");
  ASSERT_EQ(r.code, 0) << r.out;
  std::ifstream in(root / "report" / "tables.md");
  ASSERT_TRUE(in.good()) << "no tables.md; report printed: " << r.out;
  std::stringstream tables;
  tables << in.rdbuf();
  // The accuracy table: one column group per task family, one row per (model, method, budget).
  const std::string text = tables.str();
  const std::string accuracy = text.substr(0, text.find("\n### ", text.find("### Accuracy") + 1));
  // (a family with one metric has the bare task name as its column, others "task: metric")
  for (const std::string& family : families)
    EXPECT_TRUE(std::regex_search(accuracy, std::regex("\\| " + std::regex_replace(family, std::regex("\\."), "\\.") +
                                                       "[: ]"))) << family << " has no column";
  for (const std::string& model : {std::string("smollm2-135m-instruct"), test::tiny_chat_model().filename().string()})
    for (const std::string& method : methods)
      EXPECT_TRUE(std::regex_search(accuracy, std::regex("\\| " + model + " +\\| " + method + " +\\|")))
          << "no row for " << model << " / " << method;
}

}  // namespace
}  // namespace kvbench
