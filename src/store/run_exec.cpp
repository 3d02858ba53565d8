#include "store/run_exec.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/error.h"
#include "store/registry.h"

extern char** environ;

namespace enclave::store {
namespace {

volatile sig_atomic_t g_child = 0;

void forward_signal(int sig) {
  pid_t child = g_child;
  if (child > 0) ::kill(child, sig);
}

// The signals exec_run handles: the first two are forwarded to the child;
// SIGINT and SIGQUIT are ignored (the terminal sends them to the child as
// well, as with `time`), and SIGPIPE too, so a closed stdout (`| head`) does
// not kill the run's owner while the child goes on.
constexpr std::array<int, 5> kSignals = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE};

// Installs the handlers above; restores the old ones on destruction.
class SignalForwarding {
 public:
  SignalForwarding() {
    struct sigaction forward {};
    forward.sa_handler = forward_signal;
    sigemptyset(&forward.sa_mask);
    forward.sa_flags = SA_RESTART;
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigemptyset(&ignore.sa_mask);
    for (std::size_t i = 0; i < kSignals.size(); ++i) {
      ::sigaction(kSignals[i], i < 2 ? &forward : &ignore, &old_[i]);
    }
  }
  ~SignalForwarding() {
    for (std::size_t i = 0; i < kSignals.size(); ++i) ::sigaction(kSignals[i], &old_[i], nullptr);
    g_child = 0;
  }
  SignalForwarding(const SignalForwarding&) = delete;
  SignalForwarding& operator=(const SignalForwarding&) = delete;

 private:
  std::array<struct sigaction, kSignals.size()> old_{};
};

class Pipe {
 public:
  Pipe() {
    if (::pipe2(fds_, O_CLOEXEC) != 0)
      fail(ErrorKind::kIo, "cannot create a pipe: {}", std::strerror(errno));
  }
  ~Pipe() {
    close_read();
    close_write();
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  int read_fd() const { return fds_[0]; }
  int write_fd() const { return fds_[1]; }
  void close_read() { close_end(0); }
  void close_write() { close_end(1); }

 private:
  void close_end(int i) {
    if (fds_[i] >= 0) ::close(fds_[i]);
    fds_[i] = -1;
  }
  int fds_[2] = {-1, -1};
};

// The environment for the child, built before fork (the child may only make
// async-signal-safe calls until exec).
std::vector<std::string> child_environment(std::int64_t run_id, const std::filesystem::path& root) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.starts_with("ENCLAVE_RUN_ID=") || entry.starts_with("ENCLAVE_HOME=")) continue;
    env.emplace_back(entry);
  }
  env.push_back("ENCLAVE_RUN_ID=" + std::to_string(run_id));
  env.push_back("ENCLAVE_HOME=" + root.string());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void write_all(int fd, const char* data, std::size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return;  // our own stdout closed (a pipe to `head`): keep the child running and logging
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

// Copies the child's stdout and stderr to ours and to the run log until both close.
void pump_output(Run& run, int out_fd, int err_fd) {
  struct pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  const int targets[2] = {STDOUT_FILENO, STDERR_FILENO};
  char buf[65536];
  int open = 2;
  while (open > 0) {
    int ready = ::poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      fail(ErrorKind::kIo, "poll on the command's output failed: {}", std::strerror(errno));
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        fds[i].fd = -1;
        --open;
        continue;
      }
      write_all(targets[i], buf, static_cast<std::size_t>(n));
      run.log_text(std::string_view(buf, static_cast<std::size_t>(n)));
    }
  }
}

std::string signal_name(int sig) {
  const char* abbrev = ::sigabbrev_np(sig);
  return abbrev != nullptr ? fmt::format("SIG{}", abbrev) : fmt::format("signal {}", sig);
}

}  // namespace

