// `enclave tokenize`: text -> token ids with the model's own tokenizer; a
// file of texts (a JSON array of strings) encodes many with one load.
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/file.h"
#include "text/tokenizer.h"

namespace enclave::cli {
namespace {

struct TokenizeFlags {
  std::string model;
  std::string text;
  std::string texts_file;
  bool no_special = false;
  bool json = false;
};

// The strings of a JSON array file.
std::vector<std::string> read_texts(const std::string& path) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    fail_input("{}: not JSON: {}", path, e.what());
  }
  if (!doc.is_array()) fail_input("{}: expected a JSON array of strings", path);
  std::vector<std::string> texts;
  for (std::size_t i = 0; i < doc.size(); ++i) {
    if (!doc[i].is_string()) fail_input("{}: element {} is not a string", path, i);
    texts.push_back(doc[i].get<std::string>());
  }
  return texts;
}

void print_ids(const Tokenizer& tokenizer, const std::vector<TokenId>& ids, bool json) {
  if (json) {
    nlohmann::json out;
    out["tokens"] = ids;
    // Pieces of byte-level vocabularies are not always valid UTF-8 on their
    // own; dump() replaces such bytes with U+FFFD.
    out["pieces"] = nlohmann::json::array();
    for (TokenId id : ids) out["pieces"].push_back(tokenizer.id_to_piece(id));
    out["n_tokens"] = ids.size();
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return;
  }
  fmt::print("{} tokens\n", ids.size());
  for (TokenId id : ids) {
    fmt::print("{:>8}  {}\n", id,
               nlohmann::json(tokenizer.id_to_piece(id))
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
}

}  // namespace

void register_tokenize(CLI::App& app) {
  auto flags = std::make_shared<TokenizeFlags>();
  CLI::App* cmd = app.add_subcommand("tokenize");
  cmd->add_option("--model", flags->model,
                  "Model directory or registry reference (name, name@3, name:alias)")
      ->required();
  CLI::Option* text = cmd->add_option("--text", flags->text, "Text to tokenize");
  CLI::Option* texts =
      cmd->add_option("--texts-file", flags->texts_file,
                      "JSON array of texts to tokenize, one result each (one JSON line each "
                      "with --json)");
  text->excludes(texts);
  cmd->add_flag("--no-special", flags->no_special, "Do not add BOS/EOS tokens");
  cmd->add_flag("--json", flags->json, "Print as JSON");
  cmd->callback([flags, text, texts] {
    if (text->count() == 0 && texts->count() == 0) {
      fail_input("tokenize: give --text or --texts-file");
    }
    const std::vector<std::string> inputs =
        texts->count() > 0 ? read_texts(flags->texts_file) : std::vector{flags->text};
    std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(resolve_model_base(flags->model));
    for (const std::string& input : inputs) {
      print_ids(*tokenizer, tokenizer->encode(input, !flags->no_special), flags->json);
    }
  });
}

}  // namespace enclave::cli
