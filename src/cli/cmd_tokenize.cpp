// `enclave tokenize`: text -> token ids with the model's own tokenizer.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "text/tokenizer.h"

namespace enclave::cli {
namespace {

struct TokenizeFlags {
  std::string model;
  std::string text;
  bool no_special = false;
  bool json = false;
};

}  // namespace

void register_tokenize(CLI::App& app) {
  auto flags = std::make_shared<TokenizeFlags>();
  CLI::App* cmd = app.add_subcommand("tokenize");
  cmd->add_option("--model", flags->model,
                  "Model directory or registry reference (name, name@3, name:alias)")
      ->required();
  cmd->add_option("--text", flags->text, "Text to tokenize")->required();
  cmd->add_flag("--no-special", flags->no_special, "Do not add BOS/EOS tokens");
  cmd->add_flag("--json", flags->json, "Print as JSON");
  cmd->callback([flags] {
    std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(resolve_model_base(flags->model));
    std::vector<TokenId> ids = tokenizer->encode(flags->text, !flags->no_special);
    if (flags->json) {
      nlohmann::json out;
      out["tokens"] = ids;
      // Pieces of byte-level vocabularies are not always valid UTF-8 on their
      // own; dump() replaces such bytes with U+FFFD.
      out["pieces"] = nlohmann::json::array();
      for (TokenId id : ids) out["pieces"].push_back(tokenizer->id_to_piece(id));
      out["n_tokens"] = ids.size();
      std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      return;
    }
    fmt::print("{} tokens\n", ids.size());
    for (TokenId id : ids) {
      fmt::print("{:>8}  {}\n", id,
                 nlohmann::json(tokenizer->id_to_piece(id))
                     .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
  });
}

}  // namespace enclave::cli
