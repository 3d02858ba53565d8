// instruction_following: IFEval-style documents ({"prompt",
// "instruction_id_list", "kwargs"}); the model's answer is checked against
// each instruction, strictly and loosely (instructions.h). Prompt-level
// accuracy: every instruction of the document followed; instruction-level:
// the fraction of all instructions followed (a weighted mean per document).
#include "core/error.h"
#include "eval/evaluators.h"
#include "eval/instructions.h"

namespace enclave::eval {

void evaluate_instruction_following(const TaskRun& run, TaskResult& result) {
  std::vector<std::vector<Instruction>> per_doc;
  for (std::size_t i = 0; i < run.docs.docs.size(); ++i) {
    per_doc.push_back(
        instructions_of(run.docs.docs[i], fmt::format("task '{}': document {}", run.task.name, i)));
  }
  MetricSamples* prompt_strict = metric_slot(result.metrics, "prompt_level_strict_acc");
  MetricSamples* inst_strict = metric_slot(result.metrics, "inst_level_strict_acc");
  MetricSamples* prompt_loose = metric_slot(result.metrics, "prompt_level_loose_acc");
  MetricSamples* inst_loose = metric_slot(result.metrics, "inst_level_loose_acc");
  auto progress = make_progress(run, per_doc.size(), "docs");
  const std::vector<std::string> responses = generate_answers(run, progress.get());
  progress->finish();
  for (std::size_t i = 0; i < per_doc.size(); ++i) {
    const std::string& response = responses[i];
    std::size_t n_strict = 0;
    std::size_t n_loose = 0;
    nlohmann::json checks = nlohmann::json::array();
    for (const Instruction& inst : per_doc[i]) {
      const bool strict = follows_strict(inst, response);
      const bool loose = strict || follows_loose(inst, response);
      n_strict += strict ? 1 : 0;
      n_loose += loose ? 1 : 0;
      checks.push_back({{"id", inst.id}, {"strict", strict}, {"loose", loose}});
    }
    const auto n = static_cast<double>(per_doc[i].size());
    if (prompt_strict != nullptr) prompt_strict->add(n_strict == per_doc[i].size() ? 1.0 : 0.0);
    if (inst_strict != nullptr) inst_strict->add(static_cast<double>(n_strict), n);
    if (prompt_loose != nullptr) prompt_loose->add(n_loose == per_doc[i].size() ? 1.0 : 0.0);
    if (inst_loose != nullptr) inst_loose->add(static_cast<double>(n_loose), n);
    if (run.options.keep_samples) {
      result.samples.push_back({{"doc", i},
                                {"prompt", run.prompts.context(i)},
                                {"response", response},
                                {"instructions", checks}});
    }
  }
}

}  // namespace enclave::eval
