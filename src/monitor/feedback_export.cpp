#include "monitor/feedback_export.h"

#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/file.h"
#include "core/staging_dir.h"
#include "monitor/feedback_review.h"
#include "monitor/request_log.h"
#include "store/db.h"
#include "store/names.h"
#include "store/registry.h"
#include "store/runs.h"
#include "store/workspace.h"

namespace enclave::monitor {
namespace {

struct Judged {
  RequestRecord request;
  std::optional<double> rating;
  std::optional<std::string> correction;
};

bool is_chat(const RequestRecord& r) { return r.endpoint == "chat.completions"; }

// The prompt turns of a request: the stored messages, or one user turn.
nlohmann::json prompt_messages(const RequestRecord& r) {
  if (is_chat(r)) {
    nlohmann::json messages = nlohmann::json::parse(r.prompt, nullptr, /*allow_exceptions=*/false);
    if (messages.is_array()) return messages;
  }
  return nlohmann::json::array({{{"role", "user"}, {"content", r.prompt}}});
}

nlohmann::json answer(const RequestRecord& r, const std::string& text) {
  if (is_chat(r)) return nlohmann::json::array({{{"role", "assistant"}, {"content", text}}});
  return text;
}

std::string jsonl_line(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace

FeedbackExportResult export_feedback(const std::filesystem::path& workspace_root,
                                     const FeedbackExportOptions& options) {
  store::validate_name(options.name, "dataset name");
  std::vector<Judged> judged;
  const std::map<std::string, FeedbackReview> reviews = feedback_reviews(workspace_root);
  for (auto& [request, feedback] : requests_with_feedback(workspace_root)) {
    auto review = reviews.find(request.id);
    const bool approved = review != reviews.end() && review->second.decision == "approved";
    if (review != reviews.end() && !approved) continue;  // rejected by a reviewer
    if (options.approved_only && !approved) continue;
    Judged j{request, std::nullopt, std::nullopt};
    if (approved && review->second.correction) j.correction = review->second.correction;
    for (const FeedbackRecord& f : feedback) {  // latest first
      if (!j.rating && f.rating) j.rating = f.rating;
      if (!j.correction && f.correction) j.correction = f.correction;
    }
    // An approved answer without a rating or correction counts as a good one.
    if (approved && !j.correction && (!j.rating || *j.rating == 0)) j.rating = 1.0;
    if ((j.rating && *j.rating != 0) || j.correction) judged.push_back(std::move(j));
  }

  std::string sft;
  std::string preference;
  FeedbackExportResult result;
  // Prompts are grouped by endpoint and exact prompt text.
  struct Group {
    const RequestRecord* first = nullptr;
    std::vector<std::string> chosen;
    std::vector<std::string> rejected;
  };
  std::map<std::pair<std::string, std::string>, Group> groups;
  std::set<std::int64_t> model_versions;
  std::set<std::int64_t> adapter_versions;
  for (const Judged& j : judged) {
    const RequestRecord& r = j.request;
    if (r.model_version_id) model_versions.insert(*r.model_version_id);
    if (r.adapter_version_id) adapter_versions.insert(*r.adapter_version_id);
    Group& g = groups[{r.endpoint, r.prompt}];
    if (g.first == nullptr) g.first = &r;
    if (j.correction) {
      nlohmann::json messages = prompt_messages(r);
      messages.push_back({{"role", "assistant"}, {"content", *j.correction}});
      sft += jsonl_line({{"messages", messages}});
      ++result.n_sft;
      g.chosen.push_back(*j.correction);
      if (r.completion != *j.correction) g.rejected.push_back(r.completion);
    } else if (*j.rating > 0) {
      g.chosen.push_back(r.completion);
    } else {
      g.rejected.push_back(r.completion);
    }
  }
  for (const auto& [key, g] : groups) {
    int pairs = 0;
    for (const std::string& chosen : g.chosen) {
      for (const std::string& rejected : g.rejected) {
        if (chosen == rejected || pairs >= options.max_pairs_per_prompt) continue;
        const nlohmann::json prompt =
            is_chat(*g.first) ? prompt_messages(*g.first) : nlohmann::json(g.first->prompt);
        preference += jsonl_line({{"prompt", prompt},
                                  {"chosen", answer(*g.first, chosen)},
                                  {"rejected", answer(*g.first, rejected)}});
        ++pairs;
        ++result.n_preference;
      }
    }
  }
  result.n_requests = static_cast<int>(judged.size());
  if (result.n_sft == 0 && result.n_preference == 0) {
    fail_input(
        "feedback export: no corrections and no pair of a good and a bad answer to one prompt yet "
        "({} requests with feedback)",
        judged.size());
  }

  store::Workspace workspace(workspace_root);
  // Inside .enclave/tmp and locked, so `store gc` leaves it alone until the
  // store has copied it in.
  const StagingDir staging = StagingDir::scratch(workspace.tmp_dir(), "feedback-export");
  if (!sft.empty()) write_file_atomic(staging.path() / "sft.jsonl", sft);
  if (!preference.empty()) write_file_atomic(staging.path() / "preference.jsonl", preference);

  store::RunOptions run_options;
  run_options.kind = "feedback-export";
  run_options.name = options.name;
  run_options.command = options.command;
  run_options.params = {{"n_sft", result.n_sft},
                        {"approved_only", options.approved_only},
                        {"n_preference", result.n_preference},
                        {"n_requests", result.n_requests},
                        {"max_pairs_per_prompt", options.max_pairs_per_prompt}};
  store::Run run(workspace_root, run_options);
  for (std::int64_t version_id : model_versions) run.log_input_version(version_id, "served_model");
  for (std::int64_t version_id : adapter_versions)
    run.log_input_version(version_id, "served_adapter");
  store::VersionInfo version =
      store::register_version(workspace, {.kind = store::RegistryKind::kDataset,
                                          .name = options.name,
                                          .source = staging.path(),
                                          .from_run = run.id()});
  run.log_output_version(version.id, "dataset");
  run.finish(store::RunStatus::kFinished);
  result.dataset_ref = version.ref();
  result.run_id = run.id();
  return result;
}

std::int64_t feedback_high_water(const std::filesystem::path& workspace_root) {
  const std::filesystem::path path = RequestLog::db_path(workspace_root);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return 0;
  store::Db db(path);
  store::Statement q(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'feedback'");
  if (!q.step()) return 0;
  store::Statement max(db, "SELECT COALESCE(MAX(id), 0) FROM feedback");
  max.step();
  return max.int64(0);
}

}  // namespace enclave::monitor
