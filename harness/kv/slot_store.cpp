// SPDX-License-Identifier: Apache-2.0
// KVSlotStore (harness/kv/slot_store.h): allocation by growth rule and placement, appends,
// in-place compaction and byte accounting.
#include "harness/kv/slot_store.h"

#include "harness/error.h"

#include <algorithm>

namespace kvbench {

void KVSlotStore::reset(int64_t num_layers, int64_t capacity_hint, Layout layout) {
  KVBENCH_ASSERT(num_layers >= 0 && !layout.fields.empty(), "slot store needs layers >= 0 and a field");
  layout_ = std::move(layout);
  hint_ = std::max<int64_t>(capacity_hint, 1);
  device_ = at::kCPU;
  layers_.assign(static_cast<size_t>(num_layers), Layer{});
}

const KVSlotStore::Layer& KVSlotStore::at_layer(int64_t layer) const {
  KVBENCH_ASSERT(layer >= 0 && layer < num_layers(), "slot store: layer ", layer, " of ", num_layers());
  return layers_[static_cast<size_t>(layer)];
}

KVSlotStore::Layer& KVSlotStore::at_layer(int64_t layer) {
  return const_cast<Layer&>(static_cast<const KVSlotStore*>(this)->at_layer(layer));
}

void KVSlotStore::reallocate(Layer& layer, int64_t slots, at::TensorList like) {
  const size_t n = layout_.fields.size();
  const bool fresh = layer.fields.empty();
  KVBENCH_ASSERT(!fresh || like.size() == n, "slot store: the first allocation needs one tensor per field (",
                 n, "), got ", like.size());
  std::vector<KVBuffer> grown(n);
  for (size_t i = 0; i < n; ++i) {
    const SlotField& f = layout_.fields[i];
    const at::Tensor& model = fresh ? like[i] : layer.fields[i].host_or_device;
    KVBENCH_ASSERT(f.slot_dim < model.dim(), "slot store: field ", f.name, " has ", model.dim(),
                   " dimensions, slot_dim ", f.slot_dim);
    auto sizes = model.sizes().vec();
    sizes[static_cast<size_t>(f.slot_dim)] = slots;
    // Host-placed fields are pinned/mapped for the compute device the rows come from.
    const at::Device compute = fresh ? like[i].device() : device_;
    grown[i] = allocate_kv_buffer(sizes, model.scalar_type(), layout_.placement, compute);
    if (layer.length > 0)
      grown[i].host_or_device.narrow(f.slot_dim, 0, layer.length)
          .copy_(layer.fields[i].host_or_device.narrow(f.slot_dim, 0, layer.length));
  }
  if (fresh) device_ = like[0].device();
  layer.fields = std::move(grown);
  layer.capacity = slots;
}

void KVSlotStore::reserve(int64_t layer_index, int64_t slots, at::TensorList like) {
  Layer& layer = at_layer(layer_index);
  if (slots <= layer.capacity && !layer.fields.empty()) return;
  int64_t grown = slots;
  if (layout_.growth == SlotGrowth::kGeometric)
    grown = layer.fields.empty() ? std::max(hint_, slots) : std::max(slots, 2 * layer.capacity);
  reallocate(layer, grown, like);
}

void KVSlotStore::set_capacity(int64_t layer_index, int64_t slots, at::TensorList like) {
  Layer& layer = at_layer(layer_index);
  KVBENCH_ASSERT(slots >= layer.length, "slot store: capacity ", slots, " below the ", layer.length,
                 " filled slots of layer ", layer_index);
  if (slots == layer.capacity && !layer.fields.empty()) return;
  reallocate(layer, slots, like);
}

void KVSlotStore::set_length(int64_t layer_index, int64_t length) {
  Layer& layer = at_layer(layer_index);
  KVBENCH_ASSERT(length >= 0 && length <= layer.capacity, "slot store: length ", length, " past capacity ",
                 layer.capacity, " of layer ", layer_index);
  layer.length = length;
}

void KVSlotStore::append(int64_t layer_index, at::TensorList rows) {
  const size_t n = layout_.fields.size();
  KVBENCH_ASSERT(rows.size() == n, "slot store: append needs one tensor per field (", n, "), got ", rows.size());
  const int64_t added = rows[0].size(layout_.fields[0].slot_dim);
  Layer& layer = at_layer(layer_index);
  reserve(layer_index, layer.length + added, rows);
  for (size_t i = 0; i < n; ++i) {
    const SlotField& f = layout_.fields[i];
    const at::Tensor& target = layer.fields[i].host_or_device;
    KVBENCH_ASSERT(rows[i].dim() == target.dim() && rows[i].size(f.slot_dim) == added &&
                       rows[i].scalar_type() == target.scalar_type(),
                   "slot store: rows ", rows[i].sizes(), " ", rows[i].scalar_type(), " do not fit field ", f.name,
                   " ", target.sizes(), " ", target.scalar_type());
    target.narrow(f.slot_dim, layer.length, added).copy_(rows[i]);
  }
  layer.length += added;
}

void KVSlotStore::keep(int64_t layer_index, const at::Tensor& slots) {
  Layer& layer = at_layer(layer_index);
  KVBENCH_ASSERT(slots.dim() == 1 || slots.dim() == 3, "slot store: keep takes slots [n] or [B, Hkv, n], got ",
                 slots.sizes());
  const int64_t kept = slots.size(-1);
  KVBENCH_ASSERT(kept <= layer.length, "slot store: keeping ", kept, " of ", layer.length, " slots");
  if (layer.fields.empty()) return;
  for (size_t i = 0; i < layout_.fields.size(); ++i) {
    const SlotField& f = layout_.fields[i];
    const at::Tensor& target = layer.fields[i].host_or_device;
    const at::Tensor rows = target.narrow(f.slot_dim, 0, layer.length);
    const at::Tensor index = slots.to(target.device(), at::kLong);
    at::Tensor chosen;  // a fresh tensor: the source rows may overlap the destination
    if (slots.dim() == 1) {
      chosen = rows.index_select(f.slot_dim, index);
    } else {
      KVBENCH_ASSERT(f.slot_dim == 2 && target.dim() >= 3 && target.size(0) == slots.size(0) &&
                         target.size(1) == slots.size(1),
                     "slot store: per-head keep needs [B, Hkv, slots, ...] fields; field ", f.name, " is ",
                     target.sizes(), " (slot_dim ", f.slot_dim, "), slots ", slots.sizes());
      auto view = index.sizes().vec();
      auto expanded = rows.sizes().vec();
      expanded[2] = kept;
      while (view.size() < expanded.size()) view.push_back(1);
      chosen = at::gather(rows, 2, index.view(view).expand(expanded));
    }
    target.narrow(f.slot_dim, 0, kept).copy_(chosen);
  }
  layer.length = kept;
}

void KVSlotStore::keep_ranges(int64_t layer_index, const std::vector<SlotRange>& ranges) {
  Layer& layer = at_layer(layer_index);
  int64_t end = 0, kept = 0;
  for (const SlotRange& r : ranges) {
    KVBENCH_ASSERT(r.count >= 0 && r.start >= end && r.start + r.count <= layer.length,
                   "slot store: ranges must be ascending, disjoint and within ", layer.length, " filled slots; got [",
                   r.start, ", ", r.start + r.count, ")");
    end = r.start + r.count;
    if (r.count == 0) continue;
    if (r.start != kept) {
      for (size_t i = 0; i < layout_.fields.size(); ++i) {
        const int64_t dim = layout_.fields[i].slot_dim;
        const at::Tensor& target = layer.fields[i].host_or_device;
        at::Tensor source = target.narrow(dim, r.start, r.count);
        if (kept + r.count > r.start) source = source.clone();  // overlapping move
        target.narrow(dim, kept, r.count).copy_(source);
      }
    }
    kept += r.count;
  }
  layer.length = kept;
}

void KVSlotStore::clear(int64_t layer_index) { at_layer(layer_index) = Layer{}; }

at::Tensor KVSlotStore::filled(int64_t layer_index, size_t field) const {
  const Layer& layer = at_layer(layer_index);
  if (layer.fields.empty()) return at::Tensor();
  return layer.fields.at(field).host_or_device.narrow(layout_.fields.at(field).slot_dim, 0, layer.length);
}

at::Tensor KVSlotStore::storage(int64_t layer_index, size_t field) const {
  const Layer& layer = at_layer(layer_index);
  return layer.fields.empty() ? at::Tensor() : layer.fields.at(field).host_or_device;
}

const KVBuffer& KVSlotStore::buffer(int64_t layer_index, size_t field) const {
  const Layer& layer = at_layer(layer_index);
  KVBENCH_ASSERT(!layer.fields.empty(), "slot store: layer ", layer_index, " has nothing allocated");
  return layer.fields.at(field);
}

void KVSlotStore::add_bytes(KVResidentBytes& bytes) const {
  for (const Layer& layer : layers_) {
    for (size_t i = 0; i < layer.fields.size(); ++i) {
      const KVBuffer& b = layer.fields[i];
      if (b.on_host())
        bytes.add_host(b.bytes());
      else
        bytes.add_device(b.host_or_device, layout_.fields[i].role);
    }
  }
}

KVResidentBytes KVSlotStore::bytes() const {
  KVResidentBytes bytes;
  add_bytes(bytes);
  return bytes;
}

}  // namespace kvbench
