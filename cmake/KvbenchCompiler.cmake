# SPDX-License-Identifier: Apache-2.0
# Compiler launcher (ccache) and the warning set every kvbench target gets.
find_program(KVBENCH_CCACHE ccache)
if(KVBENCH_CCACHE)
  set(CMAKE_CXX_COMPILER_LAUNCHER ${KVBENCH_CCACHE})
  set(CMAKE_C_COMPILER_LAUNCHER ${KVBENCH_CCACHE})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${KVBENCH_CCACHE})
  # Precompiled headers and ccache agree only with these settings.
  set(ENV{CCACHE_SLOPPINESS} "pch_defines,time_macros,include_file_mtime,include_file_ctime")
endif()

function(kvbench_target_defaults target)
  get_target_property(type ${target} TYPE)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers>)
endfunction()
