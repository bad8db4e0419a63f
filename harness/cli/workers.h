// SPDX-License-Identifier: Apache-2.0
// `kvbench run --workers N`: N child kvbench processes on this machine, child w running shard
// w of N (or, with --shard i/M, sub-shard i*N + w of M*N: shard.h sub_shard), each pinned to one
// visible GPU through CUDA_VISIBLE_DEVICES when there are GPUs. The parent forwards SIGINT/SIGTERM,
// waits for all children and prints one line per worker (each child prints its own results table).
#pragma once

#include "harness/run/shard.h"

#include <string>
#include <vector>

namespace kvbench {

// The command line after the program name without --workers and --shard (each child gets its own).
std::vector<std::string> worker_base_args(int argc, char** argv);

// GPU ids the children are spread over: CUDA_VISIBLE_DEVICES when set (empty or "-1": none), else
// the indices `nvidia-smi` lists; empty when there is no GPU.
std::vector<std::string> visible_gpus();

// Runs the children and waits for them. Exit code: 130 when interrupted, else 2 when a child
// exited 2 (config error), else 1 when any child failed, else 0.
int run_workers(const std::vector<std::string>& base_args, const ShardSpec& shard, size_t workers);

}  // namespace kvbench
