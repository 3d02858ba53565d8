// `enclave feedback export`: rated and corrected requests -> a dataset version.
#include <fmt/format.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "monitor/feedback_export.h"

namespace enclave::cli {
namespace {

struct ExportFlags {
  std::string workspace;
  monitor::FeedbackExportOptions options;
  bool json = false;
};

}  // namespace

void register_feedback(CLI::App& app) {
  CLI::App* feedback = app.add_subcommand("feedback");
  feedback->require_subcommand(1);
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* cmd = feedback->add_subcommand("export",
                                           "Corrections -> SFT messages, good/bad answers -> "
                                           "prompt/chosen/rejected, as a new dataset version");
  cmd->add_option("--out", flags->options.name, "Dataset name (a new version is registered)")
      ->required();
  cmd->add_option("--max-pairs", flags->options.max_pairs_per_prompt,
                  "Preference pairs per prompt at most")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_flag("--approved-only", flags->options.approved_only,
                "Only answers a reviewer approved in the dashboard (rejected ones are always left "
                "out)");
  cmd->add_flag("--json", flags->json, "Print the result as JSON");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->callback([flags] {
    flags->options.command = {"enclave",
                              "feedback",
                              "export",
                              "--out",
                              flags->options.name,
                              "--max-pairs",
                              std::to_string(flags->options.max_pairs_per_prompt)};
    if (flags->options.approved_only) flags->options.command.push_back("--approved-only");
    monitor::FeedbackExportResult r =
        monitor::export_feedback(workspace_root(flags->workspace), flags->options);
    if (flags->json) {
      fmt::print("{}\n", nlohmann::json{{"dataset", r.dataset_ref},
                                        {"run", r.run_id},
                                        {"n_sft", r.n_sft},
                                        {"n_preference", r.n_preference},
                                        {"n_requests", r.n_requests}}
                             .dump(2));
    } else {
      fmt::print(
          "dataset {}: {} SFT examples, {} preference pairs from {} requests with feedback (run "
          "{})\n",
          r.dataset_ref, r.n_sft, r.n_preference, r.n_requests, r.run_id);
    }
  });
}

}  // namespace enclave::cli
