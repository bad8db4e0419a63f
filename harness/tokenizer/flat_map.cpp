// SPDX-License-Identifier: Apache-2.0
// Insertion and growth of the read-mostly hash tables (see flat_map.h).
#include "harness/tokenizer/flat_map.h"

namespace kvbench {

void FlatStringMap::grow() {
  std::vector<Slot> old = std::move(slots_);
  const size_t cap = old.empty() ? 1024 : old.size() * 2;
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  for (const Slot& s : old) {
    if (s.value < 0) continue;
    const uint64_t h = hash_bytes(std::string_view(arena_.data() + s.offset, s.len));
    size_t i = h & mask_;
    while (slots_[i].value >= 0) i = (i + 1) & mask_;
    slots_[i] = s;
  }
}

void FlatStringMap::insert(std::string_view key, int32_t value) {
  if ((size_ + 1) * 2 > slots_.size()) grow();
  const uint64_t h = hash_bytes(key);
  const uint32_t tag = static_cast<uint32_t>(h >> 32);
  size_t i = h & mask_;
  for (;; i = (i + 1) & mask_) {
    Slot& s = slots_[i];
    if (s.value < 0) break;
    if (s.tag == tag && s.len == key.size() &&
        std::string_view(arena_.data() + s.offset, s.len) == key) {
      s.value = value;
      return;
    }
  }
  Slot& s = slots_[i];
  s.tag = tag;
  s.offset = static_cast<uint32_t>(arena_.size());
  s.len = static_cast<uint32_t>(key.size());
  s.value = value;
  arena_.append(key);
  ++size_;
}

void PairMap::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  if (cap <= slots_.size()) return;
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(cap, Slot{});
  mask_ = cap - 1;
  size_ = 0;
  for (const Slot& s : old)
    if (s.key != kEmpty) insert(int32_t(s.key >> 32), int32_t(s.key & 0xFFFFFFFFu), s.merge);
}

void PairMap::insert(int32_t left, int32_t right, Merge m) {
  if ((size_ + 1) * 2 > slots_.size()) reserve(size_ + 1);
  const uint64_t key = pack(left, right);
  size_t i = mix(key) & mask_;
  for (;; i = (i + 1) & mask_) {
    if (slots_[i].key == key) {
      slots_[i].merge = m;
      return;
    }
    if (slots_[i].key == kEmpty) break;
  }
  slots_[i].key = key;
  slots_[i].merge = m;
  ++size_;
}

}  // namespace kvbench
