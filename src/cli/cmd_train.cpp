// `enclave train pretrain|sft|dpo|sdpo`: every key of the training config
// (train/train_config.h) is a flag and a YAML key; flags override --config.
// `enclave train tasks` writes the synthetic skill data of the learning demo
// (eval/skill_tasks.h: the generator of the `skills` eval suite, which scores
// models on it: `enclave eval run --suite skills`).
#include <fmt/format.h>

#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file.h"
#include "core/program.h"
#include "core/yaml.h"
#include "eval/skill_tasks.h"
#include "train/train_command.h"

namespace enclave::cli {
namespace {

struct TrainFlags {
  std::string config_file;
  std::string workspace;
  bool json = false;
  std::map<std::string, std::string> values;  // key -> flag text, for the flags given
  std::map<std::string, CLI::Option*> options;
};

void add_train_mode(CLI::App& train, train::TrainMode mode, const std::string& help) {
  auto flags = std::make_shared<TrainFlags>();
  CLI::App* cmd = train.add_subcommand(std::string(train::to_string(mode)), help);
  cmd->add_option("--config", flags->config_file,
                  "YAML file with any of the keys below (flags win)");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the result as JSON");
  for (const train::ConfigField& field : train::config_fields()) {
    std::string help_text = field.help;
    if (!field.choices.empty()) help_text += fmt::format(" ({})", fmt::join(field.choices, "|"));
    CLI::Option* opt =
        cmd->add_option(train::flag_name(field.key), flags->values[field.key], help_text);
    switch (field.type) {
      case train::FieldType::kInt:
        opt->type_name("INT");
        break;
      case train::FieldType::kNumber:
        opt->type_name("FLOAT");
        break;
      case train::FieldType::kBool:
        opt->type_name("[BOOL]")->expected(0, 1);
        break;
      case train::FieldType::kStringList:
        opt->type_name("A,B,...");
        break;
      case train::FieldType::kString:
        break;
    }
    if (field.key == "resume") opt->expected(0, 1);  // bare --resume: the latest checkpoint
    flags->options[field.key] = opt;
  }
  if (mode == train::TrainMode::kPretrain || mode == train::TrainMode::kSft) {
    cmd->footer(
        "Differential privacy (pretrain, sft): --dp-epsilon E --dp-delta D --dp-max-grad-norm C\n"
        "trains with DP-SGD: Poisson-sampled batches (batch_size examples on average), each\n"
        "example's gradient clipped to L2 norm C, Gaussian noise at the smallest noise multiplier\n"
        "for which the RDP accountant proves (E, D) over the whole run. Then for any one training\n"
        "example (an SFT record; in pretrain, one packed max_length sequence) and any outcome, "
        "the\n"
        "outcome's probability changes by at most a factor e^E (plus D) whether that example was\n"
        "in the data or not. D must be below 1 / examples. Not protected: the base model and\n"
        "tokenizer, eval_data, the logged loss/grad_norm/dp/clipped_fraction metrics, anything\n"
        "derived from the data outside training. Metric dp/epsilon is the epsilon spent so far;\n"
        "the run's 'dp' param holds the final epsilon, delta, noise multiplier and sampling rate.\n"
        "More in src/train/README.md.");
  }
  cmd->callback([flags, mode] {
    nlohmann::json values = nlohmann::json::object();
    if (!flags->config_file.empty()) values = read_yaml_file(flags->config_file);
    if (values.is_null()) values = nlohmann::json::object();
    if (!values.is_object())
      fail_input("{}: expected a mapping of training keys", flags->config_file);
    for (const train::ConfigField& field : train::config_fields()) {
      if (flags->options[field.key]->count() == 0) continue;
      const std::string& text = flags->values[field.key];
      values[field.key] = field.key == "resume" && text.empty()
                              ? nlohmann::json("latest")
                              : train::parse_flag_value(field, text);
    }
    train::TrainCommand command;
    command.config = train::config_from_json(
        mode, values, flags->config_file.empty() ? "flags" : flags->config_file);
    command.workspace.workspace = workspace_flag(flags->workspace);
    command.argv = program_identity().argv;  // recorded, and re-run by the launcher
    command.config_file = flags->config_file;
    train::TrainCommandResult result = train::run_train_command(command);
    if (result.run_id == 0) {  // a launcher or a worker: its processes printed what mattered
      if (result.exit_code != 0) throw ExitStatus{result.exit_code};
      return;
    }
    nlohmann::json summary = {
        {"run_id", result.run_id},
        {"steps", result.train.steps},
        {"final_loss", result.train.losses.empty() ? nlohmann::json(nullptr)
                                                   : nlohmann::json(result.train.losses.back())},
        {"interrupted", result.train.interrupted},
        {"early_stopped", result.train.early_stopped},
        {"adapter", result.train.adapter},
        {"seconds", result.train.seconds},
        {"tokens", result.train.tokens}};
    for (const auto& [key, value] : result.train.final_eval) summary[key] = value;
    if (result.train.dp) summary["dp"] = train::dp_summary(*result.train.dp);
    if (!result.train.token_cache_key.empty())
      summary["token_cache"] = result.train.token_cache_hit ? "hit" : "miss";
    summary["memory_kb"] = {{"rss_before_data", result.train.rss_kb_before_data},
                            {"peak_reading_data", result.train.peak_rss_kb_data},
                            {"peak", result.train.peak_rss_kb_end}};
    if (result.train.interrupted) {
      summary["checkpoint"] = result.train.last_checkpoint.string();
    } else {
      summary["model"] = result.version.ref();
    }
    if (flags->json) {
      std::cout << summary.dump() << "\n";
    } else if (result.train.interrupted) {
      fmt::print("interrupted after {} steps (run {}); checkpoint {}\n", result.train.steps,
                 result.run_id, result.train.last_checkpoint.string());
    } else {
      fmt::print("trained {} {}: {} steps, final loss {:.4f}, {:.0f}s; registered {} {} (run {})\n",
                 train::to_string(mode), result.train.adapter ? "LoRA adapter" : "model",
                 result.train.steps, result.train.losses.empty() ? 0.0 : result.train.losses.back(),
                 result.train.seconds, result.train.adapter ? "adapter" : "model",
                 result.version.ref(), result.run_id);
    }
    if (!flags->json && result.train.dp) {
      const train::DpResult& dp = *result.train.dp;
      fmt::print(
          "differential privacy: ({:.4g}, {:g})-DP for each training example over {} steps "
          "(noise multiplier {:.4f}, sampling rate {:.4g}, clipping at {:g})\n",
          dp.epsilon, dp.delta, dp.steps, dp.noise_multiplier, dp.sampling_rate, dp.max_grad_norm);
    }
    if (result.exit_code != 0) throw ExitStatus{result.exit_code};
  });
}

struct TasksFlags {
  std::string out;
  eval::SkillDataOptions options;
};

}  // namespace

void register_train(CLI::App& app) {
  CLI::App* train = app.add_subcommand("train");
  train->require_subcommand(1);
  add_train_mode(*train, train::TrainMode::kPretrain,
                 "Pretrain on {\"text\"} records packed into fixed-length sequences");
  add_train_mode(*train, train::TrainMode::kSft,
                 "Supervised fine-tuning on {\"messages\"} or {\"prompt\",\"completion\"} (loss on "
                 "the answers)");
  add_train_mode(*train, train::TrainMode::kDpo,
                 "Direct preference optimisation on {\"prompt\",\"chosen\",\"rejected\"}");
  add_train_mode(*train, train::TrainMode::kSdpo,
                 "Stepwise DPO: ordered chunks, each trained against the previous result");

  auto tasks = std::make_shared<TasksFlags>();
  CLI::App* tasks_cmd = train->add_subcommand(
      "tasks", "Write the synthetic skill tasks (English and Korean) of the learning demo");
  tasks_cmd
      ->add_option("--out", tasks->out,
                   "Folder for pretrain/sft/sft_eval/dpo/dpo_eval .jsonl and dpo_prompts.yaml")
      ->required();
  tasks_cmd->add_option("--seed", tasks->options.seed, "Seed")->capture_default_str();
  tasks_cmd
      ->add_option("--n-pretrain", tasks->options.n_pretrain,
                   "Solved tasks in the pretraining text")
      ->capture_default_str();
  tasks_cmd->add_option("--n-sft", tasks->options.n_sft, "SFT chat records")->capture_default_str();
  tasks_cmd
      ->add_option("--n-eval", tasks->options.n_eval,
                   "Held-out chat records (items of the skills suite)")
      ->capture_default_str();
  tasks_cmd->add_option("--n-dpo", tasks->options.n_dpo, "Preference pairs")->capture_default_str();
  tasks_cmd
      ->add_option("--n-dpo-eval", tasks->options.n_dpo_eval,
                   "Held-out preference pairs (items of the skills suite)")
      ->capture_default_str();
  tasks_cmd->callback([tasks] {
    eval::SkillDataFiles files = eval::write_skill_datasets(tasks->out, tasks->options);
    fmt::print("wrote {}, {}, {}, {}, {}, {}\n", files.pretrain.string(), files.sft.string(),
               files.sft_eval.string(), files.dpo.string(), files.dpo_eval.string(),
               files.dpo_prompts.string());
  });
}

}  // namespace enclave::cli
