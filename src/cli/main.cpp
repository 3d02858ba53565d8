// Entry point of both CLI executables, `enclave` and `enclave-torch`
// (command_table.h): sets the process identity, registers the commands this
// executable links, hands the others to enclave-torch, and maps errors to
// one stderr line and an exit code, in this one place.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "cli/command_scopes.h"
#include "cli/command_table.h"
#include "cli/commands.h"
#include "cli/suggest.h"
#include "cli/tensor_exec.h"
#include "cli/version.h"
#include "core/error.h"
#include "core/program.h"
#include "store/users.h"

namespace enclave::cli {
namespace {

// A tensor command in `enclave`: listed in --help, and everything after its
// name (its own --help included) is left for enclave-torch to parse.
void add_tensor_command(CLI::App& app, const CommandSpec& spec, char** argv) {
  CLI::App* cmd = app.add_subcommand(std::string(spec.name), std::string(spec.description));
  cmd->set_help_flag();
  cmd->prefix_command();
  cmd->callback([name = spec.name, argv] { exec_tensor_executable(name, argv); });
}

void add_commands(CLI::App& app, char** argv) {
  for (const CommandSpec& spec : command_table()) {
    if (spec.add == nullptr) {
      add_tensor_command(app, spec, argv);
      continue;
    }
    spec.add(app);
    // Descriptions live only in the table, so both executables show the same line.
    app.get_subcommand(std::string(spec.name))->description(std::string(spec.description));
  }
}

int run(int argc, char** argv) {
  enclave::set_program_identity(std::vector<std::string>(argv, argv + argc),
                                std::string(enclave::cli::version()),
                                std::string(enclave::cli::build_id()));
  CLI::App app{
      "Enclave: the LLM lifecycle in one program, for networks that cannot reach the cloud."};
  app.name("enclave");
  try {
    app.set_version_flag("--version", enclave::cli::version_string());
    app.require_subcommand(1);
    enclave::cli::prepare_runtime();
    enclave::cli::add_commands(app, argv);
    enclave::cli::install_scope_checks(app);
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // An unknown word or flag is the likelier cause than what CLI11 reports
    // ("A subcommand is required" for `enclave trian sft`).
    if (std::optional<std::string> unknown = enclave::cli::unknown_argument_message(app)) {
      fmt::print(stderr, "enclave: error: {}\n", *unknown);
    } else {
      fmt::print(stderr, "enclave: error: {} (see --help)\n", e.what());
    }
    return 64;
  } catch (const enclave::cli::ExitStatus& e) {
    return e.code;
  } catch (const enclave::store::PermissionDenied& e) {
    fmt::print(stderr, "enclave: error: permission denied: {}\n", e.what());
    return 77;  // EX_NOPERM
  } catch (const enclave::Error& e) {
    fmt::print(stderr, "enclave: error: {}\n", enclave::cli::readable_error(e.what()));
    return enclave::exit_code_for(e.kind());
  } catch (const std::exception& e) {
    fmt::print(stderr, "enclave: error: {}\n", e.what());
    return 70;
  }
  return 0;
}

}  // namespace
}  // namespace enclave::cli

int main(int argc, char** argv) {
  const int code = enclave::cli::run(argc, argv);
  // Leaves without the libraries' static destructors: libtorch's alone
  // (deregistering thousands of operators) take a tenth of a second of
  // every enclave-torch command. Everything Enclave writes is complete and
  // closed by now, and what must still happen at exit (removing decrypted
  // plaintext and GGUF imports) is core/program.h's remove_at_exit.
  std::cout.flush();
  std::cerr.flush();
  std::fflush(nullptr);
  std::quick_exit(code);
}
