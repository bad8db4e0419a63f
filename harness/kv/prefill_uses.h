// SPDX-License-Identifier: Apache-2.0
// PrefillUses: what a method reads of a replayed shared prefill (torch-free: the run layer combines
// the declarations of the methods that share one recording).
//
// Shared prefill (harness/model/shared_prefill.h): in a sweep, the exact prefill of a prompt is
// computed once, its attention calls recorded, and replayed into every method whose prefill is
// exact attention over the prompt (AttentionCall::output_wanted = false). A method opts in through
// its registry entry's `extra`: {"shared_prefill": {"uses": [...]}} naming the call fields beyond
// key/value/positions/valid it reads during prefill ("query", "key_pre_rope", "hidden"); the
// recording keeps only what the methods sharing it use. Opting in is a promise, checked by
// tests/methods/test_shared_prefill.cpp: the method's prefill output equals exact attention bit for
// bit, so a replayed method decodes exactly as if it had run its own prefill.
#pragma once

#include "harness/error.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace kvbench {

struct PrefillUses {
  bool query = false;
  bool key_pre_rope = false;
  bool hidden = false;

  // What `extra` declares; nullopt when the entry does not opt in. Unknown names are a kvbench bug.
  static std::optional<PrefillUses> of_entry(const nlohmann::json& extra) {
    if (!extra.is_object() || !extra.contains("shared_prefill")) return std::nullopt;
    const nlohmann::json& declared = extra["shared_prefill"];
    PrefillUses uses;
    if (!declared.is_object() || !declared.contains("uses")) return uses;
    for (const auto& field : declared["uses"]) {
      const std::string name = field.get<std::string>();
      KVBENCH_ASSERT(name == "query" || name == "key_pre_rope" || name == "hidden",
                     "shared_prefill.uses names an unknown call field '", name, "'");
      uses.query = uses.query || name == "query";
      uses.key_pre_rope = uses.key_pre_rope || name == "key_pre_rope";
      uses.hidden = uses.hidden || name == "hidden";
    }
    return uses;
  }
  PrefillUses& operator|=(const PrefillUses& other) {
    query = query || other.query;
    key_pre_rope = key_pre_rope || other.key_pre_rope;
    hidden = hidden || other.hidden;
    return *this;
  }
  // A recording that keeps this also serves methods that use `wanted`.
  bool covers(const PrefillUses& wanted) const {
    return (query || !wanted.query) && (key_pre_rope || !wanted.key_pre_rope) && (hidden || !wanted.hidden);
  }
};

}  // namespace kvbench
