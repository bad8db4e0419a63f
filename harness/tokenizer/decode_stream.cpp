// SPDX-License-Identifier: Apache-2.0
// Incremental decoding and stop strings (see decode_stream.h).
#include "harness/tokenizer/decode_stream.h"

#include <algorithm>

#include "harness/tokenizer/utf8.h"

namespace kvbench {

std::string DecodeStream::push(int32_t id) {
  tok_->append_bytes(&id, 1, skip_special_, pending_);
  // Release everything except a trailing sequence that is valid so far but incomplete; invalid
  // bytes are released (as U+FFFD), exactly where decode() of the whole sequence puts them.
  const size_t n = utf8::complete_prefix_length(pending_);
  std::string out = utf8::repair(std::string_view(pending_).substr(0, n));
  pending_.erase(0, n);
  return out;
}

std::string DecodeStream::finish() {
  std::string out = utf8::repair(pending_);
  pending_.clear();
  return out;
}

size_t find_first_stop(const std::string& text, const std::vector<std::string>& stops,
                       size_t* which) {
  size_t best = std::string::npos, best_len = 0;
  for (size_t k = 0; k < stops.size(); ++k) {
    if (stops[k].empty()) continue;
    const size_t p = text.find(stops[k]);
    if (p == std::string::npos) continue;
    if (p < best || (p == best && stops[k].size() > best_len)) {
      best = p;
      best_len = stops[k].size();
      if (which) *which = k;
    }
  }
  return best;
}

StopStringStream::StopStringStream(const Tokenizer& tokenizer, std::vector<std::string> stop_strings,
                                   bool skip_special_tokens)
    : stream_(tokenizer, skip_special_tokens), stops_(std::move(stop_strings)) {}

std::string StopStringStream::push(int32_t id) {
  if (stopped_) return "";
  return advance(stream_.push(id), false);
}

std::string StopStringStream::finish() {
  if (stopped_) return "";
  return advance(stream_.finish(), true);
}

std::string StopStringStream::advance(std::string added, bool final) {
  held_ += added;
  size_t which = 0;
  const size_t at = find_first_stop(held_, stops_, &which);
  std::string out;
  if (at != std::string::npos) {
    out = held_.substr(0, at);
    matched_ = stops_[which];
    stopped_ = true;
    held_.clear();
  } else if (final) {
    out.swap(held_);
  } else {
    // Hold back the longest suffix of held_ that is a proper prefix of some stop string.
    size_t keep = 0;
    for (const std::string& s : stops_)
      for (size_t len = std::min(s.size() - (s.empty() ? 0 : 1), held_.size()); len > keep; --len)
        if (held_.compare(held_.size() - len, len, s, 0, len) == 0) {
          keep = len;
          break;
        }
    out = held_.substr(0, held_.size() - keep);
    held_.erase(0, held_.size() - keep);
  }
  released_ += out;
  return out;
}

}  // namespace kvbench
