// SPDX-License-Identifier: Apache-2.0
// Where a method keeps a KV tensor: on the compute device, in pinned host RAM (copied to the device
// by the transfer layer, harness/kv/transfer.h), or in host-mapped RAM (pinned + mapped into the
// device address space, read by CUDA kernels directly over PCIe: zero-copy).
// On a CPU compute device every placement is an ordinary CPU tensor, so the same method code runs in
// CI; the placement still decides how bytes are accounted (device vs host).
#pragma once

#include <ATen/ATen.h>

#include <string>

namespace kvbench {

enum class KVPlacement { kDevice, kPinnedHost, kMappedHost };

const char* placement_name(KVPlacement placement);               // "device" | "pinned" | "mapped"
KVPlacement parse_placement(const std::string& name);            // throws a config Error naming it

// A tensor and where it lives. For kMappedHost on CUDA, `device_view` aliases the same host memory
// through its device pointer (a CUDA tensor that kernels may read); otherwise it is undefined.
struct KVBuffer {
  at::Tensor host_or_device;  // the storage (CPU tensor for host placements, device tensor otherwise)
  at::Tensor device_view;     // kMappedHost on CUDA only
  KVPlacement placement = KVPlacement::kDevice;
  bool on_host() const { return placement != KVPlacement::kDevice; }
  int64_t bytes() const;
};

// Allocates an uninitialised buffer of `shape`/`dtype` for a method whose compute device is
// `compute_device`. Host placements on a CUDA compute device are page-locked (kPinnedHost) or
// page-locked and mapped (kMappedHost); on a CPU compute device they are plain CPU tensors.
KVBuffer allocate_kv_buffer(at::IntArrayRef shape, at::ScalarType dtype, KVPlacement placement,
                            const at::Device& compute_device);

}  // namespace kvbench
