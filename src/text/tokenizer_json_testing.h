// Test support for the tokenizer.json tests: parse a JSON snippet into a
// JsonField that stays valid, and check that a call fails with an Error of a
// given kind whose message names the file and field.
// Thread safety: test code; single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "text/json_field.h"

namespace enclave::testing {

// Owns parsed documents so the JsonFields handed out stay valid.
class JsonDocs {
 public:
  JsonField parse(const std::string& text, const std::string& file = "tokenizer.json",
                  const std::string& path = "") {
    docs_.push_back(std::make_unique<nlohmann::json>(nlohmann::json::parse(text)));
    return JsonField(*docs_.back(), file, path);
  }

 private:
  std::vector<std::unique_ptr<nlohmann::json>> docs_;
};

// Runs f, expects an Error of `kind` whose message contains every fragment.
inline void expect_error(const std::function<void()>& f, ErrorKind kind,
                         const std::vector<std::string>& fragments) {
  try {
    f();
    ADD_FAILURE() << "expected an error mentioning " << (fragments.empty() ? "" : fragments[0]);
  } catch (const Error& e) {
    EXPECT_EQ(static_cast<int>(e.kind()), static_cast<int>(kind)) << e.what();
    for (const std::string& fragment : fragments) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
          << "'" << e.what() << "' does not mention '" << fragment << "'";
    }
  }
}

}  // namespace enclave::testing
