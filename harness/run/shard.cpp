// SPDX-License-Identifier: Apache-2.0
#include "harness/run/shard.h"

#include "harness/error.h"
#include "harness/hashing.h"

#include <algorithm>

namespace kvbench {
namespace {

// The first 64 bits of sha256(text): a well-mixed, platform-independent hash (std::hash is
// neither). Its modulo bias for N << 2^64 is below 2^-40.
uint64_t stable_hash(const std::string& text) {
  const std::string hex = sha256_hex(text);
  return std::stoull(hex.substr(0, 16), nullptr, 16);
}

}  // namespace

std::string ShardSpec::tag() const {
  return "shard-" + std::to_string(index) + "-of-" + std::to_string(count);
}

std::string ShardSpec::text() const { return std::to_string(index) + "/" + std::to_string(count); }

ShardSpec parse_shard(const std::string& text, const std::string& option) {
  const size_t slash = text.find('/');
  auto is_number = [](const std::string& s) {
    return !s.empty() && s.size() <= 9 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  const std::string i = slash == std::string::npos ? "" : text.substr(0, slash);
  const std::string n = slash == std::string::npos ? "" : text.substr(slash + 1);
  KVBENCH_CHECK_KIND(ErrorKind::kUsage, is_number(i) && is_number(n), option, ": expected i/N (e.g. 0/4), got '",
                     text, "'");
  ShardSpec spec{std::stoul(i), std::stoul(n)};
  KVBENCH_CHECK_KIND(ErrorKind::kUsage, spec.count >= 1 && spec.index < spec.count, option,
                     ": shard index must be in 0..N-1 and N >= 1, got '", text, "'");
  return spec;
}

ShardSpec sub_shard(const ShardSpec& shard, size_t worker, size_t workers) {
  KVBENCH_ASSERT(workers >= 1 && worker < workers, "bad worker ", worker, " of ", workers);
  return {shard.index * workers + worker, shard.count * workers};
}

size_t sample_group(const std::string& cell_key, const std::string& sample_id, size_t groups) {
  if (groups <= 1) return 0;
  return static_cast<size_t>(stable_hash(cell_key + "\n" + sample_id) % groups);
}

ShardPlan::ShardPlan(std::vector<ShardCell> cells, size_t shard_count) : shard_count_(std::max<size_t>(shard_count, 1)) {
  // A sweep may name one directory twice (cells that differ only in task.limit): one cell.
  std::map<std::string, size_t> groups_of_key;
  for (const auto& cell : cells) {
    size_t& groups = groups_of_key[cell.key];
    groups = std::max({groups, cell.groups, size_t{1}});
  }
  std::vector<std::pair<uint64_t, std::string>> order;
  std::string id_text;
  for (const auto& [key, groups] : groups_of_key) {
    order.emplace_back(stable_hash(key), key);
    id_text += key + " " + std::to_string(groups) + "\n";
  }
  sweep_id_ = sha256_hex(id_text).substr(0, 16);
  std::sort(order.begin(), order.end());  // hash order: cells of one model or method spread out
  for (const auto& [hash, key] : order) {
    const size_t groups = groups_of_key[key];
    std::vector<size_t>& shards = shard_by_group_[key];
    for (size_t g = 0; g < groups; ++g) {
      shards.push_back(units_.size() % shard_count_);
      units_.emplace_back(key, g);
    }
  }
}

size_t ShardPlan::shard_of(const std::string& cell_key, size_t group) const {
  auto it = shard_by_group_.find(cell_key);
  KVBENCH_ASSERT(it != shard_by_group_.end() && group < it->second.size(), "cell ", cell_key, " group ", group,
                 " is not in the shard plan");
  return it->second[group];
}

size_t ShardPlan::group_count(const std::string& cell_key) const {
  auto it = shard_by_group_.find(cell_key);
  KVBENCH_ASSERT(it != shard_by_group_.end(), "cell ", cell_key, " is not in the shard plan");
  return it->second.size();
}

std::vector<size_t> ShardPlan::groups_of(const std::string& cell_key, size_t shard) const {
  std::vector<size_t> out;
  auto it = shard_by_group_.find(cell_key);
  KVBENCH_ASSERT(it != shard_by_group_.end(), "cell ", cell_key, " is not in the shard plan");
  for (size_t g = 0; g < it->second.size(); ++g)
    if (it->second[g] == shard) out.push_back(g);
  return out;
}

CellShare::CellShare(std::string cell_key, size_t groups)
    : cell_key_(std::move(cell_key)), group_count_(std::max<size_t>(groups, 1)) {
  for (size_t g = 0; g < group_count_; ++g) groups_.push_back(g);
}

CellShare::CellShare(const ShardPlan& plan, const ShardSpec& shard, std::string cell_key)
    : cell_key_(std::move(cell_key)), group_count_(plan.group_count(cell_key_)) {
  KVBENCH_ASSERT(plan.shard_count() == shard.count, "shard ", shard.text(), " of a plan for ", plan.shard_count(),
                 " shards");
  groups_ = plan.groups_of(cell_key_, shard.index);
}

bool CellShare::owns_sample(const std::string& sample_id) const {
  if (group_count_ == 1) return !groups_.empty();
  return std::binary_search(groups_.begin(), groups_.end(), sample_group(cell_key_, sample_id, group_count_));
}

}  // namespace kvbench
