// Test helper: the message of the enclave::Error a call throws ("no error"
// if it returns), so tests can check that errors name the file and field.
// Tests only.
#pragma once

#include <string>

#include "core/error.h"

namespace enclave::eval::testing {

template <typename F>
std::string error_message(F&& call) {
  try {
    call();
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace enclave::eval::testing
