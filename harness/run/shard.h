// SPDX-License-Identifier: Apache-2.0
// Deterministic sharding of a sweep into work units, for `kvbench run --shard i/N` (one Slurm array
// task, one --workers child). A work unit is one sample group of one cell: a cell (run directory)
// with output.sample_groups = G splits its samples into G groups by a hash of (cell key, sample id)
// (so raising task.limit never moves a sample to another group). ShardPlan deals the units of the
// whole sweep to N shards, balanced, from the set of cell keys alone: re-expanding or reordering the
// sweep gives the same assignment. Every unit has exactly one shard for every N.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kvbench {

struct ShardSpec {
  size_t index = 0;  // 0-based, < count
  size_t count = 1;  // 1: not sharded (the plain `kvbench run`)
  bool sharded() const { return count > 1; }
  // "shard-<index>-of-<count>": the suffix of the shard's files in a cell directory.
  std::string tag() const;
  // "<index>/<count>"
  std::string text() const;
};

// "i/N" with 0 <= i < N (a kUsage error naming the option otherwise).
ShardSpec parse_shard(const std::string& text, const std::string& option = "--shard");

// Sub-shard `worker` of `workers` inside `shard`: shard i of N run by W workers is shards
// i*W + w of N*W, so the workers of all array tasks together still cover every unit once.
ShardSpec sub_shard(const ShardSpec& shard, size_t worker, size_t workers);

// The group (0 <= g < groups) of a sample of a cell: a hash of (cell key, sample id).
size_t sample_group(const std::string& cell_key, const std::string& sample_id, size_t groups);

// The cells of a sweep as sharding sees them.
struct ShardCell {
  std::string key;    // the run directory below output.dir: label + "__" + run hash
  size_t groups = 1;  // output.sample_groups
};

// Which shard runs each work unit of a sweep. Units are ordered by (sha256 of the cell key, cell
// key, group) and dealt round-robin to shards 0..N-1, so each shard gets floor(U/N) or ceil(U/N)
// of the U units and the groups of one cell (G <= N) go to G different shards. The order depends
// only on the set of cells, never on their order in the sweep; `sweep_id` names that set, so a
// task can refuse a config that was edited after the array was submitted.
class ShardPlan {
 public:
  ShardPlan(std::vector<ShardCell> cells, size_t shard_count);
  size_t shard_count() const { return shard_count_; }
  size_t unit_count() const { return units_.size(); }
  // The shard of group `group` of a cell (a kInternal error for a cell not in the plan).
  size_t shard_of(const std::string& cell_key, size_t group) const;
  size_t group_count(const std::string& cell_key) const;
  // The groups of a cell that `shard` runs, ascending.
  std::vector<size_t> groups_of(const std::string& cell_key, size_t shard) const;
  // First 16 hex digits of sha256 over the sorted "key groups" lines.
  std::string sweep_id() const { return sweep_id_; }

 private:
  size_t shard_count_;
  std::vector<std::pair<std::string, size_t>> units_;            // dealing order
  std::map<std::string, std::vector<size_t>> shard_by_group_;    // cell key -> shard of each group
  std::string sweep_id_;
};

// What one shard runs of one cell.
class CellShare {
 public:
  // The whole cell (an unsharded run).
  CellShare(std::string cell_key, size_t groups);
  CellShare(const ShardPlan& plan, const ShardSpec& shard, std::string cell_key);
  // Whether this shard runs any group of the cell (if not, the cell is not touched at all).
  bool any() const { return !groups_.empty(); }
  bool owns_sample(const std::string& sample_id) const;
  // The groups of the cell this shard runs, ascending.
  const std::vector<size_t>& groups() const { return groups_; }
  size_t group_count() const { return group_count_; }

 private:
  std::string cell_key_;
  size_t group_count_;
  std::vector<size_t> groups_;
};

}  // namespace kvbench
