// SPDX-License-Identifier: Apache-2.0
// KVCounters and KVResidentBytes (harness/kv/kv_counters.h).
#include "harness/kv/kv_counters.h"

#include <algorithm>

namespace kvbench {

void KVResidentBytes::add_device(const at::Tensor& t, KVByteRole role) {
  if (!t.defined()) return;
  (role == KVByteRole::kKV ? kv_device : metadata_device) += static_cast<int64_t>(t.nbytes());
}

void KVCounters::reset() { *this = KVCounters(); }

HostToDevice& KVCounters::transfer(const at::Device& compute_device) {
  if (!transfer_) transfer_ = std::make_unique<HostToDevice>(compute_device);
  return *transfer_;
}

void KVCounters::observe(const KVResidentBytes& resident) {
  peak_device_bytes_ = std::max(peak_device_bytes_, resident.device() + transient_bytes_);
}

KVMemory KVCounters::memory(const KVResidentBytes& resident) const {
  KVMemory m;
  m.kv_device_bytes = resident.kv_device;
  m.metadata_device_bytes = resident.metadata_device;
  m.device_bytes = resident.device();
  m.host_bytes = resident.host;
  m.transient_device_bytes = transient_bytes_;
  m.peak_device_bytes = peak_device_bytes_;
  m.tokens_attended = tokens_attended_;
  m.host_to_device_bytes = transfer_ ? transfer_->bytes_copied() : 0;
  m.cache_hits = cache_hits_;
  m.cache_lookups = cache_lookups_;
  return m;
}

}  // namespace kvbench
