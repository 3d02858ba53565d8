// Executors: where a stage's command runs. The engine hands each ready stage
// to one Executor::run, from a thread of its own, and waits for the outcome;
// LocalExecutor forks a process on this machine. A cluster executor (Slurm:
// submit, then wait for the job) implements the same call, so the engine,
// the cache and the records do not change with where a stage runs.
// Thread safety: run() is called from several threads at once (one per
// running stage); implementations must allow that.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace enclave::pipeline {

struct StageJob {
  std::string stage;
  std::vector<std::string> argv;   // argv[0] as the engine resolved it (an absolute path or a name)
  std::filesystem::path cwd;       // the pipeline file's folder
  std::vector<std::string> env;    // KEY=VALUE added to (replacing in) this process's environment
  std::filesystem::path log_path;  // stdout and stderr are appended here
};

struct StageOutcome {
  int exit_code = 0;    // 128 + N when signal N ended it
  bool started = true;  // false: the program could not be run (message says why)
  std::string message;  // empty on success
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string name() const = 0;
  // Runs job to its end. Never throws for the command's own failure; that
  // is the outcome.
  virtual StageOutcome run(const StageJob& job) = 0;
};

// Child processes of this one: PATH is searched for a bare argv[0]; each
// stage is a process group of its own, to which SIGINT, SIGTERM and SIGHUP
// sent to this process are forwarded (the first run() installs the
// handlers) before this process ends; if this process is SIGKILLed, the
// stage's own process gets SIGTERM (PR_SET_PDEATHSIG).
class LocalExecutor : public Executor {
 public:
  std::string name() const override { return "local"; }
  StageOutcome run(const StageJob& job) override;
};

std::unique_ptr<Executor> make_executor(const std::string& name);

}  // namespace enclave::pipeline
