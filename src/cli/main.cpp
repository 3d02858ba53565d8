// Entry point of the `enclave` binary: registers the subcommands and maps
// errors to one stderr line and an exit code, in this one place.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/version.h"
#include "core/error.h"
#include "core/program.h"

int main(int argc, char** argv) {
  enclave::set_program_identity(std::vector<std::string>(argv, argv + argc),
                                std::string(enclave::cli::version()),
                                std::string(enclave::cli::build_id()));
  CLI::App app{
      "Enclave: the LLM lifecycle in one program, for networks that cannot reach the cloud."};
  app.name("enclave");
  app.set_version_flag("--version", enclave::cli::version_string());
  app.require_subcommand(1);
  enclave::cli::register_model(app);
  enclave::cli::register_generate(app);
  enclave::cli::register_score(app);
  enclave::cli::register_tokenize(app);
  enclave::cli::register_init(app);
  enclave::cli::register_store(app);
  enclave::cli::register_runs(app);
  enclave::cli::register_models(app);
  enclave::cli::register_datasets(app);
  enclave::cli::register_data(app);
  enclave::cli::register_lineage(app);
  enclave::cli::register_audit(app);
  enclave::cli::register_merge(app);
  enclave::cli::register_train(app);
  enclave::cli::register_eval(app);
  enclave::cli::register_serve(app);
  enclave::cli::register_monitor(app);
  enclave::cli::register_feedback(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "enclave: error: {} (see --help)\n", e.what());
    return 64;
  } catch (const enclave::cli::ExitStatus& e) {
    return e.code;
  } catch (const enclave::Error& e) {
    fmt::print(stderr, "enclave: error: {}\n", e.what());
    return enclave::exit_code_for(e.kind());
  } catch (const std::exception& e) {
    fmt::print(stderr, "enclave: error: {}\n", e.what());
    return 70;
  }
  return 0;
}
