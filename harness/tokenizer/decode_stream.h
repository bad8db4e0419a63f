// SPDX-License-Identifier: Apache-2.0
// Incremental detokenization for generation: tokens arrive one at a time, text is released as
// soon as it is complete UTF-8, and stop strings are detected across token boundaries without
// ever releasing text that a stop string could still begin with.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "harness/tokenizer/tokenizer.h"

namespace kvbench {

// Invariant: the concatenation of everything push() and finish() return equals
// tokenizer.decode(all pushed ids, skip_special_tokens) (same U+FFFD repair as decode).
class DecodeStream {
 public:
  explicit DecodeStream(const Tokenizer& tokenizer, bool skip_special_tokens = true)
      : tok_(&tokenizer), skip_special_(skip_special_tokens) {}

  // Adds one token; returns the text it completes (empty while a multi-byte character is split
  // across tokens).
  std::string push(int32_t id);
  // Ends the stream: returns the held-back incomplete bytes, repaired (U+FFFD) like decode().
  std::string finish();

 private:
  const Tokenizer* tok_;
  bool skip_special_;
  std::string pending_;  // bytes of an incomplete trailing UTF-8 sequence
};

// Stop-string handling on top of DecodeStream. push() returns text that is safe to show: it stops
// short of any suffix that is a prefix of a stop string, and once a stop string appears, the text
// before it is the last thing returned and stopped() becomes true.
class StopStringStream {
 public:
  StopStringStream(const Tokenizer& tokenizer, std::vector<std::string> stop_strings,
                   bool skip_special_tokens = true);

  std::string push(int32_t id);
  // Ends the stream (no more tokens): releases held-back text unless stopped.
  std::string finish();
  bool stopped() const { return stopped_; }
  // The stop string that ended the stream, if any.
  const std::optional<std::string>& matched() const { return matched_; }
  // All text released so far (push + finish results concatenated).
  const std::string& text() const { return released_; }

 private:
  std::string advance(std::string added, bool final);
  DecodeStream stream_;
  std::vector<std::string> stops_;
  std::string held_;      // decoded but not yet released (could start a stop string)
  std::string released_;
  bool stopped_ = false;
  std::optional<std::string> matched_;
};

// Earliest occurrence of any of `stops` in `text` (ties: the longer stop string); npos if none.
size_t find_first_stop(const std::string& text, const std::vector<std::string>& stops,
                       size_t* which = nullptr);

}  // namespace kvbench
