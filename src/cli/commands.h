// The `enclave` subcommands. Each cmd_<name>.cpp registers one subcommand on
// the CLI11 app; the callback parses flags into an options struct and calls
// one library function. Errors are thrown as enclave::Error and turned into a
// one-line message and exit code by main.cpp.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace enclave::cli {

void register_model(CLI::App& app);     // model init | inspect
void register_generate(CLI::App& app);  // generate
void register_score(CLI::App& app);     // score
void register_tokenize(CLI::App& app);  // tokenize

// Thrown by a command that finished its work but must end with a non-zero
// exit status without an error message; main.cpp returns code.
struct ExitStatus {
  int code = 1;
};

// Parses "1,2,3" into ids; throws Error(kInvalidInput) naming `flag` and the bad item.
std::vector<std::int32_t> parse_token_list(const std::string& text, const std::string& flag);

// Adds --dtype, --device and --threads to a subcommand that runs the model.
struct ComputeFlags {
  std::string dtype = "f32";
  std::string device = "cpu";
  int threads = 0;
};
void add_compute_flags(CLI::App& cmd, ComputeFlags& flags);

}  // namespace enclave::cli