ExecResult exec_run(const ExecOptions& options) {
  if (options.argv.empty() || options.argv.front().empty()) {
    fail_input("runs exec: no command given (write it after --: enclave runs exec -- CMD ARGS)");
  }
  for (const auto& path : options.inputs) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
      fail(ErrorKind::kNotFound, "--input {}: no such file or folder", path.string());
  }
  // Resolve references before the run exists, so a typo records nothing.
  std::vector<std::pair<std::int64_t, std::string>> versions;
  {
    Workspace workspace(options.workspace_root);
    for (const std::string& ref : options.input_models) {
      versions.emplace_back(resolve_version(workspace.db(), RegistryKind::kModel, ref).id, "model");
    }
    for (const std::string& ref : options.input_datasets) {
      versions.emplace_back(resolve_version(workspace.db(), RegistryKind::kDataset, ref).id,
                            "dataset");
    }
  }

  RunOptions run_options = options.run;
  if (run_options.kind.empty()) run_options.kind = "exec";
  run_options.command = options.argv;
  Run run(options.workspace_root, run_options);
  ExecResult result;
  result.run_id = run.id();
  for (const auto& [id, role] : versions) run.log_input_version(id, role);
  for (const auto& path : options.inputs) run.log_input(path);

  std::vector<std::string> argv_strings = options.argv;
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<std::string> env_strings = child_environment(run.id(), options.workspace_root);
  std::vector<char*> envp = c_strings(env_strings);
  Pipe out, err, exec_status;
  pid_t parent = ::getpid();
  SignalForwarding signals;
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = ::fork();
  if (pid < 0)
    fail(ErrorKind::kIo, "cannot start '{}': fork failed: {}", options.argv.front(),
         std::strerror(errno));
  if (pid == 0) {
    // Child: only async-signal-safe calls from here to exec.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : kSignals) ::sigaction(sig, &dfl, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);  // the run's owner died: stop too
    if (::getppid() != parent) ::_exit(128 + SIGTERM);
    ::dup2(out.write_fd(), STDOUT_FILENO);
    ::dup2(err.write_fd(), STDERR_FILENO);
    ::execvpe(argv[0], argv.data(), envp.data());
    int e = errno;
    ssize_t ignored = ::write(exec_status.write_fd(), &e, sizeof e);
    (void)ignored;
    ::_exit(127);
  }
  g_child = pid;
  out.close_write();
  err.close_write();
  exec_status.close_write();

  int exec_errno = 0;
  bool exec_failed =
      ::read(exec_status.read_fd(), &exec_errno, sizeof exec_errno) == sizeof exec_errno;
  // Only once the program really runs: a failed start is one error line.
  if (options.on_started && !exec_failed) options.on_started(run.id());
  std::optional<Error> pump_error;
  try {
    pump_output(run, out.read_fd(), err.read_fd());
  } catch (const Error& e) {
    pump_error = e;  // still reap the child below
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  g_child = 0;
  if (exec_failed) {
    std::string message =
        fmt::format("cannot run '{}': {}", options.argv.front(), std::strerror(exec_errno));
    run.finish(RunStatus::kFailed, message);
    fail(exec_errno == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo, "{} (run {} marked failed)",
         message, run.id());
  }
  if (pump_error) throw *pump_error;

  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    result.exit_code = 128 + sig;
    result.status = RunStatus::kKilled;
    run.finish(RunStatus::kKilled,
               fmt::format("'{}' was killed by {}", options.argv.front(), signal_name(sig)));
    return result;
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  if (result.exit_code != 0) {
    result.status = RunStatus::kFailed;
    run.finish(RunStatus::kFailed,
               fmt::format("'{}' exited with code {}", options.argv.front(), result.exit_code));
    return result;
  }
  for (const auto& path : options.outputs) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) {
      std::string message =
          fmt::format("--output {}: the command finished but did not create it", path.string());
      run.finish(RunStatus::kFailed, message);
      fail(ErrorKind::kNotFound, "{} (run {} marked failed)", message, run.id());
    }
    result.outputs.push_back(run.log_output(path));
  }
  run.finish(RunStatus::kFinished);
  result.status = RunStatus::kFinished;
  return result;
}

}  // namespace enclave::store
