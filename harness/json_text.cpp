// SPDX-License-Identifier: Apache-2.0
#include "harness/json_text.h"

namespace kvbench {

nlohmann::json parse_json_text(const std::string& text, ErrorKind kind, const std::string& where,
                               const std::string& what) {
  const std::string prefix = where + ": " + (what.empty() ? "" : what + ": ");
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    KVBENCH_FAIL(kind, prefix, "invalid JSON at byte ", e.byte, ": ", e.what());
  } catch (const nlohmann::json::exception& e) {
    // out_of_range 406: a number literal beyond the range of a double (found by tests/fuzz).
    KVBENCH_FAIL(kind, prefix, "invalid JSON: ", e.what());
  }
}

}  // namespace kvbench
