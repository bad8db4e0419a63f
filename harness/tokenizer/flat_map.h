// SPDX-License-Identifier: Apache-2.0
// Open-addressing hash tables for the BPE hot path: byte string -> token id (the vocabulary) and
// (left id, right id) -> (merge rank, merged id). Both are built once and then only read, so they
// are safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kvbench {

// 64-bit hash of a short byte string (8 bytes per step; good enough dispersion for vocabularies).
inline uint64_t hash_bytes(std::string_view s) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ (s.size() * 0xFF51AFD7ED558CCDull);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    __builtin_memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * 0xC2B2AE3D27D4EB4Full;
    h ^= h >> 29;
  }
  uint64_t w = 0;
  __builtin_memcpy(&w, s.data() + i, s.size() - i);
  h = (h ^ w) * 0x165667B19E3779F9ull;
  h ^= h >> 32;
  return h;
}

// Byte string -> int32 value. Keys are copied into an internal arena.
class FlatStringMap {
 public:
  // Inserts or overwrites.
  void insert(std::string_view key, int32_t value);
  // Value for `key`, or -1 when absent (values stored must be >= 0).
  int32_t find(std::string_view key) const {
    if (slots_.empty()) return -1;
    const uint64_t h = hash_bytes(key);
    const uint32_t tag = static_cast<uint32_t>(h >> 32);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value < 0) return -1;
      if (s.tag == tag && s.len == key.size() &&
          std::string_view(arena_.data() + s.offset, s.len) == key)
        return s.value;
    }
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    uint32_t tag = 0;
    uint32_t offset = 0;
    uint32_t len = 0;
    int32_t value = -1;
  };
  void grow();
  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

// (left, right) token-id pair -> merge rank and merged id.
class PairMap {
 public:
  struct Merge {
    int32_t rank;
    int32_t id;
  };
  void reserve(size_t n);
  // Inserts or overwrites: a pair listed twice keeps its last rank, as Hugging Face's map does.
  void insert(int32_t left, int32_t right, Merge m);
  // Merge for the pair, or rank -1 when the pair never merges.
  Merge find(int32_t left, int32_t right) const {
    const uint64_t key = pack(left, right);
    for (size_t i = mix(key) & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.key == key) return s.merge;
      if (s.key == kEmpty) return {-1, -1};
    }
  }

 private:
  static constexpr uint64_t kEmpty = ~0ull;
  struct Slot {
    uint64_t key = kEmpty;
    Merge merge{-1, -1};
  };
  static uint64_t pack(int32_t a, int32_t b) {
    return (uint64_t(uint32_t(a)) << 32) | uint32_t(b);
  }
  static uint64_t mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDull;
    k ^= k >> 33;
    return k;
  }
  std::vector<Slot> slots_{16};
  size_t mask_ = 15;
  size_t size_ = 0;
};

}  // namespace kvbench
