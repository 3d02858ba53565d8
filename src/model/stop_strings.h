// StopStringFilter: cuts streamed text at the first stop string. Text that
// could still become the start of a stop string is held back until the next
// piece resolves it, so a caller never emits text it would have to take back
// (as vLLM and llama.cpp's server do). The stop string itself and anything
// after it are never emitted.
// Torch-free. Thread safety: none; one filter per generation.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace enclave {

class StopStringFilter {
 public:
  // Throws Error(kInvalidInput) for an empty stop string.
  explicit StopStringFilter(std::vector<std::string> stops);

  // Appends decoded text and returns what is safe to emit now. After a stop
  // string appears, returns the text before it and stopped() turns true;
  // later calls return "".
  std::string push(std::string_view text);
  // End of generation: returns the held-back text ("" if stopped).
  std::string flush();
  bool stopped() const { return stopped_; }

 private:
  std::vector<std::string> stops_;
  std::string pending_;
  bool stopped_ = false;
};

}  // namespace enclave
