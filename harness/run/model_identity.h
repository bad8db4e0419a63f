// SPDX-License-Identifier: Apache-2.0
// What identifies a run's model and code (issue 19): the run hash uses the model folder's structure
// (config.json, the safetensors index and each shard's header: tensor names, dtypes, shapes, offsets),
// not its absolute path, so a moved folder keeps its runs; the weights' content hash and the code
// version are recorded per run and per sample, and resuming with different ones is an error unless
// allowed (RunOptions::allow_version_mix).
#pragma once

#include <string>

namespace kvbench {

// sha256 of config.json and every safetensors header of the folder, or "" when the folder has no
// config.json (an engine that loads no checkpoint). Reads headers only: cheap for any size.
std::string model_structure_sha256(const std::string& folder);

// sha256 over config.json and every byte of the safetensors files (names in order): the weights
// themselves. Memoized per process by (path, size, modification time); "" without config.json.
std::string model_weights_sha256(const std::string& folder);

// "<KVBENCH_VERSION>+<git sha, 12 hex>[-dirty]" of the source tree this binary was built from, or
// the plain version when it is not a git checkout.
const std::string& code_version();

}  // namespace kvbench
