// The request log's database file (.enclave/serve/requests.db), opened with
// its schema applied and format version checked: shared by the request log
// (request_log.cpp) and the feedback review (feedback_review.cpp). Internal
// to src/monitor.
// Thread safety: each call opens its own connection.
#pragma once

#include <filesystem>
#include <memory>

#include "store/db.h"

namespace enclave::monitor {

// Opens path (creating it when create is set). Throws Error(kNotFound) if it
// is missing and !create, Error(kInvalidInput) for a newer format version.
std::unique_ptr<store::Db> open_request_db(const std::filesystem::path& path, bool create);

}  // namespace enclave::monitor
