// Program version and build id, recorded in runs and shown by --version.
#pragma once

#include <string_view>

namespace enclave::cli {
std::string_view version_string();
}
