// SPDX-License-Identifier: Apache-2.0
// samples.jsonl rows -> metrics.json. Only the selected samples count, in the task's order, so a
// resumed run and an uninterrupted run aggregate the same rows to the same numbers.
//   scores:      per score name {mean, stderr (sample sd / sqrt(n)), n} over rows without error
//   buckets:     the same per metadata.bucket (LongBench-E length, NIAH cell, RULER length), if any
//   n_samples:   {selected, recorded, scored, errors, missing}
//   performance: {field: {mean, p50, p90, max}} over timing.* of scored rows (varies run to run)
//   memory, kv:  {field: {mean, max}} over memory.* and kv.* numbers
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

namespace kvbench {

nlohmann::json aggregate_samples(const std::vector<std::string>& selected_ids,
                                 const std::map<std::string, nlohmann::json>& rows);

}  // namespace kvbench
