// SPDX-License-Identifier: Apache-2.0
// KV storage on CUDA (exit 77 = skipped without a CUDA device): pinned buffers are page-locked,
// mapped buffers are one memory seen from host and device, and HostToDevice copies/gathers from
// pinned, mapped and pageable host memory on its side stream equal index_select, are ordered
// against the compute stream by wait(), and count exactly the bytes written to the device.
#include "harness/kv/placement.h"
#include "harness/kv/transfer.h"

#include <ATen/Context.h>
#include <gtest/gtest.h>


namespace kvbench {
namespace {

const at::Device kCuda(at::kCUDA, 0);

TEST(KVPlacementGpu, PinnedAndMappedBuffers) {
  KVBuffer device = allocate_kv_buffer({2, 4, 33, 16}, at::kBFloat16, KVPlacement::kDevice, kCuda);
  EXPECT_TRUE(device.host_or_device.is_cuda());
  EXPECT_FALSE(device.device_view.defined());
  EXPECT_EQ(device.bytes(), 2 * 4 * 33 * 16 * 2);

  KVBuffer pinned = allocate_kv_buffer({2, 4, 33, 16}, at::kBFloat16, KVPlacement::kPinnedHost, kCuda);
  EXPECT_TRUE(pinned.host_or_device.device().is_cpu());
  EXPECT_TRUE(pinned.host_or_device.is_pinned());
  EXPECT_FALSE(pinned.device_view.defined());
  EXPECT_EQ(pinned.bytes(), 2 * 4 * 33 * 16 * 2);

  KVBuffer mapped = allocate_kv_buffer({3, 5, 7}, at::kFloat, KVPlacement::kMappedHost, kCuda);
  ASSERT_TRUE(mapped.device_view.defined());
  EXPECT_TRUE(mapped.host_or_device.device().is_cpu());
  EXPECT_TRUE(mapped.host_or_device.is_pinned());
  EXPECT_TRUE(mapped.device_view.is_cuda());
  EXPECT_EQ(mapped.device_view.sizes(), mapped.host_or_device.sizes());
  EXPECT_EQ(mapped.bytes(), 3 * 5 * 7 * 4);
  // Host writes are seen by device kernels, device writes by the host (zero-copy, one memory).
  at::Tensor data = at::randn({3, 5, 7});
  mapped.host_or_device.copy_(data);
  EXPECT_TRUE(at::equal((mapped.device_view * 2).cpu(), data * 2));
  mapped.device_view.narrow(1, 2, 1).fill_(7.0f);
  (void)mapped.device_view.sum().item<float>();  // synchronizes the compute stream
  EXPECT_EQ(mapped.host_or_device.narrow(1, 2, 1).eq(7.0f).all().item<bool>(), true);
  // The device view keeps the memory alive after the host tensor is gone.
  at::Tensor view = mapped.device_view;
  mapped = KVBuffer{};
  EXPECT_EQ(view.narrow(1, 2, 1).eq(7.0f).all().item<bool>(), true);
}

// Ordered copies: the compute stream writes the destination, HostToDevice overwrites it on its side
// stream (after that work), wait() orders the compute stream's next read after the copy.
TEST(HostToDeviceGpu, CopyFromPinnedMappedAndPageableOnTheSideStream) {
  HostToDevice h2d(kCuda);
  const std::vector<int64_t> shape = {1, 8, 4096, 128};
  at::Tensor data = at::randn(shape).to(at::kBFloat16);
  int64_t expected = 0;
  for (KVPlacement p : {KVPlacement::kPinnedHost, KVPlacement::kMappedHost}) {
    KVBuffer host = allocate_kv_buffer(shape, at::kBFloat16, p, kCuda);
    host.host_or_device.copy_(data);
    at::Tensor dst = at::zeros(shape, at::TensorOptions().dtype(at::kBFloat16).device(kCuda));
    dst.add_(1);  // pending compute-stream work on dst before the copy
    h2d.copy(host.host_or_device, dst);
    h2d.wait();
    EXPECT_TRUE(at::equal(dst.cpu(), data)) << placement_name(p);
    expected += static_cast<int64_t>(dst.nbytes());
    EXPECT_EQ(h2d.bytes_copied(), expected);
  }
  at::Tensor pageable = data.clone();
  at::Tensor dst = at::empty(shape, at::TensorOptions().dtype(at::kBFloat16).device(kCuda));
  h2d.copy(pageable, dst);
  h2d.wait();
  EXPECT_TRUE(at::equal(dst.cpu(), data));
  EXPECT_EQ(h2d.bytes_copied(), expected + static_cast<int64_t>(dst.nbytes()));
}

TEST(HostToDeviceGpu, GatherEqualsIndexSelectFromEveryHostMemory) {
  at::manual_seed(5);
  HostToDevice h2d(kCuda);
  int64_t expected = 0;
  struct Case {
    std::vector<int64_t> shape;
    int64_t dim;
    int64_t rows;
    at::ScalarType dtype;
  };
  const std::vector<Case> cases = {{{1, 8, 5000, 128}, 2, 777, at::kBFloat16},
                                   {{2, 3, 37, 17}, 2, 9, at::kFloat},
                                   {{4, 6, 129}, -1, 5, at::kByte},
                                   {{13, 1}, 0, 20, at::kHalf}};
  for (const Case& c : cases) {
    at::Tensor data = c.dtype == at::kByte ? at::randint(0, 255, c.shape, at::kByte) : at::randn(c.shape).to(c.dtype);
    const int64_t dim = c.dim < 0 ? c.dim + data.dim() : c.dim;
    at::Tensor index = at::randint(0, data.size(dim), {c.rows}, at::kLong);  // repeats allowed
    at::Tensor want = at::index_select(data, dim, index);
    for (KVPlacement p : {KVPlacement::kPinnedHost, KVPlacement::kMappedHost, KVPlacement::kDevice}) {
      // kDevice here stands for pageable host memory (a plain CPU tensor): the staged path.
      at::Tensor src = p == KVPlacement::kDevice ? data.clone()
                                                 : allocate_kv_buffer(c.shape, c.dtype, p, kCuda).host_or_device;
      if (p != KVPlacement::kDevice) src.copy_(data);
      for (bool index_on_device : {false, true}) {
        at::Tensor dst = at::empty(want.sizes(), want.options().device(kCuda));
        h2d.gather(src, c.dim, index_on_device ? index.to(kCuda) : index, dst);
        h2d.wait();
        EXPECT_TRUE(at::equal(dst.cpu(), want)) << src.sizes() << " " << placement_name(p) << " " << index_on_device;
        expected += static_cast<int64_t>(want.nbytes());
        EXPECT_EQ(h2d.bytes_copied(), expected);
      }
    }
  }
  // Strided destination (a transposed view of a device buffer).
  KVBuffer src = allocate_kv_buffer({2, 3, 11, 8}, at::kFloat, KVPlacement::kPinnedHost, kCuda);
  src.host_or_device.copy_(at::randn({2, 3, 11, 8}));
  at::Tensor index = at::tensor(std::vector<int64_t>{10, 2, 3}, at::kLong);
  at::Tensor storage = at::zeros({2, 3, 8, 3}, at::TensorOptions().device(kCuda));
  at::Tensor dst = storage.transpose(2, 3);
  h2d.gather(src.host_or_device, 2, index, dst);
  h2d.wait();
  EXPECT_TRUE(at::equal(dst.cpu(), at::index_select(src.host_or_device, 2, index)));
}

// Many copies in flight before a single wait(); host sources dropped by the caller right after the
// call stay valid until the copies ran.
TEST(HostToDeviceGpu, ManyCopiesThenOneWait) {
  HostToDevice h2d(kCuda);
  const int64_t n = 16;
  at::Tensor out = at::zeros({n, 1 << 18}, at::TensorOptions().device(kCuda));
  at::Tensor want = at::empty({n, 1 << 18});
  for (int64_t i = 0; i < n; ++i) {
    KVBuffer host = allocate_kv_buffer({1 << 18}, at::kFloat, i % 2 ? KVPlacement::kMappedHost : KVPlacement::kPinnedHost, kCuda);
    host.host_or_device.fill_(static_cast<float>(i));
    want[i].fill_(static_cast<float>(i));
    h2d.copy(host.host_or_device, out[i]);
  }
  h2d.wait();
  EXPECT_TRUE(at::equal(out.cpu(), want));
  EXPECT_EQ(h2d.bytes_copied(), n * (1 << 18) * 4);
}

}  // namespace
}  // namespace kvbench
