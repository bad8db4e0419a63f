// SPDX-License-Identifier: Apache-2.0
// HostToDevice (harness/kv/transfer.h). CUDA path: every call first makes the side stream wait on an
// event recorded on the compute stream (so a copy never overwrites rows the compute stream has not
// finished reading), then issues its work on the side stream; wait() records an event there and
// makes the compute stream wait on it. gather() from page-locked host memory runs index_select on
// the device over the memory's device pointer (zero-copy reads over PCIe); from pageable memory it
// gathers on the host into a pinned staging tensor and copies that. Tensors read by in-flight
// copies stay referenced until an event after them has completed. CPU path: the same calls, done
// synchronously.
// Bytes: every copy()/gather() adds dst.nbytes(), the bytes written to the compute device.
#include "harness/kv/transfer.h"

#include "harness/error.h"

#include <memory>
#include <utility>
#include <vector>

#ifdef KVBENCH_TORCH_CUDA
#include <ATen/cuda/CUDAEvent.h>
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <cuda_runtime_api.h>
#endif

namespace kvbench {

#ifdef KVBENCH_TORCH_CUDA
struct HostToDevice::CudaState {
  explicit CudaState(const at::Device& device)
      : side(c10::cuda::getStreamFromPool(/*isHighPriority=*/false, device.index())) {}
  c10::cuda::CUDAStream side;
  std::vector<at::Tensor> in_flight;  // tensors read by copies issued since the last wait()

  // Orders the side stream after the work queued so far on `device`'s compute stream.
  void follow_compute(const at::Device& device) {
    at::cuda::CUDAEvent compute_done;
    compute_done.record(c10::cuda::getCurrentCUDAStream(device.index()));
    compute_done.block(side);
  }
  // Bookkeeping after a copy into `dst` reading `src` was issued on the side stream: the caching
  // allocator must not reuse dst's memory before it, and src stays referenced until wait().
  void issued(const at::Tensor& dst, const at::Tensor& src) {
    c10::cuda::CUDACachingAllocator::recordStream(dst.storage().data_ptr(), side);
    in_flight.push_back(src);
  }
  // Tensors of earlier copies, released once the event recorded after them (in wait()) completed.
  std::vector<std::pair<std::shared_ptr<at::cuda::CUDAEvent>, std::vector<at::Tensor>>> retired;

