// Store speed, measured in one run:
//
//  1. Logging metric points through store::Run (buffered, written in
//     batches): points/s for 100k points, including the final flush that
//     makes them durable.
//  2. Storing ~1 GB of files as an artifact (read, sha256, write to a temp
//     file, fsync, rename) against `cp -r` of the same files, and against
//     `cp -r` followed by `sync` (cp alone leaves the bytes in the page cache;
//     the store makes every blob durable before it records it). Both read the
//     source from the page cache: it is read once before timing.
//     Then the same folder again, which the store recognises blob by blob.
//
// Usage: store_bench [--points 100000] [--mb 1024] [--files 16] [--work DIR]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/artifacts.h"
#include "store/runs.h"
#include "store/workspace.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Args {
  std::int64_t points = 100000;
  std::int64_t mb = 1024;
  int files = 16;
  fs::path work = fs::temp_directory_path() / "enclave-store-bench";
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    std::string value = argv[i + 1];
    if (flag == "--points") {
      a.points = std::stoll(value);
    } else if (flag == "--mb") {
      a.mb = std::stoll(value);
    } else if (flag == "--files") {
      a.files = std::stoi(value);
    } else if (flag == "--work") {
      a.work = value;
    } else {
      throw std::runtime_error("unknown flag " + flag);
    }
  }
  if (a.points < 1 || a.mb < 1 || a.files < 1) throw std::runtime_error("sizes must be positive");
  return a;
}

void run_or_throw(const std::string& command) {
  if (std::system(command.c_str()) != 0) throw std::runtime_error("command failed: " + command);
}

// Random bytes, so nothing compresses or deduplicates by accident.
void make_files(const fs::path& dir, std::int64_t mb, int n_files) {
  fs::create_directories(dir);
  std::mt19937_64 rng(42);
  std::vector<std::uint64_t> block((std::size_t{1} << 20) / sizeof(std::uint64_t));
  std::int64_t per_file = mb / n_files;
  for (int f = 0; f < n_files; ++f) {
    std::ofstream out(dir / fmt::format("shard-{:03}.bin", f), std::ios::binary);
    for (std::int64_t m = 0; m < per_file; ++m) {
      for (auto& v : block) v = rng();
      out.write(reinterpret_cast<const char*>(block.data()),
                static_cast<std::streamsize>(block.size() * 8));
    }
  }
}

void bench_metrics(const fs::path& root, std::int64_t n_points) {
  auto start = Clock::now();
  std::int64_t id = 0;
  {
    enclave::store::Run run(root, {.kind = "bench", .name = "metrics"});
    id = run.id();
    auto log_start = Clock::now();
    for (std::int64_t i = 0; i < n_points; ++i) {
      run.log_metric(i % 2 == 0 ? "loss" : "lr", 1.0 / static_cast<double>(i + 1), i / 2);
    }
    double logged = seconds_since(log_start);
    run.finish();
    double total = seconds_since(log_start);
    fmt::print(
        "metrics: {} points logged in {:.3f} s ({:.0f} points/s); durable after finish: {:.3f} s "
        "({:.0f} points/s)\n",
        n_points, logged, static_cast<double>(n_points) / logged, total,
        static_cast<double>(n_points) / total);
  }
  fmt::print("metrics: run {} with start and close of the workspace: {:.3f} s\n", id,
             seconds_since(start));
}

void bench_artifacts(enclave::store::Workspace& ws, const fs::path& work, std::int64_t mb,
                     int n_files) {
  fs::path src = work / "src";
  fs::path copy = work / "copy";
  fmt::print("artifacts: writing {} MB in {} files to {}\n", mb, n_files, src.string());
  make_files(src, mb, n_files);
  run_or_throw(fmt::format("cat '{}'/* > /dev/null && sync", src.string()));  // warm the page cache

  fs::remove_all(copy);
  auto start = Clock::now();
  run_or_throw(fmt::format("cp -r '{}' '{}'", src.string(), copy.string()));
  double cp_s = seconds_since(start);
  run_or_throw("sync");
  fs::remove_all(copy);
  run_or_throw("sync");
  start = Clock::now();
  run_or_throw(fmt::format("cp -r '{}' '{}' && sync", src.string(), copy.string()));
  double cp_sync_s = seconds_since(start);
  fs::remove_all(copy);
  run_or_throw("sync");

  start = Clock::now();
  enclave::store::Artifact a = enclave::store::store_artifact(ws, src);
  double store_s = seconds_since(start);
  start = Clock::now();
  enclave::store::store_artifact(ws, src);
  double again_s = seconds_since(start);

  double gb = static_cast<double>(a.size) / 1e9;
  fmt::print("artifacts: {} ({:.2f} GB, {} files)\n", a.digest, gb, a.n_files);
  fmt::print("  {:<34} {:>8.2f} s {:>8.2f} GB/s\n", "cp -r", cp_s, gb / cp_s);
  fmt::print("  {:<34} {:>8.2f} s {:>8.2f} GB/s\n", "cp -r && sync", cp_sync_s, gb / cp_sync_s);
  fmt::print("  {:<34} {:>8.2f} s {:>8.2f} GB/s\n", "store (hash + write + fsync)", store_s,
             gb / store_s);
  fmt::print("  {:<34} {:>8.2f} s {:>8.2f} GB/s\n", "store again (already stored)", again_s,
             gb / again_s);
  fmt::print(
      "artifacts: store / cp = {:.2f}x, store / (cp + sync) = {:.2f}x (target: within 1.5x of "
      "cp)\n",
      store_s / cp_s, store_s / cp_sync_s);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    Args args = parse_args(argc, argv);
    fs::remove_all(args.work);
    fs::path root = args.work / "workspace";
    enclave::store::init_workspace(root);
    bench_metrics(root, args.points);
    enclave::store::Workspace ws(root);
    bench_artifacts(ws, args.work, args.mb, args.files);
    fs::remove_all(args.work);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "store_bench: %s\n", e.what());
    return 1;
  }
}
