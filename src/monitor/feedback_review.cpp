#include "monitor/feedback_review.h"

#include "core/error.h"
#include "monitor/request_db.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/iso_time.h"
#include "store/upsert.h"
#include "store/workspace.h"

namespace enclave::monitor {

FeedbackReview review_feedback(const std::filesystem::path& workspace_root, FeedbackReview review,
                               const Redactor& redactor) {
  if (review.decision != "approved" && review.decision != "rejected")
    fail_input("decision: '{}' is not one of approved, rejected", review.decision);
  if (review.correction && review.decision == "rejected")
    fail_input("correction: a rejected answer takes no correction (approve it with one instead)");
  if (review.correction && review.correction->find_first_not_of(" \t\r\n") == std::string::npos)
    fail_input("correction: empty (leave it out to approve the answer as it is)");
  if (review.correction && redactor) review.correction = redactor(*review.correction);
  if (review.reviewed_at <= 0) review.reviewed_at = store::now_unix();
  // The audit entry commits first, as purges do: a decision that cannot be
  // audited (a keyed log without its key) is not recorded.
  store::Workspace workspace(workspace_root);
  std::unique_ptr<store::Db> db =
      open_request_db(RequestLog::db_path(workspace_root), /*create=*/false);
  store::WriteTransaction audit_tx(workspace.db());
  {
    store::WriteTransaction tx(*db);
    store::Statement find(*db, "SELECT 1 FROM requests WHERE id = ?1");
    find.bind(1, review.request_id);
    if (!find.step())
      fail(ErrorKind::kNotFound, "no request with id '{}' in the request log", review.request_id);
    store::update_or_insert(
        *db,
        "UPDATE feedback_reviews SET decision = ?2, correction = ?3, reviewed_at = ?4, "
        "reviewer = ?5 WHERE request_id = ?1",
        "INSERT INTO feedback_reviews(request_id, decision, correction, reviewed_at, reviewer) "
        "VALUES (?1, ?2, ?3, ?4, ?5)",
        [&review](store::Statement& s) {
          s.bind(1, review.request_id).bind(2, review.decision).bind(3, review.correction);
          s.bind(4, review.reviewed_at).bind(5, review.reviewer);
        });
    store::append_audit(workspace.db(), "feedback-review", "request " + review.request_id,
                        {{"decision", review.decision},
                         {"corrected", review.correction.has_value()},
                         {"reviewer", review.reviewer}});
    tx.commit();
  }
  audit_tx.commit();
  return review;
}

std::map<std::string, FeedbackReview> feedback_reviews(
    const std::filesystem::path& workspace_root) {
  std::map<std::string, FeedbackReview> out;
  const std::filesystem::path path = RequestLog::db_path(workspace_root);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return out;
  std::unique_ptr<store::Db> db = open_request_db(path, /*create=*/false);
  store::Statement s(*db,
                     "SELECT request_id, decision, correction, reviewed_at, reviewer "
                     "FROM feedback_reviews");
  while (s.step()) {
    FeedbackReview r{.request_id = s.text(0),
                     .decision = s.text(1),
                     .correction = s.optional_text(2),
                     .reviewed_at = s.real(3),
                     .reviewer = s.text(4)};
    out.emplace(r.request_id, std::move(r));
  }
  return out;
}

nlohmann::json feedback_review_json(const FeedbackReview& r) {
  nlohmann::json j = {{"request_id", r.request_id},
                      {"decision", r.decision},
                      {"reviewed_at", store::format_time(r.reviewed_at)},
                      {"reviewer", r.reviewer}};
  j["correction"] = r.correction ? nlohmann::json(*r.correction) : nlohmann::json(nullptr);
  return j;
}

}  // namespace enclave::monitor
