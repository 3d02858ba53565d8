#include "cli/version.h"

namespace enclave::cli {
std::string_view version() { return ENCLAVE_VERSION; }
std::string_view build_id() { return ENCLAVE_GIT_REV; }
std::string version_string() { return ENCLAVE_VERSION " (build " ENCLAVE_GIT_REV ")"; }
}  // namespace enclave::cli
