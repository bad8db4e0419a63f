// SPDX-License-Identifier: Apache-2.0
// KVSlotStore and KVCounters (harness/kv/slot_store.h, kv_counters.h) on the CPU: growth keeps the
// filled rows (geometric and exact capacities), compaction keeps the right rows (ranges, shared
// and per-KV-head slots) in place, byte accounting equals the tensors' nbytes by role and place,
// and the counters assemble KVMemory (peak with transient, host->device bytes, hits).
#include "harness/error.h"
#include "harness/kv/kv_counters.h"
#include "harness/kv/slot_store.h"

#include <gtest/gtest.h>

#include <vector>

namespace kvbench {
namespace {

constexpr int64_t kB = 2, kH = 3, kD = 5;

// Rows whose values name their slot: keys[b, h, s, :] = 1000 s + 10 h + b (+ 0.5 for values).
at::Tensor slot_rows(int64_t first, int64_t count, double offset = 0.0) {
  at::Tensor slots = at::arange(first, first + count, at::kFloat).view({1, 1, count, 1});
  at::Tensor heads = at::arange(kH, at::kFloat).view({1, kH, 1, 1});
  at::Tensor batch = at::arange(kB, at::kFloat).view({kB, 1, 1, 1});
  return (slots * 1000 + heads * 10 + batch + offset).expand({kB, kH, count, kD}).contiguous();
}

KVSlotStore::Layout keys_values_valid(SlotGrowth growth) {
  KVSlotStore::Layout layout;
  layout.fields = {{"keys"}, {"values"}, {"valid", 1, KVByteRole::kMetadata}};
  layout.growth = growth;
  return layout;
}

void append_slots(KVSlotStore& store, int64_t layer, int64_t first, int64_t count) {
  at::Tensor valid = (at::arange(first, first + count) % 3 != 0).unsqueeze(0).expand({kB, count}).contiguous();
  store.append(layer, {slot_rows(first, count), slot_rows(first, count, 0.5), valid});
}

// The filled rows must be slots `expected` of the reference rows, in that order.
void expect_slots(const KVSlotStore& store, int64_t layer, const std::vector<int64_t>& expected) {
  ASSERT_EQ(store.length(layer), static_cast<int64_t>(expected.size()));
  at::Tensor keys = store.filled(layer, 0), values = store.filled(layer, 1), valid = store.filled(layer, 2);
  for (size_t i = 0; i < expected.size(); ++i) {
    const int64_t s = expected[i], pos = static_cast<int64_t>(i);
    EXPECT_TRUE(at::equal(keys.narrow(2, pos, 1), slot_rows(s, 1))) << "slot " << s << " at " << pos;
    EXPECT_TRUE(at::equal(values.narrow(2, pos, 1), slot_rows(s, 1, 0.5))) << "slot " << s << " at " << pos;
    EXPECT_EQ(valid[0][pos].item<bool>(), s % 3 != 0) << "slot " << s << " at " << pos;
  }
}

std::vector<int64_t> iota(int64_t first, int64_t count) {
  std::vector<int64_t> v;
  for (int64_t i = 0; i < count; ++i) v.push_back(first + i);
  return v;
}

TEST(KVSlotStore, GeometricGrowthFromTheHintKeepsTheRows) {
  KVSlotStore store;
  store.reset(2, /*capacity_hint=*/4, keys_values_valid(SlotGrowth::kGeometric));
  EXPECT_EQ(store.capacity(0), 0);
  EXPECT_FALSE(store.filled(0, 0).defined());
  // Appends of 3, 2, 5, 1 rows: capacity max(4, 3) = 4, then max(5, 8) = 8, max(10, 16) = 16, 16.
  const std::vector<std::pair<int64_t, int64_t>> appends = {{3, 4}, {2, 8}, {5, 16}, {1, 16}};
  int64_t filled = 0;
  for (auto [rows, capacity] : appends) {
    append_slots(store, 1, filled, rows);
    filled += rows;
    EXPECT_EQ(store.capacity(1), capacity) << "after " << filled << " rows";
    expect_slots(store, 1, iota(0, filled));
  }
  EXPECT_EQ(store.length(0), 0);  // layers are independent
  EXPECT_EQ(store.capacity(0), 0);
  // Bytes: the allocated capacity of every field, K/V as kv, validity as metadata.
  const KVResidentBytes bytes = store.bytes();
  EXPECT_EQ(bytes.kv_device, 2 * kB * kH * 16 * kD * 4);
  EXPECT_EQ(bytes.kv_device, static_cast<int64_t>(store.storage(1, 0).nbytes() + store.storage(1, 1).nbytes()));
  EXPECT_EQ(bytes.metadata_device, kB * 16);
  EXPECT_EQ(bytes.host, 0);
  EXPECT_EQ(bytes.device(), bytes.kv_device + bytes.metadata_device);
}

TEST(KVSlotStore, ExactGrowthHoldsExactlyItsRows) {
  KVSlotStore store;
  store.reset(1, 100, keys_values_valid(SlotGrowth::kExact));
  int64_t filled = 0;
  for (int64_t rows : {7, 1, 1, 4}) {
    append_slots(store, 0, filled, rows);
    filled += rows;
    EXPECT_EQ(store.capacity(0), filled);  // the hint does not apply
    expect_slots(store, 0, iota(0, filled));
  }
  EXPECT_EQ(store.bytes().kv_device, 2 * kB * kH * filled * kD * 4);
  EXPECT_EQ(store.bytes().metadata_device, kB * filled);
}

TEST(KVSlotStore, KeepRangesMovesSinkAndRecentWindowInPlace) {
  KVSlotStore store;
  store.reset(1, 1, keys_values_valid(SlotGrowth::kExact));
  append_slots(store, 0, 0, 20);
  const void* data = store.storage(0, 0).data_ptr();
  // StreamingLLM: keep 3 sinks and the last 6 (the window overlaps its destination).
  store.keep_ranges(0, {{0, 3}, {14, 6}});
  expect_slots(store, 0, {0, 1, 2, 14, 15, 16, 17, 18, 19});
  EXPECT_EQ(store.capacity(0), 20);
  EXPECT_EQ(store.storage(0, 0).data_ptr(), data);  // no reallocation
  // Evict one, append one: still in place.
  store.keep_ranges(0, {{0, 3}, {4, 5}});
  append_slots(store, 0, 20, 1);
  expect_slots(store, 0, {0, 1, 2, 15, 16, 17, 18, 19, 20});
  EXPECT_EQ(store.storage(0, 0).data_ptr(), data);
  // Shrinking the capacity keeps the rows and frees the rest.
  store.set_capacity(0, 9);
  expect_slots(store, 0, {0, 1, 2, 15, 16, 17, 18, 19, 20});
  EXPECT_EQ(store.bytes().kv_device, 2 * kB * kH * 9 * kD * 4);
  EXPECT_THROW(store.set_capacity(0, 8), Error);            // below the filled rows
  EXPECT_THROW(store.keep_ranges(0, {{4, 2}, {2, 1}}), Error);  // not ascending
  EXPECT_THROW(store.keep_ranges(0, {{5, 5}}), Error);          // past the filled rows
}

TEST(KVSlotStore, KeepBySharedSlots) {
  KVSlotStore store;
  store.reset(1, 16, keys_values_valid(SlotGrowth::kGeometric));
  append_slots(store, 0, 0, 12);
  store.keep(0, at::tensor(std::vector<int64_t>{0, 5, 6, 11, 3}, at::kLong));  // any order
  expect_slots(store, 0, {0, 5, 6, 11, 3});
  EXPECT_EQ(store.capacity(0), 16);
  append_slots(store, 0, 12, 2);
  expect_slots(store, 0, {0, 5, 6, 11, 3, 12, 13});
  EXPECT_THROW(store.keep(0, at::zeros({8}, at::kLong)), Error);  // more slots than filled
}

TEST(KVSlotStore, KeepPerKVHeadGathersEachHeadsRows) {
  KVSlotStore store;
  KVSlotStore::Layout layout;
  layout.fields = {{"keys"}, {"scores", 2, KVByteRole::kMetadata}};  // per-slot score [B, Hkv, slots]
  store.reset(1, 8, layout);
  at::Tensor scores = at::arange(kB * kH * 10, at::kFloat).view({kB, kH, 10});
  store.append(0, {slot_rows(0, 10), scores});
  // Head (b, h) keeps slots {h, h + 3, 9 - b} (ascending per head, different per head).
  std::vector<int64_t> index;
  for (int64_t b = 0; b < kB; ++b)
    for (int64_t h = 0; h < kH; ++h)
      for (int64_t s : {h, h + 3, 9 - b}) index.push_back(s);
  at::Tensor slots = at::tensor(index, at::kLong).view({kB, kH, 3});
  store.keep(0, slots);
  ASSERT_EQ(store.length(0), 3);
  at::Tensor keys = store.filled(0, 0), kept_scores = store.filled(0, 1);
  for (int64_t b = 0; b < kB; ++b) {
    for (int64_t h = 0; h < kH; ++h) {
      for (int64_t i = 0; i < 3; ++i) {
        const int64_t s = slots[b][h][i].item<int64_t>();
        EXPECT_EQ(keys[b][h][i][0].item<float>(), static_cast<float>(1000 * s + 10 * h + b));
        EXPECT_EQ(kept_scores[b][h][i].item<float>(), scores[b][h][s].item<float>());
      }
    }
  }
  // A [B, slots] field cannot follow a per-head choice.
  KVSlotStore with_valid;
  with_valid.reset(1, 8, keys_values_valid(SlotGrowth::kGeometric));
  append_slots(with_valid, 0, 0, 10);
  EXPECT_THROW(with_valid.keep(0, slots), Error);
}

TEST(KVSlotStore, HostPlacementTokenMajorFieldsAndSetLength) {
  KVSlotStore store;
  KVSlotStore::Layout layout;
  layout.fields = {{"keys", 0}, {"values", 0}};  // [slots, Hkv, d] uint8 (fp8 bytes)
  layout.placement = KVPlacement::kMappedHost;
  store.reset(3, 6, layout);
  at::Tensor rows = at::randint(0, 255, {4, kH, kD}, at::kByte);
  store.append(2, {rows, rows + 1});
  EXPECT_EQ(store.capacity(2), 6);
  EXPECT_TRUE(at::equal(store.filled(2, 0), rows));
  EXPECT_TRUE(at::equal(store.filled(2, 1), rows + 1));
  EXPECT_EQ(store.buffer(2, 0).placement, KVPlacement::kMappedHost);
  const KVResidentBytes bytes = store.bytes();
  EXPECT_EQ(bytes.device(), 0);
  EXPECT_EQ(bytes.host, 2 * 6 * kH * kD);
  EXPECT_THROW(store.append(2, {rows.to(at::kFloat), rows}), Error);  // dtype of another field
  // set_capacity + set_length + storage(): a region filled in place (ShadowKV's fixed part).
  at::Tensor like = at::empty({0, kH, kD}, at::kByte);
  store.set_capacity(0, 5, {like, like});
  store.set_length(0, 2);
  store.storage(0, 0).narrow(0, 0, 2).fill_(7);
  EXPECT_EQ(store.filled(0, 0).sum().item<int64_t>(), 7 * 2 * kH * kD);
  EXPECT_THROW(store.set_length(0, 6), Error);
  store.clear(2);
  EXPECT_EQ(store.capacity(2), 0);
  EXPECT_EQ(store.bytes().host, 2 * 5 * kH * kD);
}

TEST(KVCounters, AssembleKVMemory) {
  KVCounters counters;
  KVResidentBytes resident;
  resident.add_device(at::empty({10}, at::kFloat), KVByteRole::kKV);         // 40 B
  resident.add_device(at::empty({3}, at::kBool), KVByteRole::kMetadata);      // 3 B
  resident.add_device(at::Tensor(), KVByteRole::kKV);                         // nothing
  resident.add_host(1000);
  counters.set_transient_bytes(100);
  counters.observe(resident);  // 143
  counters.set_transient_bytes(0);
  resident.add_device(at::empty({20}, at::kFloat), KVByteRole::kKV);  // 123 resident now
  counters.observe(resident);
  counters.set_tokens_attended(12.5);
  counters.count_lookups(3, 8);
  counters.count_lookups(1, 2);
  HostToDevice& h2d = counters.transfer(at::kCPU);
  EXPECT_EQ(&counters.transfer(at::kCPU), &h2d);  // one copier per batch
  at::Tensor dst = at::empty({6}, at::kDouble);
  h2d.copy(at::ones({6}, at::kDouble), dst);
  const KVMemory m = counters.memory(resident);
  EXPECT_EQ(m.kv_device_bytes, 120);
  EXPECT_EQ(m.metadata_device_bytes, 3);
  EXPECT_EQ(m.device_bytes, 123);
  EXPECT_EQ(m.host_bytes, 1000);
  EXPECT_EQ(m.transient_device_bytes, 0);
  EXPECT_EQ(m.peak_device_bytes, 143);
  EXPECT_DOUBLE_EQ(m.tokens_attended, 12.5);
  EXPECT_EQ(m.host_to_device_bytes, 48);
  EXPECT_EQ(m.cache_hits, 4);
  EXPECT_EQ(m.cache_lookups, 10);
  EXPECT_TRUE(m.layer_budgets.empty());
  counters.reset();
  const KVMemory zero = counters.memory(KVResidentBytes{});
  EXPECT_EQ(zero.peak_device_bytes, 0);
  EXPECT_EQ(zero.host_to_device_bytes, 0);
  EXPECT_EQ(zero.cache_lookups, 0);
  EXPECT_DOUBLE_EQ(zero.tokens_attended, 0);
}

}  // namespace
}  // namespace kvbench
