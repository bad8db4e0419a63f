// SPDX-License-Identifier: Apache-2.0
// HostToDevice: the one way methods move offloaded KV rows to the compute device, so the bytes they
// report are the bytes actually copied. On CUDA the copies run on a side stream (ordered after the
// compute stream's work up to the call) and `wait()` makes the compute stream wait on an event
// recorded after them; on CPU they are synchronous copies through the same code path.
// Every call adds dst.nbytes() of the rows it copied to bytes_copied(); zero-copy reads of mapped
// memory made by kernels are added by the caller with add_mapped_read_bytes().
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <memory>

namespace kvbench {

class HostToDevice {
 public:
  explicit HostToDevice(const at::Device& compute_device);
  ~HostToDevice();
  HostToDevice(const HostToDevice&) = delete;
  HostToDevice& operator=(const HostToDevice&) = delete;

  // dst <- src (same shape and dtype); src is a host tensor, dst lives on the compute device.
  void copy(const at::Tensor& src_host, const at::Tensor& dst);
  // dst.select(dim, i) <- src_host.select(dim, index[i]) for i in [0, index.numel()).
  // index: 1-D int64 on the host or the device; dst.size(dim) == index.numel().
  void gather(const at::Tensor& src_host, int64_t dim, const at::Tensor& index, const at::Tensor& dst);
  // Makes later work on the compute stream wait for every copy issued so far (no-op on CPU).
  void wait();

  void add_mapped_read_bytes(int64_t bytes) { bytes_copied_ += bytes; }
  int64_t bytes_copied() const { return bytes_copied_; }
  void reset_counters() { bytes_copied_ = 0; }

 private:
  struct CudaState;  // side stream + event (CUDA builds only)
  at::Device device_;
  std::unique_ptr<CudaState> cuda_;
  int64_t bytes_copied_ = 0;
};

}  // namespace kvbench
