// SPDX-License-Identifier: Apache-2.0
// Fuzz target: a whole .safetensors file (header length, JSON header, tensor table, data) through
// parse_safetensors_header. Accepted headers must keep the invariants the mmap reader relies on:
// every tensor's byte range lies inside the data section and matches shape x dtype exactly.
#include "harness/model/safetensors_header.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace kvbench;
  try {
    SafetensorsHeader header = parse_safetensors_header(data, size, "fuzz.safetensors");
    if (header.data_start < 8 || header.data_start > size) fuzz::fail("data_start outside the file");
    const uint64_t data_size = size - header.data_start;
    uint64_t checksum = 0;
    for (const auto& [name, t] : header.tensors) {
      unsigned __int128 numel = 1;
      for (int64_t d : t.shape) {
        if (d < 0) fuzz::fail("negative dimension in " + name);
        numel *= static_cast<uint64_t>(d);
      }
      if (numel != t.numel) fuzz::fail("numel does not match the shape of " + name);
      if (numel * t.element_size != static_cast<unsigned __int128>(t.end - t.begin) || t.begin > t.end ||
          t.end > data_size)
        fuzz::fail("byte range of " + name + " does not match its shape or leaves the data section");
      // Read the first and last byte of the range: ASan reports any read outside the input.
      if (t.end > t.begin)
        checksum += data[header.data_start + t.begin] + data[header.data_start + t.end - 1];
    }
    if (checksum == 1u << 31) std::fputc(0, stderr);  // keeps the reads
  } catch (const Error& e) {
    fuzz::expect_clean_error(e, {ErrorKind::kInput});
  }
  return 0;
}
