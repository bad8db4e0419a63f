# SPDX-License-Identifier: Apache-2.0
# LibTorch from the pip torch wheel (CMAKE_PREFIX_PATH = torch.utils.cmake_prefix_path, set by
# scripts/setup.sh). The wheel's TorchConfig needs a CUDA toolkit when the wheel is a CUDA build; on a
# machine without nvcc we build the same imported target by hand from the wheel's include/ and lib/.
# Result: the INTERFACE target kvbench_torch.
# Torch's CUDA config would otherwise add -gencode flags for every architecture it knows.
set(TORCH_CUDA_ARCH_LIST "9.0" CACHE STRING "CUDA architectures for LibTorch's CUDA flags (H100/H200)")
find_package(Torch QUIET)
add_library(kvbench_torch INTERFACE)
if(Torch_FOUND)
  target_link_libraries(kvbench_torch INTERFACE ${TORCH_LIBRARIES})
  target_include_directories(kvbench_torch SYSTEM INTERFACE ${TORCH_INCLUDE_DIRS})
  if(TORCH_CXX_FLAGS)
    separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
    target_compile_options(kvbench_torch INTERFACE $<$<COMPILE_LANGUAGE:CXX>:${_torch_flags}>)
  endif()
else()
  find_path(KVBENCH_TORCH_ROOT NAMES include/ATen/ATen.h
            PATHS ${CMAKE_PREFIX_PATH} PATH_SUFFIXES ../.. ../../.. NO_DEFAULT_PATH REQUIRED)
  message(STATUS "kvbench: TorchConfig unusable here; using the wheel at ${KVBENCH_TORCH_ROOT} directly")
  foreach(lib torch torch_cpu c10)
    find_library(KVBENCH_LIB_${lib} ${lib} PATHS ${KVBENCH_TORCH_ROOT}/lib NO_DEFAULT_PATH REQUIRED)
    target_link_libraries(kvbench_torch INTERFACE ${KVBENCH_LIB_${lib}})
  endforeach()
  target_include_directories(kvbench_torch SYSTEM INTERFACE
    ${KVBENCH_TORCH_ROOT}/include ${KVBENCH_TORCH_ROOT}/include/torch/csrc/api/include)
  target_compile_definitions(kvbench_torch INTERFACE _GLIBCXX_USE_CXX11_ABI=1)
endif()
