// SPDX-License-Identifier: Apache-2.0
// KVCounters: the memory and work bookkeeping every KV method shares (peak device bytes, the last
// step's transient bytes, tokens attended, host->device bytes through the method's one HostToDevice,
// cache hits/lookups) and its assembly into KVMemory. KVResidentBytes is what a method holds at
// one moment (device K/V rows, device selection metadata, host RAM), summed from its KVSlotStores
// (harness/kv/slot_store.h) and any fixed tensors it keeps.
#pragma once

#include "harness/kv/method.h"
#include "harness/kv/transfer.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>

namespace kvbench {

// What a stored tensor holds, for KVMemory's split of device bytes.
enum class KVByteRole { kKV, kMetadata };

// Resident bytes by place and role. Invariant: device() = kv_device + metadata_device.
struct KVResidentBytes {
  int64_t kv_device = 0;        // key/value rows (exact or quantized) on the compute device
  int64_t metadata_device = 0;  // selection metadata (validity, digests, landmarks, factors, ids)
  int64_t host = 0;             // host RAM (offloaded rows or metadata)
  int64_t device() const { return kv_device + metadata_device; }
  // Adds t.nbytes() (0 when undefined) to the device bytes of `role`.
  void add_device(const at::Tensor& t, KVByteRole role);
  void add_host(int64_t bytes) { host += bytes; }
};

class KVCounters {
 public:
  // Zeroes every counter and drops the transfer object (a new batch starts).
  void reset();

  // The method's one host->device copier, created on first use for `compute_device`; its
  // bytes_copied() is KVMemory::host_to_device_bytes.
  HostToDevice& transfer(const at::Device& compute_device);

  // Working buffers of the current call (gathered rows, scores); not resident. Methods set it at
  // the start of each call that has any (0 otherwise) before observe().
  void set_transient_bytes(int64_t bytes) { transient_bytes_ = bytes; }
  int64_t transient_bytes() const { return transient_bytes_; }

  // KV rows attended per layer, KV head and sequence at the last call (see KVMemory).
  void set_tokens_attended(double tokens) { tokens_attended_ = tokens; }
  double tokens_attended() const { return tokens_attended_; }

  // Rows/chunks the selection asked for, `hits` of them already resident (cumulative).
  void count_lookups(int64_t hits, int64_t lookups) {
    cache_hits_ += hits;
    cache_lookups_ += lookups;
  }
  int64_t cache_hits() const { return cache_hits_; }
  int64_t cache_lookups() const { return cache_lookups_; }

  // Called at the end of every attend(): peak = max(peak, resident.device() + transient).
  void observe(const KVResidentBytes& resident);
  int64_t peak_device_bytes() const { return peak_device_bytes_; }

  // Every KVMemory field but layer_budgets (the method's own), from `resident` and the counters.
  KVMemory memory(const KVResidentBytes& resident) const;

 private:
  std::unique_ptr<HostToDevice> transfer_;
  int64_t transient_bytes_ = 0;
  int64_t peak_device_bytes_ = 0;
  double tokens_attended_ = 0;
  int64_t cache_hits_ = 0;
  int64_t cache_lookups_ = 0;
};

}  // namespace kvbench
