// Start-up time of the CLI, measured in one run: how long a command that
// does no tensor work takes from exec to exit, in `enclave` (torch-free
// libraries only) against `enclave-torch` running the same command (what
// every command cost when one executable linked libtorch), and a tensor
// command's --help, which `enclave` hands to enclave-torch (the cost of the
// extra exec). Each command runs --runs times after one warm-up run (page
// cache), stdout and stderr discarded; prints the median and the ratio.
//
// Usage: startup_bench [--runs 20] [--enclave PATH] [--enclave-torch PATH] [--work DIR]
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Args {
  int runs = 20;
  fs::path enclave = ENCLAVE_CLI;
  fs::path enclave_torch = ENCLAVE_TORCH_CLI;
  fs::path work = fs::temp_directory_path() / "enclave-startup-bench";
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) throw std::runtime_error(flag + ": missing value");
    const std::string value = argv[i + 1];
    if (flag == "--runs") {
      a.runs = std::max(1, std::stoi(value));
    } else if (flag == "--enclave") {
      a.enclave = value;
    } else if (flag == "--enclave-torch") {
      a.enclave_torch = value;
    } else if (flag == "--work") {
      a.work = value;
    } else {
      throw std::runtime_error("unknown flag " + flag);
    }
  }
  return a;
}

// Runs argv with output discarded; returns its wall time in ms. Throws if it
// does not exit 0 (a broken command would time nothing useful).
double run_ms(const std::vector<std::string>& args) {
  std::vector<char*> argv;
  for (const std::string& s : args) argv.push_back(const_cast<char*>(s.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  const auto start = Clock::now();
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error(fmt::format("{}: cannot start it", args[0]));
  int status = 0;
  waitpid(pid, &status, 0);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(fmt::format("{}: failed (status {})", fmt::join(args, " "), status));
  return ms;
}

double median_ms(const std::vector<std::string>& args, int runs) {
  run_ms(args);  // warm-up: page cache, dynamic loader caches
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) times.push_back(run_ms(args));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse_args(argc, argv);
    fs::remove_all(a.work);
    fs::create_directories(a.work);
    const std::string ws = (a.work / "ws").string();
    run_ms({a.enclave.string(), "init", ws});

    struct Row {
      std::string label;
      std::vector<std::string> args;  // after the executable
    };
    const std::vector<Row> rows = {
        {"--version", {"--version"}},
        {"models list", {"--workspace", ws, "models", "list"}},
        {"runs list", {"--workspace", ws, "runs", "list"}},
    };
    fmt::print("startup, median of {} runs (ms)\n", a.runs);
    fmt::print("{:<24} {:>10} {:>15} {:>8}\n", "command", "enclave", "enclave-torch", "ratio");
    for (const Row& row : rows) {
      std::vector<std::string> light{a.enclave.string()};
      std::vector<std::string> heavy{a.enclave_torch.string()};
      light.insert(light.end(), row.args.begin(), row.args.end());
      heavy.insert(heavy.end(), row.args.begin(), row.args.end());
      const double light_ms = median_ms(light, a.runs);
      const double heavy_ms = median_ms(heavy, a.runs);
      fmt::print("{:<24} {:>10.1f} {:>15.1f} {:>7.1f}x\n", row.label, light_ms, heavy_ms,
                 heavy_ms / light_ms);
    }
    // A tensor command through `enclave` pays one exec more than enclave-torch.
    const double via_ms = median_ms({a.enclave.string(), "train", "--help"}, a.runs);
    const double direct_ms = median_ms({a.enclave_torch.string(), "train", "--help"}, a.runs);
    fmt::print("{:<24} {:>10.1f} {:>15.1f} {:>7.2f}x (enclave hands it to enclave-torch)\n",
               "train --help", via_ms, direct_ms, via_ms / direct_ms);
    fs::remove_all(a.work);
    return 0;
  } catch (const std::exception& e) {
    fmt::print(stderr, "startup_bench: {}\n", e.what());
    return 1;
  }
}
