// Feedback becomes data: `enclave feedback export --out NAME` turns rated and
// corrected requests from the request log into a new version of dataset NAME
// in the TRL formats, so the next SFT or DPO run can use it:
//   sft.jsonl         {"messages": [...prompt turns, {"role": "assistant",
//                      "content": <correction>}]} per corrected request
//   preference.jsonl  {"prompt", "chosen", "rejected"} for one prompt: a
//                      correction or a positively rated answer (rating > 0)
//                      over a negatively rated answer (rating < 0) or the
//                      answer that was corrected. Chat prompts use TRL's
//                      conversational form (message lists), completions text.
// The export is a run (kind "feedback-export") whose inputs are the model
// versions that served those requests, so lineage leads from the dataset
// back to the model it came from. A request's latest rating and latest
// correction count; a reviewer's decision (feedback_review.h) comes first.
// Thread safety: opens its own connections; safe from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace enclave::monitor {

struct FeedbackExportOptions {
  std::string name;                  // dataset name
  std::vector<std::string> command;  // recorded in the run
  int max_pairs_per_prompt = 16;
  // Only requests a reviewer approved (feedback_review.h); rejected ones
  // are left out either way, and an approved correction replaces the user's.
  bool approved_only = false;
};

struct FeedbackExportResult {
  std::string dataset_ref;  // "name@3"
  std::int64_t run_id = 0;
  int n_sft = 0;
  int n_preference = 0;
  int n_requests = 0;  // requests with usable feedback
};

// Throws Error(kNotFound) if the workspace has no request log,
// Error(kInvalidInput) for a bad dataset name or when no request has a
// rating or correction to export.
FeedbackExportResult export_feedback(const std::filesystem::path& workspace_root,
                                     const FeedbackExportOptions& options);

// The highest feedback row id in the workspace's request log (ids only
// grow), 0 when there is no log or no feedback yet: what `pipeline watch`
// counts `on: feedback: {new: N}` from.
std::int64_t feedback_high_water(const std::filesystem::path& workspace_root);

}  // namespace enclave::monitor
