# SPDX-License-Identifier: Apache-2.0
# Third-party libraries, all from Debian packages (scripts/setup.sh installs them).
find_package(nlohmann_json 3.10 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(CLI11 REQUIRED)
find_package(simdjson REQUIRED)
find_package(OpenSSL REQUIRED)   # SHA-256 of configs and dataset files
find_package(ZLIB REQUIRED)      # .gz data files
find_package(ICU REQUIRED COMPONENTS uc)  # NFC normalization in tokenizers (Qwen)
if(KVBENCH_DATA_FETCH)
  find_package(CURL REQUIRED)    # kvbench data fetch: resumable HTTP(S) downloads
endif()
find_package(GTest REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
if(KVBENCH_DATA_FETCH)
  pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)  # kvbench data fetch: LongBench data.zip
endif()
if(KVBENCH_PLOTS)
  pkg_check_modules(CAIRO REQUIRED IMPORTED_TARGET cairo)  # kvbench report: plots as SVG, PNG and PDF
endif()
if(KVBENCH_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
if(NOT TARGET yaml-cpp AND TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp ALIAS yaml-cpp::yaml-cpp)
endif()
