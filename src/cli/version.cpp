#include "cli/version.h"

namespace enclave::cli {
std::string_view version_string() { return ENCLAVE_VERSION " (build " ENCLAVE_GIT_REV ")"; }
}  // namespace enclave::cli
