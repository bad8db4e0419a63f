// SPDX-License-Identifier: Apache-2.0
// `kvbench rescore`: recomputes every sample's scores from its stored prediction, references and
// metadata with the scorers this build registers for the run's task and protocol (the runner's own
// make_task_metrics/score_prediction), then metrics.json with the runner's aggregate_samples over
// the run's selected ids (run.json "selected_ids", task order). Predictions are never changed; a
// file is rewritten (atomically, holding the run's lock) only when its content changes, so an
// unchanged run is left byte-identical.
#pragma once

#include <filesystem>
#include <string>

namespace kvbench {

struct RescoreOutcome {
  std::filesystem::path dir;
  size_t rescored = 0;         // rows whose prediction was scored again
  size_t scores_changed = 0;   // rows whose scores differ from the stored ones
  bool metrics_changed = false;
};

RescoreOutcome rescore_run(const std::filesystem::path& dir);

}  // namespace kvbench
