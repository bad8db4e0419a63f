# SPDX-License-Identifier: Apache-2.0
# CUDA is optional: kernels compile whenever nvcc is present (so CI compiles them although it cannot
# run them), for sm_90 (H100/H200). Sets KVBENCH_HAVE_CUDA.
set(KVBENCH_HAVE_CUDA OFF)
if(KVBENCH_CUDA)
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 90)
    endif()
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(KVBENCH_HAVE_CUDA ON)
  endif()
endif()
message(STATUS "kvbench: CUDA kernels ${KVBENCH_HAVE_CUDA}")
