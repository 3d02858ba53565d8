#include "pipeline/executor.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>

#include "core/error.h"

extern char** environ;

namespace enclave::pipeline {
namespace {

// Each stage runs in a process group of its own, so its whole tree (a
// `sh -c` and what it starts) can be signalled at once. The groups are
// kept here for the handler below; slots are claimed and freed atomically.
constexpr std::size_t kMaxGroups = 1024;
std::atomic<pid_t> g_groups[kMaxGroups];

// SIGINT, SIGTERM and SIGHUP to the engine go to every running stage's
// group too (a stage's group no longer sees the terminal's Ctrl-C), then
// end the engine as they would have. SIGKILL cannot be caught: then each
// stage's own process still gets SIGTERM through PR_SET_PDEATHSIG.
void forward_and_die(int sig) {
  for (auto& g : g_groups) {
    pid_t pgid = g.load();
    if (pgid > 0) ::killpg(pgid, sig);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

void install_forwarding() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int sig : {SIGINT, SIGTERM, SIGHUP}) {
      struct sigaction old {};
      ::sigaction(sig, nullptr, &old);
      if (old.sa_handler == SIG_IGN) continue;  // nohup: keep ignoring
      struct sigaction sa {};
      sa.sa_handler = forward_and_die;
      sigemptyset(&sa.sa_mask);
      ::sigaction(sig, &sa, nullptr);
    }
  });
}

// Holds a slot for a running stage's group.
class GroupSlot {
 public:
  explicit GroupSlot(pid_t pgid) {
    for (auto& g : g_groups) {
      pid_t empty = 0;
      if (g.compare_exchange_strong(empty, pgid)) {
        slot_ = &g;
        return;
      }
    }
  }
  ~GroupSlot() {
    if (slot_ != nullptr) slot_->store(0);
  }
  GroupSlot(const GroupSlot&) = delete;
  GroupSlot& operator=(const GroupSlot&) = delete;

 private:
  std::atomic<pid_t>* slot_ = nullptr;
};

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (std::string& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

std::vector<std::string> merged_environment(const std::vector<std::string>& extra) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const std::string& x : extra) {
      std::size_t eq = x.find('=');
      if (entry.size() > eq && entry.substr(0, eq + 1) == std::string_view(x).substr(0, eq + 1))
        replaced = true;
    }
    if (!replaced) env.emplace_back(entry);
  }
  env.insert(env.end(), extra.begin(), extra.end());
  return env;
}

}  // namespace

StageOutcome LocalExecutor::run(const StageJob& job) {
  ENCLAVE_CHECK(!job.argv.empty());
  install_forwarding();
  std::vector<std::string> argv_strings = job.argv;
  std::vector<char*> argv = c_strings(argv_strings);
  std::vector<std::string> env_strings = merged_environment(job.env);
  std::vector<char*> envp = c_strings(env_strings);
  const std::string cwd = job.cwd.string();
  int log = ::open(job.log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    return {.exit_code = 127,
            .started = false,
            .message = fmt::format("cannot open the log {}: {}", job.log_path.string(),
                                   std::strerror(errno))};
  }
  int status_pipe[2];
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    ::close(log);
    return {.exit_code = 127,
            .started = false,
            .message = fmt::format("cannot create a pipe: {}", std::strerror(errno))};
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only async-signal-safe calls until exec.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(128 + SIGTERM);
    ::setpgid(0, 0);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::dup2(log, STDOUT_FILENO);
    ::dup2(log, STDERR_FILENO);
    int e = 0;
    if (::chdir(cwd.c_str()) != 0) {
      e = errno;
    } else {
      ::execvpe(argv[0], argv.data(), envp.data());
      e = errno;
    }
    ssize_t ignored = ::write(status_pipe[1], &e, sizeof e);
    (void)ignored;
    ::_exit(127);
  }
  // Set here too: the handler may run before the child has called setpgid.
  if (pid > 0) ::setpgid(pid, pid);
  GroupSlot group(pid > 0 ? pid : 0);
  ::close(status_pipe[1]);
  ::close(log);
  if (pid < 0) {
    ::close(status_pipe[0]);
    return {.exit_code = 127,
            .started = false,
            .message = fmt::format("fork failed: {}", std::strerror(errno))};
  }
  int exec_errno = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &exec_errno, sizeof exec_errno);
  } while (n < 0 && errno == EINTR);
  ::close(status_pipe[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (n == sizeof exec_errno) {
    return {.exit_code = 127,
            .started = false,
            .message = fmt::format("cannot run '{}' in {}: {}", job.argv.front(), cwd,
                                   std::strerror(exec_errno))};
  }
  StageOutcome out;
  if (WIFSIGNALED(status)) {
    out.exit_code = 128 + WTERMSIG(status);
    const char* abbrev = ::sigabbrev_np(WTERMSIG(status));
    out.message =
        fmt::format("'{}' was killed by SIG{}", job.argv.front(), abbrev != nullptr ? abbrev : "?");
  } else {
    out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
    if (out.exit_code != 0)
      out.message = fmt::format("'{}' exited with code {}", job.argv.front(), out.exit_code);
  }
  return out;
}

std::unique_ptr<Executor> make_executor(const std::string& name) {
  if (name == "local") return std::make_unique<LocalExecutor>();
  fail(ErrorKind::kUnsupported, "executor '{}': only 'local' is available", name);
}

}  // namespace enclave::pipeline
