# SPDX-License-Identifier: Apache-2.0
# Compiler launcher (ccache) and the warning set every kvbench target gets.
find_program(KVBENCH_CCACHE ccache)
if(KVBENCH_CCACHE)
  # base_dir: paths inside the checkout are hashed relative to it, so a fresh clone elsewhere hits
  # the cache; the sloppiness lets precompiled headers be cached.
  set(_kvbench_launcher ${CMAKE_COMMAND} -E env "CCACHE_BASEDIR=${CMAKE_CURRENT_SOURCE_DIR}"
      "CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime"
      ${KVBENCH_CCACHE})
  set(CMAKE_CXX_COMPILER_LAUNCHER ${_kvbench_launcher})
  set(CMAKE_C_COMPILER_LAUNCHER ${_kvbench_launcher})
  set(CMAKE_CUDA_COMPILER_LAUNCHER ${_kvbench_launcher})
endif()

function(kvbench_target_defaults target)
  get_target_property(type ${target} TYPE)
  target_compile_options(${target} PRIVATE
    $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers>)
endfunction()
