// The text work on a stage's command: DVC-style ${KEY} parameters, the
// ${stages.STAGE.outs.NAME} references filled in once STAGE has run, and
// splitting the result into argv as a POSIX shell splits words (no shell
// runs it: `sh -c '...'` is how a stage asks for one).
// Thread safety: stateless; safe from any thread.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace enclave::pipeline {

struct StageRef {
  std::string stage;
  std::string out;
};

// Replaces ${KEY} (dotted for nested values: ${train.lr}) with the
// parameter's value: strings as they are, numbers and booleans as JSON
// writes them. ${stages...} is left as it is when allow_stages, else an
// error. Records each key substituted in used. Throws Error(kInvalidInput)
// for an unknown key, a mapping or list value, or an unclosed ${.
std::string substitute_params(const std::string& text, const nlohmann::json& params,
                              bool allow_stages, std::map<std::string, std::string>& used);

// The ${stages.S.outs.N} references in text, in order.
std::vector<StageRef> stage_refs(const std::string& text);

// Fills in ${stages.S.outs.N} from outs (stage -> out name -> value).
// Throws Error(kInvalidInput) for a reference with no value.
std::string resolve_stage_refs(
    const std::string& text, const std::map<std::string, std::map<std::string, std::string>>& outs);

// Words as sh splits them: blanks separate, '...' is literal, "..." keeps
// blanks and honours \" \\ \$ \`, a backslash outside quotes escapes the next
// character. Throws Error(kInvalidInput) for an unclosed quote.
std::vector<std::string> split_command(const std::string& text);

}  // namespace enclave::pipeline
