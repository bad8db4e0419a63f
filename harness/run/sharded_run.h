// SPDX-License-Identifier: Apache-2.0
// Sharded runs on top of the runner: which samples of a planned cell a shard runs (cell_share), the
// status file each shard keeps in the cell directory (run.shard-<i>-of-<N>.json), and the sweep
// manifest (<output.dir>/sweep-<id>.json: every cell a sweep expands to) that `kvbench status` reads
// to report cells that have no directory yet.
#pragma once

#include "harness/run/runner.h"
#include "harness/run/shard.h"
#include "harness/task/task.h"

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace kvbench {

// The cell's name below output.dir: label + "__" + run hash (its identity, whatever output.dir is).
std::string cell_key(const RunPlan& plan);
// output.sample_groups of the cell (1: the cell is one work unit).
size_t sample_groups(const RunPlan& plan);
// The sweep's cells dealt to `shard_count` shards (shard.h ShardPlan).
ShardPlan make_shard_plan(const std::vector<RunPlan>& plans, size_t shard_count);
// What `shard` runs of the cell: all of it when not sharded, else its units in `shard_plan`.
CellShare cell_share(const RunPlan& plan, const ShardSpec& shard, const ShardPlan* shard_plan);

// run.shard-<i>-of-<N>.json: {shard, status (running | finished | interrupted), started, finished,
// host, pid, groups, group_count, selected (this shard's samples), recorded, errors, missing,
// interrupted, slurm (SLURM_* job ids when set), cuda_visible_devices (null when unset)}.
nlohmann::json shard_status(const ShardSpec& shard, const CellShare& share, const std::string& status,
                            const std::string& started, const std::string& finished,
                            const std::vector<Sample>& samples, const std::map<std::string, nlohmann::json>& rows,
                            bool interrupted);

// Writes <output.dir>/sweep-<id8>.json for each output.dir of the plans (atomically; id8: the first
// 8 hex digits of the sha256 of the sorted cell keys, so the same sweep writes the same file):
// {"config", "cells": [{"key", "label", "hash", "sample_groups", "axes"}]}.
void write_sweep_manifests(const std::vector<RunPlan>& plans, const std::string& config_path);

}  // namespace kvbench
