// SPDX-License-Identifier: Apache-2.0
// KVBENCH_HD marks the kernels' per-element functions (kernel_math.h) as callable from host and
// device under nvcc, and as plain inline C++ elsewhere, so the same code compiles into the CUDA
// kernels and into CPU-only builds (tests/unit/test_kv_kernels_emulated.cpp) without the CUDA toolkit.
#pragma once

#if defined(__CUDACC__)
#define KVBENCH_HD __host__ __device__ __forceinline__
#else
#define KVBENCH_HD inline
#endif
