// ServerStatus: what a running `enclave serve` is serving right now, as the
// dashboard of `serve --ui` shows it live (src/ui/serving_live.h). A plain
// value, copied out of the server under its own locks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace enclave::serve {

struct ServedModel {
  std::string id;       // the name requests use ("assistant", an adapter's name)
  std::string version;  // what is loaded: "assistant@3" or the model's folder
};

struct ServerStatus {
  std::vector<ServedModel> models;  // the base first, then its adapters
  double started_at = 0;            // unix seconds: when the server was built
  std::uint64_t generations = 0;    // completion requests answered, any status
  int running = 0;                  // sequences being decoded
  int queued = 0;                   // requests waiting for a slot
};

}  // namespace enclave::serve
