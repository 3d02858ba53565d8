#include "core/error.h"

namespace enclave {

int exit_code_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidInput:
      return 1;
    case ErrorKind::kNotFound:
      return 2;
    case ErrorKind::kIo:
      return 3;
    case ErrorKind::kUnsupported:
      return 4;
    case ErrorKind::kInternal:
      return 70;
  }
  return 70;
}

}  // namespace enclave
