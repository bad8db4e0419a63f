// SPDX-License-Identifier: Apache-2.0
// SHA-256 (OpenSSL) of strings and files, as lowercase hex.
#pragma once

#include <filesystem>
#include <string>

namespace kvbench {

std::string sha256_hex(const std::string& bytes);
// Streams the file; kInput error naming the file when it cannot be read.
std::string sha256_file_hex(const std::filesystem::path& path);

}  // namespace kvbench
