// `enclave generate`: stream a completion (or a chat reply) to stdout; prompt
// and generation speed go to stderr so stdout holds only the text.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/error.h"
#include "model/engine.h"
#include "text/chat_template.h"
#include "text/tokenizer.h"

namespace enclave::cli {
namespace {

struct GenerateFlags {
  std::string model;
  std::string adapter;
  std::string prompt;
  std::string system;
  bool chat = false;
  GenerateOptions options;
  ComputeFlags compute;
};

std::vector<TokenId> prompt_tokens(const Engine& engine, const GenerateFlags& flags) {
  const Tokenizer* tokenizer = engine.tokenizer();
  if (tokenizer == nullptr) {
    fail(ErrorKind::kNotFound, "{}: model has no tokenizer.json or tokenizer.model", flags.model);
  }
  if (!flags.chat) return tokenizer->encode(flags.prompt, /*add_special=*/true);
  if (!engine.chat_template()) {
    fail(ErrorKind::kNotFound,
         "{}: the model has no chat template (tokenizer_config.json has no chat_template, no "
         "chat_template.jinja); give one with --chat-template FILE, or drop --chat",
         flags.model);
  }
  std::vector<ChatMessage> messages;
  if (!flags.system.empty()) messages.push_back({"system", flags.system});
  messages.push_back({"user", flags.prompt});
  std::string text = render_chat(*engine.chat_template(), messages, /*add_generation_prompt=*/true);
  // The rendered template already carries BOS where the family wants it.
  return tokenizer->encode(text, /*add_special=*/false, /*parse_special=*/true);
}

void run_generate(const GenerateFlags& flags) {
  std::unique_ptr<Engine> engine = load_engine(flags.model, flags.adapter, flags.compute);
  std::vector<TokenId> prompt = prompt_tokens(*engine, flags);

  GenerateResult result = engine->generate(prompt, flags.options, [](std::string_view piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  });
  std::fputc('\n', stdout);
  std::fflush(stdout);

  auto rate = [](int n, double seconds) { return seconds > 0 ? n / seconds : 0.0; };
  fmt::print(
      stderr,
      "prompt: {} tokens, {:.1f} tokens/s | generation: {} tokens, {:.1f} tokens/s | finish: {}\n",
      result.n_prompt_tokens, rate(result.n_prompt_tokens, result.prompt_seconds),
      result.n_generated, rate(result.n_generated, result.decode_seconds), result.finish_reason);
}

}  // namespace

void register_generate(CLI::App& app) {
  auto flags = std::make_shared<GenerateFlags>();
  SamplingParams& s = flags->options.sampling;
  CLI::App* cmd = app.add_subcommand("generate");
  cmd->add_option("--model", flags->model,
                  "Model directory or registry reference (name, name@3, name:alias)")
      ->required();
  cmd->add_option("--prompt", flags->prompt, "Prompt text")->required();
  cmd->add_flag("--chat", flags->chat,
                "Wrap the prompt in the model's chat template as a user turn");
  cmd->add_option("--system", flags->system, "System message (with --chat)");
  cmd->add_option("--max-tokens", flags->options.max_tokens, "Most tokens to generate")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  cmd->add_option("--temperature", s.temperature, "Sampling temperature (0: greedy)")
      ->check(CLI::Range(0.0, 100.0))
      ->capture_default_str();
  cmd->add_option("--top-p", s.top_p,
                  "Nucleus sampling: keep the smallest set with this probability")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--top-k", s.top_k, "Keep the k most likely tokens (0: all)")
      ->check(CLI::Range(0, 1 << 30));
  cmd->add_option("--min-p", s.min_p, "Drop tokens below min-p times the top probability")
      ->check(CLI::Range(0.0, 1.0));
  cmd->add_option("--repetition-penalty", s.repetition_penalty,
                  "Penalty for tokens already seen (1: none)")
      ->check(CLI::Range(0.01, 100.0));
  cmd->add_option("--seed", s.seed, "Sampling seed")->capture_default_str();
  cmd->add_option("--stop", flags->options.stop, "Stop when this text appears (repeatable)");
  cmd->add_flag("--ignore-eos", flags->options.ignore_eos,
                "Keep going past end-of-sequence tokens");
  cmd->add_option("--adapter", flags->adapter,
                  "LoRA adapter directory (PEFT format) applied on top of the model");
  add_compute_flags(*cmd, flags->compute);
  add_chat_template_flag(*cmd, flags->compute);
  cmd->callback([flags] { run_generate(*flags); });
}

}  // namespace enclave::cli
