// `enclave score`: log-probabilities of each token given the ones before it,
// the building block of perplexity and evaluation.
#include <fmt/format.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "model/engine.h"
#include "text/tokenizer.h"

namespace enclave::cli {
namespace {

struct ScoreFlags {
  std::string model;
  std::string adapter;
  std::string text;
  std::string tokens;
  ComputeFlags compute;
  bool json = false;
  bool use_tokens = false;
};

void run_score(const ScoreFlags& flags) {
  std::unique_ptr<Engine> engine = load_engine(flags.model, flags.adapter, flags.compute);

  std::vector<TokenId> ids;
  if (flags.use_tokens) {
    ids = parse_token_list(flags.tokens, "--tokens");
  } else {
    if (engine->tokenizer() == nullptr) {
      fail(ErrorKind::kNotFound, "{}: no tokenizer.json or tokenizer.model; use --tokens",
           flags.model);
    }
    ids = engine->tokenizer()->encode(flags.text, /*add_special=*/true);
  }
  std::vector<double> logprobs = engine->score(ids);

  if (flags.json) {
    nlohmann::json out;
    out["tokens"] = ids;
    out["logprobs"] = logprobs;
    std::cout << out.dump() << "\n";
    return;
  }
  double total = 0;
  for (std::size_t i = 0; i < logprobs.size(); ++i) {
    total += logprobs[i];
    std::string piece = engine->tokenizer() != nullptr
                            ? nlohmann::json(engine->tokenizer()->id_to_piece(ids[i + 1]))
                                  .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                            : "";
    fmt::print("{:>6} {:>8} {:>12.6f}  {}\n", i + 1, ids[i + 1], logprobs[i], piece);
  }
  double n = static_cast<double>(logprobs.size());
  fmt::print("tokens {}  sum logprob {:.6f}  perplexity {:.4f}\n", ids.size(), total,
             n > 0 ? std::exp(-total / n) : 1.0);
}

}  // namespace

void register_score(CLI::App& app) {
  auto flags = std::make_shared<ScoreFlags>();
  CLI::App* cmd = app.add_subcommand("score");
  cmd->add_option("--model", flags->model,
                  "Model directory or registry reference (name, name@3, name:alias)")
      ->required();
  auto* text = cmd->add_option("--text", flags->text, "Text to score (tokenized with BOS)");
  auto* tokens = cmd->add_option("--tokens", flags->tokens, "Token ids to score, e.g. 1,2,3");
  text->excludes(tokens);
  cmd->add_flag("--json", flags->json, R"(Print {"tokens":[...],"logprobs":[...]})");
  cmd->add_option("--adapter", flags->adapter,
                  "LoRA adapter directory (PEFT format) applied on top of the model");
  add_compute_flags(*cmd, flags->compute);
  cmd->callback([flags, text, tokens] {
    if (text->count() == 0 && tokens->count() == 0) fail_input("score: give --text or --tokens");
    flags->use_tokens = tokens->count() > 0;
    run_score(*flags);
  });
}

}  // namespace enclave::cli
