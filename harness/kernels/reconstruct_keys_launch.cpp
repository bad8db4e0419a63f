// SPDX-License-Identifier: Apache-2.0
// at::Tensor launcher of the ShadowKV key reconstruction (reconstruct_keys.cuh).
#include "harness/kernels/ops_cuda.h"
#include "harness/kernels/reconstruct_keys.h"
#include "harness/kernels/ops_checks.h"

#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>

namespace kvbench {
namespace cuda {

at::Tensor shadowkv_reconstruct_keys_cuda(const at::Tensor& u, const at::Tensor& sv, const at::Tensor& positions,
                                          const at::Tensor& cos, const at::Tensor& sin, bool check_positions) {
  const char* op = "shadowkv_reconstruct_keys";
  ops_detail::check_reconstruct_keys(u, sv, positions, cos, sin);
  const at::Device device = detail::check_same_cuda_device(
      op, {{"U", &u}, {"SV", &sv}, {"positions", &positions}, {"cos", &cos}, {"sin", &sin}});
  detail::check_contiguous(op, {{"U", &u}, {"SV", &sv}, {"positions", &positions}, {"cos", &cos}, {"sin", &sin}});
  const int64_t b = u.size(0), seq = u.size(1), r = u.size(2), hkv = sv.size(1), n = positions.size(2), d = sv.size(3);
  KVBENCH_CHECK(d <= kernels::kReconstructMaxHeadDim, op, ": the CUDA kernel takes d <= ",
                kernels::kReconstructMaxHeadDim, ", got ", d);
  KVBENCH_CHECK(r <= kernels::kReconstructMaxRank, op, ": the CUDA kernel takes rank r <= ",
                kernels::kReconstructMaxRank, ", got ", r);
  KVBENCH_CHECK(b <= kernels::kReconstructMaxGridYZ && hkv <= kernels::kReconstructMaxGridYZ, op,
                ": the CUDA kernel takes B, Hkv <= ", kernels::kReconstructMaxGridYZ, ", got ", b, ", ", hkv);
  const c10::cuda::CUDAGuard guard(device);
  at::Tensor keys = at::empty({b, hkv, n, d}, u.options());
  if (keys.numel() == 0) return keys;
  at::Tensor flag;
  kernels::ReconstructKeysArgs a;
  if (check_positions) {
    flag = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(device));
    a.bad_position = flag.data_ptr<int>();
  }
  a.u = u.data_ptr();
  a.sv = sv.data_ptr();
  a.positions = positions.data_ptr<int64_t>();
  a.cos = cos.data_ptr();
  a.sin = sin.data_ptr();
  a.keys = keys.data_ptr();
  a.dtype = u.scalar_type() == at::kFloat      ? kernels::KeyDtype::kFloat32
            : u.scalar_type() == at::kBFloat16 ? kernels::KeyDtype::kBFloat16
                                               : kernels::KeyDtype::kFloat16;
  a.batch = b;
  a.seq = seq;
  a.rank = r;
  a.heads = hkv;
  a.n = n;
  a.head_dim = d;
  const cudaError_t status = kernels::launch_reconstruct_keys(a, c10::cuda::getCurrentCUDAStream(device.index()));
  detail::check_launch(op, static_cast<int>(status), cudaGetErrorString(status));
  if (check_positions)
    detail::check_flag(op, flag, ("positions must lie in [0, " + std::to_string(seq) + ")").c_str());
  return keys;
}

}  // namespace cuda
}  // namespace kvbench
