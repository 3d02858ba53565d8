// decode_bench: decode speed of the batch decoder (the server's engine)
// without HTTP: for each row count, that many sequences are prefilled with
// a prompt and then stepped together; the table shows ms per step and
// tokens/s (best of --repeat runs, wall and process CPU time, since a loaded
// machine inflates wall time). It uses only acquire/prefill/step, so the
// same file builds against an older tree to compare two binaries in one
// run (the paged KV cache against the per-slot one, issue 17).
//
//   decode_bench [--model DIR] [--rows 1,8] [--prompt 64] [--steps 128] [--repeat 3]
//                [--threads 0] [--ctx 512]
// Without --model a tiny model is initialised in a temporary folder.
#include <fmt/format.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <limits>
#include <vector>

#include "model/batch_decoder.h"
#include "model/engine.h"  // init_model

namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) * 1e-6;
}

struct Timing {
  double wall = std::numeric_limits<double>::max();
  double cpu = std::numeric_limits<double>::max();
};

// Prefills `rows` sequences and times `steps` decode steps of all of them.
Timing run_once(enclave::BatchDecoder& decoder, int rows, int prompt_len, int steps) {
  std::vector<int> slots;
  for (int r = 0; r < rows; ++r) {
    slots.push_back(decoder.acquire().value());
    std::vector<enclave::TokenId> prompt;
    for (int i = 0; i < prompt_len; ++i)
      prompt.push_back(static_cast<enclave::TokenId>((i * 53 + r * 31 + 7) % 900 + 10));
    decoder.prefill(slots.back(), prompt);
  }
  std::vector<enclave::BatchDecoder::StepInput> inputs;
  for (int r = 0; r < rows; ++r)
    inputs.push_back({slots[r], static_cast<enclave::TokenId>(20 + r)});
  const Clock::time_point start = Clock::now();
  const double cpu_start = cpu_seconds();
  for (int s = 0; s < steps; ++s) {
    std::vector<float> logits = decoder.step(inputs);
    const std::size_t V = logits.size() / inputs.size();
    for (std::size_t r = 0; r < inputs.size(); ++r) {
      const float* row = logits.data() + r * V;
      inputs[r].token = static_cast<enclave::TokenId>(std::max_element(row, row + V) - row);
    }
  }
  Timing t;
  t.wall = std::chrono::duration<double>(Clock::now() - start).count();
  t.cpu = cpu_seconds() - cpu_start;
  for (int slot : slots) decoder.release(slot);
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("Decode speed of the batch decoder");
  std::string model;
  std::vector<int> row_counts = {1, 8};
  int prompt_len = 64;
  int steps = 128;
  int repeat = 3;
  int threads = 0;
  int ctx = 512;
  app.add_option("--model", model, "Model directory (default: a fresh tiny model)");
  app.add_option("--rows", row_counts, "Sequences decoded together")->delimiter(',');
  app.add_option("--prompt", prompt_len, "Prompt tokens per sequence");
  app.add_option("--steps", steps, "Decode steps timed");
  app.add_option("--repeat", repeat, "Runs per row count (the best is shown)");
  app.add_option("--threads", threads, "Torch threads (0: default)");
  app.add_option("--ctx", ctx, "Tokens per sequence (max_len)");
  CLI11_PARSE(app, argc, argv);

  std::filesystem::path dir = model;
  std::filesystem::path scratch;
  if (model.empty()) {
    scratch = std::filesystem::temp_directory_path() / fmt::format("decode_bench_{}", getpid());
    enclave::init_model("tiny", scratch, /*seed=*/1);
    dir = scratch;
  }
  enclave::EngineOptions engine;
  engine.threads = threads;
  const int max_rows = *std::max_element(row_counts.begin(), row_counts.end());
  auto decoder = enclave::BatchDecoder::load(dir, engine, {.n_slots = max_rows, .max_len = ctx});
  fmt::print("{:>5} {:>10} {:>10} {:>10} {:>10}\n", "rows", "ms/step", "tok/s", "cpu ms/step",
             "tok/cpu-s");
  for (int rows : row_counts) {
    Timing best;
    run_once(*decoder, rows, prompt_len, std::min(steps, 8));  // warm up
    for (int i = 0; i < repeat; ++i) {
      const Timing t = run_once(*decoder, rows, prompt_len, steps);
      best.wall = std::min(best.wall, t.wall);
      best.cpu = std::min(best.cpu, t.cpu);
    }
    fmt::print("{:>5} {:>10.2f} {:>10.1f} {:>10.2f} {:>10.1f}\n", rows, 1e3 * best.wall / steps,
               rows * steps / best.wall, 1e3 * best.cpu / steps, rows * steps / best.cpu);
  }
  if (!scratch.empty()) std::filesystem::remove_all(scratch);
  return 0;
}
