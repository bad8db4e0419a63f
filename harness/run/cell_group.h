// SPDX-License-Identifier: Apache-2.0
// Cells of a sweep that share one prefill per sample. Cells with the same model section, the same
// task section (so the same samples and prompts) and the same generation.prefill_chunk form a
// group when generation.shared_prefill is on, generation.batch_size is 1 and their method declares
// PrefillUses (harness/kv/prefill_uses.h). A group runs sample by sample: every cell still missing
// the sample runs it, the first through a recorded exact prefill and the others through a replay of
// that recording (the engine holds it: harness/model/shared_prefill.h), then the recording is
// dropped. Each cell keeps its own store, resume state and metrics; results equal running the cells
// one after the other (tests/run/test_shared_prefill_sweep.cpp).
#pragma once

#include "harness/run/cell_run.h"
#include "harness/run/runner.h"

#include <atomic>
#include <cstddef>
#include <vector>

namespace kvbench {

// The method of the run declares PrefillUses and the run has shared_prefill on and batch_size 1.
bool shares_prefill(const RunPlan& plan);

// The plans partitioned into groups (indices into `plans`): each shared-prefill group in the order
// of its first cell, every other plan alone; together the groups list every plan once, and a plan
// comes after the plans before it in its own group.
std::vector<std::vector<size_t>> prefill_groups(const std::vector<RunPlan>& plans);

// Runs the pending samples of the opened cells of one group, sample by sample (task order of the
// first cell that has the sample). Returns true when `stop` interrupted it.
bool run_cell_group(const std::vector<CellRun*>& cells, const std::atomic<bool>* stop);

}  // namespace kvbench
