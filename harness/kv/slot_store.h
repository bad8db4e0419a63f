// SPDX-License-Identifier: Apache-2.0
// KVSlotStore: the growable per-layer slot storage KV methods build on. Per layer it holds a set of
// tensors ("fields": keys, values, validity rows, pre-RoPE keys, page digests, ...) that share one
// slot axis, one filled length and one capacity. It appends rows with amortized geometric growth
// from the reset() hint (or exact growth), compacts in place, places its tensors on the compute
// device or in pinned / mapped host memory, and reports its bytes by accounting role.
//
// What it offers the methods built on it:
// - full / Quest / ShadowKV prompt: append() per call, filled() views for attention;
// - StreamingLLM: keep_ranges() (sink + recent window moved to the front in place) at a fixed
//   capacity, so a decode step evicts and appends without reallocating;
// - eviction by index (H2O, SnapKV, TOVA): keep() with shared slots [n] or per-KV-head slots
//   [B, Hkv, n] (fields [B, Hkv, slots, ...]); a per-slot score field [B, Hkv, slots] (role
//   kMetadata) is kept in lockstep with the rows;
// - pages (ArkVale) / quantized groups (KIVI): a slot may be a page or a group of tokens (fields
//   [B, Hkv, pages, page * d], uint8 codes, scales of any dtype); set_capacity() for fixed pools;
// - host stores + device working sets (LRQK, ShadowKV values): one store placed kPinnedHost or
//   kMappedHost, another on the device with a fixed capacity filled through HostToDevice into
//   storage() views (harness/kv/transfer.h).
// Rows appended live on the compute device; host-placed fields are copied there on append.
#pragma once

#include "harness/kv/kv_counters.h"
#include "harness/kv/placement.h"

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace kvbench {

// One per-slot tensor of every layer. Its shape is learned from the first rows (or `like`
// tensors) given for a layer: those sizes with the slot dimension replaced by the capacity.
struct SlotField {
  std::string name;             // for error messages ("keys", "valid", ...)
  int64_t slot_dim = 2;         // e.g. 2 for [B, Hkv, slots, d], 1 for [B, slots], 0 for [slots, Hkv, d]
  KVByteRole role = KVByteRole::kKV;
};

enum class SlotGrowth {
  // First allocation max(hint, needed) slots, then max(needed, 2 * capacity): amortized O(1)
  // copying per appended row.
  kGeometric,
  // Capacity grows to exactly the slots needed (each growing append copies the filled rows), so
  // the bytes reported are the rows held. For small stores or ones whose reported bytes must equal
  // their rows; keep() still compacts in place and set_capacity() shrinks.
  kExact,
};

struct SlotRange {
  int64_t start = 0;
  int64_t count = 0;
};

class KVSlotStore {
 public:
  struct Layout {
    std::vector<SlotField> fields = {{"keys"}, {"values"}};
    KVPlacement placement = KVPlacement::kDevice;
    SlotGrowth growth = SlotGrowth::kGeometric;
  };

  // Drops every stored tensor; `num_layers` empty layers, each allocated on first use.
  // `capacity_hint`: the first geometric allocation's slots (KVMethod::reset's max_tokens).
  void reset(int64_t num_layers, int64_t capacity_hint, Layout layout);

  // Appends T rows to every field of `layer`: rows[i] has field i's shape with T at its slot
  // dimension (and its dtype), on the compute device. Grows the capacity per the layout.
  void append(int64_t layer, at::TensorList rows);
  // Capacity >= `slots` by the growth rule (geometric or exact). `like` (one tensor per field:
  // shape apart from the slot dimension, dtype, compute device) is needed only when the layer has
  // nothing allocated yet.
  void reserve(int64_t layer, int64_t slots, at::TensorList like = {});
  // Capacity exactly `slots` (>= length), keeping the filled rows; a no-op when already so.
  void set_capacity(int64_t layer, int64_t slots, at::TensorList like = {});
  // Marks slots [0, length) filled (length <= capacity); rows past the old length are
  // uninitialised until written through storage().
  void set_length(int64_t layer, int64_t length);

  // Compaction in place (capacity unchanged). keep(): row i of the result is old slot slots[i];
  // `slots` int64 [n] (every field) or [B, Hkv, n] (a different choice per KV head: every field
  // must be [B, Hkv, slots, ...] with slot_dim 2). Indices must be < length.
  void keep(int64_t layer, const at::Tensor& slots);
  // The given ranges of filled slots, in order, moved to the front: length = sum of counts.
  // Ranges must be ascending, non-overlapping and within the filled length.
  void keep_ranges(int64_t layer, const std::vector<SlotRange>& ranges);
  // Frees the layer's tensors (length and capacity 0).
  void clear(int64_t layer);

  // The filled rows [.., length, ..] of a field (a view), or undefined before the first allocation.
  at::Tensor filled(int64_t layer, size_t field) const;
  // The whole-capacity tensor of a field (host tensor for host placements); writes go in place.
  at::Tensor storage(int64_t layer, size_t field) const;
  // The field's buffer (KVBuffer::device_view for kMappedHost on CUDA).
  const KVBuffer& buffer(int64_t layer, size_t field) const;

  int64_t length(int64_t layer) const { return at_layer(layer).length; }
  int64_t capacity(int64_t layer) const { return at_layer(layer).capacity; }
  int64_t num_layers() const { return static_cast<int64_t>(layers_.size()); }
  const Layout& layout() const { return layout_; }

  // Allocated bytes of every layer and field: device fields by role, host fields as host bytes.
  void add_bytes(KVResidentBytes& bytes) const;
  KVResidentBytes bytes() const;

 private:
  struct Layer {
    std::vector<KVBuffer> fields;  // empty until allocated
    int64_t length = 0;
    int64_t capacity = 0;
  };
  const Layer& at_layer(int64_t layer) const;
  Layer& at_layer(int64_t layer);
  void reallocate(Layer& layer, int64_t slots, at::TensorList like);

  Layout layout_;
  int64_t hint_ = 1;
  at::Device device_ = at::kCPU;  // compute device of the first rows (host fields are pinned for it)
  std::vector<Layer> layers_;
};

}  // namespace kvbench
