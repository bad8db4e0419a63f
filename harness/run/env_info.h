// SPDX-License-Identifier: Apache-2.0
// env.json: what produced a run (git SHA and dirty flag of the source tree, kvbench version,
// compiler, build type, OS, CPU, host, memory, GPUs via nvidia-smi when present). The engine adds
// its own facts (LibTorch and CUDA versions, device, dtype) under "engine".
#pragma once

#include <nlohmann/json.hpp>

namespace kvbench {

nlohmann::json collect_env_info();

}  // namespace kvbench
