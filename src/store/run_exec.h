// Running an outside program as a run: `enclave runs exec -- CMD ARGS`, for
// scripts and tools that are not part of Enclave (a Python evaluation, a
// data export) but whose inputs, outputs, params, metrics and log belong in
// the store. The inputs are stored and recorded first, then CMD runs with
// ENCLAVE_RUN_ID and ENCLAVE_HOME set (so it can add metrics and params with
// `enclave runs log`); its stdout and stderr are passed through and copied to
// the run's log. Exit 0 stores the outputs and finishes the run; another exit
// code fails it, a signal marks it killed. If the enclave process itself is
// killed, the child gets SIGTERM and the next open of the workspace marks the
// run failed (see runs.h).
// Thread safety: one exec_run at a time per process (it installs signal
// handlers that forward SIGTERM and SIGHUP to the child).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "store/artifacts.h"
#include "store/runs.h"

namespace enclave::store {

struct ExecOptions {
  std::filesystem::path workspace_root;
  RunOptions run;                              // kind, name, params, seed; command is set to argv
  std::vector<std::string> argv;               // the program and its arguments (PATH is searched)
  std::vector<std::filesystem::path> inputs;   // files or folders stored before the run
  std::vector<std::filesystem::path> outputs;  // stored after a successful run
  std::vector<std::string> input_models;       // registry references ("base@2")
  std::vector<std::string> input_datasets;
  // Called once the program has started (not when it cannot be run).
  std::function<void(std::int64_t run_id)> on_started;
};

struct ExecResult {
  std::int64_t run_id = 0;
  RunStatus status = RunStatus::kFailed;
  int exit_code = 0;  // the program's exit code; 128 + N if signal N ended it
  std::vector<Artifact> outputs;
};

// Runs the program as described above and waits for it. Throws
// Error(kInvalidInput) for an empty command or a bad reference,
// Error(kNotFound) for a missing input, an unknown model or dataset, a program
// that cannot be started (the run is then recorded as failed), or an output
// the program did not create (the run fails). A non-zero exit is not an
// error here: it is returned, with the run marked failed.
ExecResult exec_run(const ExecOptions& options);

}  // namespace enclave::store
