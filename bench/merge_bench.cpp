// Time and peak memory of merging two `small` models (~100M parameters,
// ~0.4 GB of F32 each), against the size of one model, measured in one run.
//
// Each merge runs in a forked child and its peak resident set comes from
// wait4's rusage, so the parent's own memory (creating the models) does not
// count; an idle child gives the baseline (libraries mapped, nothing done).
// The claim to check: merging streams tensor by tensor, so peak memory above
// the baseline is a small fraction of ONE model, not the two inputs plus the
// output a load-everything merge would hold (3x the model). For time, the
// same run copies one model file (read + write, no fsync) as a reference for
// the bytes a merge must at least move.
//
// Usage: merge_bench [--preset small] [--methods linear,ties,dare_ties,slerp,upscale] [--work DIR]
// [--keep]
#include <fmt/format.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "merge/merge.h"
#include "merge/upscale.h"
#include "merge/yaml_json.h"
#include "model/engine.h"
#include "model/weight_files.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct ChildResult {
  double seconds = 0;
  double peak_mb = 0;
  bool ok = false;
};

// Runs fn in a forked child; returns its wall time and peak RSS.
ChildResult in_child(const std::function<void()>& fn) {
  std::fflush(nullptr);  // or the child flushes the parent's buffered lines again
  const auto start = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int code = 0;
    try {
      fn();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "merge_bench: %s\n", e.what());
      code = 1;
    }
    std::fflush(nullptr);
    ::_exit(code);
  }
  int status = 0;
  struct rusage usage {};
  ::wait4(pid, &status, 0, &usage);
  ChildResult r;
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.peak_mb = static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
  r.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  return r;
}

double file_mb(const fs::path& p) { return static_cast<double>(fs::file_size(p)) / 1e6; }

void copy_file_plain(const fs::path& from, const fs::path& to) {
  std::ifstream in(from, std::ios::binary);
  std::ofstream out(to, std::ios::binary | std::ios::trunc);
  std::vector<char> buf(1 << 20);
  while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
    out.write(buf.data(), in.gcount());
  }
}

std::string merge_yaml(const std::string& method, const fs::path& a, const fs::path& b) {
  const std::string A = a.string(), B = b.string();
  if (method == "linear") {
    return fmt::format(
        "merge_method: linear\nmodels: [{{model: {}, parameters: {{weight: 0.5}}}}, "
        "{{model: {}, parameters: {{weight: 0.5}}}}]\n",
        A, B);
  }
  if (method == "slerp") {
    return fmt::format(
        "merge_method: slerp\nbase_model: {}\nmodels: [{{model: {}}}, {{model: {}}}]\n"
        "parameters: {{t: [0, 0.5, 1]}}\n",
        A, A, B);
  }
  if (method == "ties" || method == "dare_ties") {
    // One task model over the other as base: deltas, trimming or random drops.
    return fmt::format(
        "merge_method: {}\nbase_model: {}\nmodels: [{{model: {}, parameters: {{weight: 1, density: "
        "0.5}}}}]\n",
        method, A, B);
  }
  throw std::runtime_error("unknown method " + method);
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  for (std::string item; std::getline(in, item, ',');) out.push_back(item);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "small";
  std::string methods = "linear,ties,dare_ties,slerp,upscale";
  fs::path work = fs::temp_directory_path() / "enclave_merge_bench";
  bool keep = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--preset" && i + 1 < argc) {
      preset = argv[++i];
    } else if (arg == "--methods" && i + 1 < argc) {
      methods = argv[++i];
    } else if (arg == "--work" && i + 1 < argc) {
      work = argv[++i];
    } else if (arg == "--keep") {
      keep = true;
    } else {
      std::fprintf(stderr,
                   "usage: merge_bench [--preset small] [--methods %s] [--work DIR] [--keep]\n",
                   methods.c_str());
      return 64;
    }
  }
  fs::remove_all(work);
  fs::create_directories(work);
  const fs::path a = work / "a", b = work / "b";
  // Made in children too, so this process stays small and its children's
  // peaks measure only their own work.
  for (const auto& [dir, seed] : {std::pair{a, 1}, std::pair{b, 2}}) {
    if (!in_child([&] { enclave::init_model(preset, dir, static_cast<std::uint64_t>(seed)); }).ok)
      return 1;
  }
  const double model_mb = file_mb(a / "model.safetensors");
  // Streaming memory scales with the largest tensor, not with the model.
  double largest_mb = 0;
  const enclave::WeightFiles weights(a);
  for (const auto& [name, ref] : weights.tensors()) {
    largest_mb = std::max(largest_mb, static_cast<double>(ref.info->n_bytes()) / 1e6);
  }
  const ChildResult idle = in_child([] {});
  const ChildResult copy =
      in_child([&] { copy_file_plain(a / "model.safetensors", work / "copy.safetensors"); });
  fs::remove(work / "copy.safetensors");

  fmt::print(
      "merge_bench: two '{}' models of {:.0f} MB each (F32, largest tensor {:.0f} MB), page cache "
      "warm\n",
      preset, model_mb, largest_mb);
  fmt::print(
      "baseline: idle child peak {:.0f} MB; copying one model file takes {:.2f} s ({:.0f} MB/s), "
      "peak {:.0f} MB\n\n",
      idle.peak_mb, copy.seconds, model_mb / copy.seconds, copy.peak_mb);
  fmt::print("{:<10} {:>8} {:>9} {:>11} {:>10} {:>14} {:>14}\n", "method", "inputs", "time s",
             "x file copy", "peak MB", "peak-idle MB", "(peak-idle)/model");
  for (const std::string& method : split(methods)) {
    const fs::path out = work / ("out_" + method);
    fs::remove_all(out);
    int n_inputs = 2;
    ChildResult r;
    if (method == "upscale") {
      n_inputs = 1;
      r = in_child([&] {
        enclave::merge::upscale_model(a.string(), 2, std::nullopt,
                                      {.out_dir = out, .show_progress = false});
      });
    } else {
      const std::string yaml = merge_yaml(method, a, b);
      r = in_child([&] {
        const auto config =
            enclave::merge::parse_merge_config(enclave::parse_yaml(yaml, method), method);
        enclave::merge::run_merge(config, {.out_dir = out, .seed = 1, .show_progress = false});
      });
    }
    if (!r.ok) {
      fmt::print("{:<10} failed\n", method);
      continue;
    }
    const double extra = r.peak_mb - idle.peak_mb;
    fmt::print("{:<10} {:>8} {:>9.2f} {:>11.1f} {:>10.0f} {:>14.0f} {:>14.2f}\n", method, n_inputs,
               r.seconds, r.seconds / copy.seconds, r.peak_mb, extra, extra / model_mb);
    if (!keep) fs::remove_all(out);
  }
  fmt::print(
      "\nA merge that loads both inputs and builds the output in memory needs ~{:.0f} MB (3 "
      "models).\n",
      3 * model_mb);
  if (!keep) fs::remove_all(work);
  return 0;
}