  // Drops the references whose copies have finished (non-blocking).
  void release_finished() {
    size_t keep = 0;
    for (size_t i = 0; i < retired.size(); ++i) {
      if (retired[i].first->query()) continue;  // finished: drop the references
      if (keep != i) retired[keep] = std::move(retired[i]);
      ++keep;
    }
    retired.resize(keep);
  }
};
#else
struct HostToDevice::CudaState {};
#endif

namespace {

// dst <- src.index_select(dim, index), in place when dst is contiguous.
void select_into(const at::Tensor& dst, const at::Tensor& src, int64_t dim, const at::Tensor& index) {
  if (dst.is_contiguous()) {
    at::Tensor out = dst;
    at::index_select_out(out, src, dim, index);
  } else {
    dst.copy_(at::index_select(src, dim, index));
  }
}

void check_pair(const at::Tensor& src_host, const at::Tensor& dst, const char* what) {
  KVBENCH_ASSERT(src_host.defined() && dst.defined(), what, ": undefined tensor");
  KVBENCH_ASSERT(src_host.device().is_cpu(), what, ": source must be a host tensor, got ", src_host.device().str());
  KVBENCH_ASSERT(src_host.scalar_type() == dst.scalar_type(), what, ": dtype ", src_host.scalar_type(), " vs ",
                 dst.scalar_type());
}

#ifdef KVBENCH_TORCH_CUDA
// A CUDA tensor aliasing `src`'s page-locked host memory (same sizes/strides), or undefined when the
// memory is pageable or not mapped for `device`.
at::Tensor device_alias(const at::Tensor& src, const at::Device& device) {
  if (src.numel() == 0) return at::Tensor();
  // Page-locked (cudaHostAlloc / cudaHostRegister) memory reports type cudaMemoryTypeHost and the
  // device address of this very byte (views into an allocation included); pageable memory reports
  // cudaMemoryTypeUnregistered.
  cudaPointerAttributes attributes{};
  if (cudaPointerGetAttributes(&attributes, src.data_ptr()) != cudaSuccess) {
    (void)cudaGetLastError();  // clear the (non-sticky) error and take the staged path
    return at::Tensor();
  }
  if (attributes.type != cudaMemoryTypeHost || attributes.devicePointer == nullptr) return at::Tensor();
  return at::from_blob(attributes.devicePointer, src.sizes(), src.strides(), [](void*) {},
                       src.options().device(device));
}
#endif

}  // namespace

HostToDevice::HostToDevice(const at::Device& compute_device) : device_(compute_device) {
  if (device_.is_cuda()) {
#ifdef KVBENCH_TORCH_CUDA
    if (!device_.has_index()) device_ = at::Device(at::kCUDA, c10::cuda::current_device());
    cuda_ = std::make_unique<CudaState>(device_);
#else
    KVBENCH_FAIL(ErrorKind::kRun, "HostToDevice: compute device ", device_.str(),
                 " needs a CUDA-enabled LibTorch build (KVBENCH_TORCH_CUDA)");
#endif
  } else {
    KVBENCH_CHECK(device_.is_cpu(), "HostToDevice: unsupported compute device ", device_.str());
  }
}

HostToDevice::~HostToDevice() {
#ifdef KVBENCH_TORCH_CUDA
  // Host tensors of unfinished copies must outlive them.
  if (cuda_ && (!cuda_->in_flight.empty() || !cuda_->retired.empty())) cuda_->side.synchronize();
#endif
}

void HostToDevice::copy(const at::Tensor& src_host, const at::Tensor& dst) {
  check_pair(src_host, dst, "HostToDevice::copy");
  KVBENCH_ASSERT(src_host.sizes() == dst.sizes(), "HostToDevice::copy: shape ", src_host.sizes(), " vs ", dst.sizes());
  KVBENCH_ASSERT(dst.device() == device_, "HostToDevice::copy: destination on ", dst.device().str(), ", expected ",
                 device_.str());
#ifdef KVBENCH_TORCH_CUDA
  if (cuda_) {
    const c10::cuda::CUDAGuard guard(device_);
    cuda_->follow_compute(device_);
    {
      const c10::cuda::CUDAStreamGuard on_side(cuda_->side);
      dst.copy_(src_host, /*non_blocking=*/true);
    }
    cuda_->issued(dst, src_host);
    bytes_copied_ += static_cast<int64_t>(dst.nbytes());
    return;
  }
#endif
  dst.copy_(src_host);
  bytes_copied_ += static_cast<int64_t>(dst.nbytes());
}

void HostToDevice::gather(const at::Tensor& src_host, int64_t dim, const at::Tensor& index, const at::Tensor& dst) {
  check_pair(src_host, dst, "HostToDevice::gather");
  KVBENCH_ASSERT(dst.device() == device_, "HostToDevice::gather: destination on ", dst.device().str(),
                 ", expected ", device_.str());
  KVBENCH_ASSERT(index.dim() == 1 && index.scalar_type() == at::kLong, "HostToDevice::gather: index must be 1-D int64");
  KVBENCH_ASSERT(src_host.dim() == dst.dim(), "HostToDevice::gather: rank ", src_host.dim(), " vs ", dst.dim());
  dim = at::maybe_wrap_dim(dim, src_host.dim());
  for (int64_t i = 0; i < src_host.dim(); ++i) {
    const int64_t want = i == dim ? index.numel() : src_host.size(i);
    KVBENCH_ASSERT(dst.size(i) == want, "HostToDevice::gather: dst size ", dst.sizes(), " for src ", src_host.sizes(),
                   " and ", index.numel(), " indices along dim ", dim);
  }
  if (dst.numel() == 0) return;
#ifdef KVBENCH_TORCH_CUDA
  if (cuda_) {
    const c10::cuda::CUDAGuard guard(device_);
    cuda_->follow_compute(device_);
    const at::Tensor alias = device_alias(src_host, device_);
    {
      const c10::cuda::CUDAStreamGuard on_side(cuda_->side);
      if (alias.defined()) {
        // Page-locked source: the device reads the selected rows straight from host memory.
        const at::Tensor device_index = index.to(device_, /*non_blocking=*/true);
        select_into(dst, alias, dim, device_index);
        cuda_->in_flight.push_back(index);
      } else {
        // Pageable source: gather on the host, then one asynchronous copy of the staged rows.
        const at::Tensor host_index = index.to(at::kCPU);
        at::Tensor staged = at::empty(dst.sizes(), src_host.options().pinned_memory(true));
        at::index_select_out(staged, src_host, dim, host_index);
        dst.copy_(staged, /*non_blocking=*/true);
        cuda_->in_flight.push_back(staged);
      }
    }
    cuda_->issued(dst, src_host);
    bytes_copied_ += static_cast<int64_t>(dst.nbytes());
    return;
  }
#endif
  select_into(dst, src_host, dim, index.to(at::kCPU));
  bytes_copied_ += static_cast<int64_t>(dst.nbytes());
}

void HostToDevice::wait() {
#ifdef KVBENCH_TORCH_CUDA
  if (cuda_) {
    const c10::cuda::CUDAGuard guard(device_);
    auto copies_done = std::make_shared<at::cuda::CUDAEvent>();
    copies_done->record(cuda_->side);
    copies_done->block(c10::cuda::getCurrentCUDAStream(device_.index()));
    // The compute stream is now ordered after the copies; the tensors they read stay referenced
    // until the copies have actually run (checked without blocking on later calls).
    cuda_->release_finished();
    if (!cuda_->in_flight.empty()) cuda_->retired.emplace_back(copies_done, std::move(cuda_->in_flight));
    cuda_->in_flight.clear();
  }
#endif
}

}  // namespace kvbench
