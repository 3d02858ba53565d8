// Feedback review: a person looks at an answer that got feedback and
// approves it (optionally with a corrected answer) or rejects it. Decisions
// are kept in the request log (table feedback_reviews, one per request, the
// latest decision wins) and audited ("feedback-review" in the workspace's
// audit log, with who decided). The feedback export (feedback_export.h)
// leaves rejected requests out, uses an approved correction in place of the
// user's, and with approved_only exports approved requests only, so
// approved corrections become the next feedback dataset version.
// Thread safety: free functions; each call opens its own connections.
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "monitor/request_log.h"

namespace enclave::monitor {

struct FeedbackReview {
  std::string request_id;
  std::string decision;                   // "approved" | "rejected"
  std::optional<std::string> correction;  // an approved answer, corrected (redacted when stored)
  double reviewed_at = 0;                 // seconds since the epoch; 0: now
  std::string reviewer;                   // "key:<id>" or the OS user
};

// Records the decision (replacing an earlier one) and its audit entry.
// Throws Error(kInvalidInput) for a decision other than approved|rejected, a
// correction on a rejection or an empty one, Error(kNotFound) for a
// workspace without a request log or an unknown request id. The correction
// passes through redactor when one is given.
FeedbackReview review_feedback(const std::filesystem::path& workspace_root, FeedbackReview review,
                               const Redactor& redactor);

// Every decision, by request id.
std::map<std::string, FeedbackReview> feedback_reviews(const std::filesystem::path& workspace_root);

nlohmann::json feedback_review_json(const FeedbackReview& review);

}  // namespace enclave::monitor
