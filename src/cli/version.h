// Program version and build id: set as the process identity by main.cpp
// (core/program.h, recorded in runs) and shown by --version.
// Thread safety: constants, safe from any thread.
#pragma once

#include <string>
#include <string_view>

namespace enclave::cli {
std::string_view version();    // "0.1.0"
std::string_view build_id();   // the source revision ("1a2b3c4d5e6f"), "unknown" outside git
std::string version_string();  // "0.1.0 (build 1a2b3c4d5e6f)", for --version
}  // namespace enclave::cli
