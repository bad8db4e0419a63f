// SPDX-License-Identifier: Apache-2.0
// KV buffer allocation by placement (harness/kv/placement.h). On a CUDA compute device: kDevice is
// a caching-allocator tensor, kPinnedHost comes from LibTorch's pinned host allocator, kMappedHost
// is cudaHostAlloc(cudaHostAllocMapped | cudaHostAllocPortable) memory owned by the CPU tensor (freed
// by cudaFreeHost when its last user goes) plus a CUDA tensor over its device pointer that keeps the
// CPU tensor alive. On a CPU compute device every placement is an ordinary CPU tensor.
#include "harness/kv/placement.h"

#include "harness/error.h"

#ifdef KVBENCH_TORCH_CUDA
#include <c10/cuda/CUDAGuard.h>
#include <cuda_runtime_api.h>
#endif

namespace kvbench {

const char* placement_name(KVPlacement placement) {
  switch (placement) {
    case KVPlacement::kDevice: return "device";
    case KVPlacement::kPinnedHost: return "pinned";
    case KVPlacement::kMappedHost: return "mapped";
  }
  return "?";
}

KVPlacement parse_placement(const std::string& name) {
  if (name == "device") return KVPlacement::kDevice;
  if (name == "pinned") return KVPlacement::kPinnedHost;
  if (name == "mapped") return KVPlacement::kMappedHost;
  KVBENCH_FAIL(ErrorKind::kConfig, "unknown KV placement \"", name, "\" (expected device, pinned or mapped)");
}

int64_t KVBuffer::bytes() const {
  return host_or_device.defined() ? static_cast<int64_t>(host_or_device.nbytes()) : 0;
}

namespace {

#ifdef KVBENCH_TORCH_CUDA
void check_cuda(cudaError_t status, const char* what) {
  KVBENCH_CHECK(status == cudaSuccess, "KV placement: ", what, " failed: ", cudaGetErrorString(status));
}

KVBuffer allocate_mapped(at::IntArrayRef shape, at::ScalarType dtype, const at::Device& device) {
  const c10::cuda::CUDAGuard guard(device);
  const at::TensorOptions host_options = at::TensorOptions().dtype(dtype).device(at::kCPU);
  KVBuffer buffer;
  buffer.placement = KVPlacement::kMappedHost;
  int64_t numel = 1;
  for (int64_t s : shape) numel *= s;
  if (numel == 0) {  // cudaHostAlloc rejects size 0; an empty buffer needs no memory.
    buffer.host_or_device = at::empty(shape, host_options);
    buffer.device_view = at::empty(shape, host_options.device(device));
    return buffer;
  }
  const size_t nbytes = static_cast<size_t>(numel) * at::elementSize(dtype);
  void* host = nullptr;
  check_cuda(cudaHostAlloc(&host, nbytes, cudaHostAllocMapped | cudaHostAllocPortable),
             "cudaHostAlloc(mapped)");
  buffer.host_or_device = at::from_blob(host, shape, [](void* p) { cudaFreeHost(p); }, host_options);
  void* device_ptr = nullptr;
  check_cuda(cudaHostGetDevicePointer(&device_ptr, host, 0), "cudaHostGetDevicePointer");
  at::Tensor owner = buffer.host_or_device;  // the device view keeps the host allocation alive
  buffer.device_view =
      at::from_blob(device_ptr, shape, [owner](void*) mutable { owner.reset(); }, host_options.device(device));
  return buffer;
}
#endif

}  // namespace

KVBuffer allocate_kv_buffer(at::IntArrayRef shape, at::ScalarType dtype, KVPlacement placement,
                            const at::Device& compute_device) {
  const at::TensorOptions options = at::TensorOptions().dtype(dtype);
  KVBuffer buffer;
  buffer.placement = placement;
  if (!compute_device.is_cuda()) {
    KVBENCH_CHECK(compute_device.is_cpu(), "KV placement: unsupported compute device ", compute_device.str());
    buffer.host_or_device = at::empty(shape, options.device(at::kCPU));
    return buffer;
  }
#ifdef KVBENCH_TORCH_CUDA
  switch (placement) {
    case KVPlacement::kDevice:
      buffer.host_or_device = at::empty(shape, options.device(compute_device));
      return buffer;
    case KVPlacement::kPinnedHost:
      buffer.host_or_device = at::empty(shape, options.device(at::kCPU).pinned_memory(true));
      return buffer;
    case KVPlacement::kMappedHost:
      return allocate_mapped(shape, dtype, compute_device);
  }
  KVBENCH_ASSERT(false, "unhandled placement");
#else
  KVBENCH_FAIL(ErrorKind::kRun, "KV placement: compute device ", compute_device.str(),
               " needs a CUDA-enabled LibTorch build (KVBENCH_TORCH_CUDA)");
#endif
}

}  // namespace kvbench
