// SPDX-License-Identifier: Apache-2.0
#include "harness/hashing.h"

#include "harness/error.h"

#include <openssl/evp.h>

#include <fstream>
#include <memory>
#include <vector>

namespace kvbench {
Sha256::Sha256() : ctx_(EVP_MD_CTX_new(), EVP_MD_CTX_free) {
  KVBENCH_ASSERT(ctx_ && EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1, "sha256 init");
}

void Sha256::update(const void* data, size_t size) {
  KVBENCH_ASSERT(EVP_DigestUpdate(ctx_.get(), data, size) == 1, "sha256 update");
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  KVBENCH_ASSERT(EVP_DigestFinal_ex(ctx_.get(), digest, &size) == 1, "sha256 final");
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string sha256_hex(const std::string& bytes) {
  Sha256 h;
  h.update(bytes.data(), bytes.size());
  return h.hex();
}

std::string sha256_file_hex(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  KVBENCH_CHECK_INPUT(in.good(), path.string(), ": cannot read file");
  Sha256 h;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    h.update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  return h.hex();
}

}  // namespace kvbench
