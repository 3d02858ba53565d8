// Training speed: tokens/s of the real trainer (enclave::train::train,
// pretrain mode: forward, backward, gradient clipping, AdamW) for the tiny
// and small presets in fp32, bf16 (bf16 weights, fp32 master copies) and
// bf16 autocast, full fine-tuning and LoRA, and the same step written as a
// plain PyTorch loop (bench/train_reference.py on Debian's python3-torch:
// the same Llama model, batch, clipping and AdamW) measured in the same run,
// printed as a ratio. The first steps (warm-up) are not timed.
//
// Usage: train_bench [--presets tiny,small] [--steps N] [--threads N] [--work DIR]
//                    [--python /usr/bin/python3]
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "model/engine.h"
#include "model/init.h"
#include "train/train.h"

namespace {

namespace fs = std::filesystem;
using enclave::train::Precision;

struct Shape {
  std::int64_t batch;
  std::int64_t seq;
};

Shape shape_of(const std::string& preset) {
  return preset == "tiny" ? Shape{8, 256} : Shape{4, 256};
}

// Random words: enough text for every step's batch after packing.
void write_corpus(const fs::path& path, std::int64_t tokens_needed) {
  std::mt19937_64 rng(1);
  std::ofstream out(path);
  const std::string letters = "abcdefghijklmnopqrstuvwxyz";
  std::int64_t written = 0;
  while (written < tokens_needed * 2) {
    std::string text;
    for (int w = 0; w < 200; ++w) {
      const int len = 2 + static_cast<int>(rng() % 7);
      for (int i = 0; i < len; ++i) text += letters[rng() % 26];
      text += ' ';
    }
    out << "{\"text\": \"" << text << "\"}\n";
    written += 200;
  }
}

struct Measure {
  double tokens_per_s = 0;
  double final_loss = 0;
};

Measure measure(const fs::path& model, const fs::path& data, const fs::path& out,
                Precision precision, bool lora, Shape shape, int steps, int warmup, int threads) {
  enclave::train::TrainConfig c;
  c.mode = enclave::train::TrainMode::kPretrain;
  c.model = model.string();
  c.data = data.string();
  c.out = "bench";
  c.max_length = shape.seq;
  c.batch_size = shape.batch;
  c.micro_batch_tokens = shape.batch * shape.seq;
  c.max_steps = steps + warmup;
  c.precision = precision;
  c.lora = lora;
  c.lr = 1e-4;
  c.threads = threads;
  std::vector<double> stamps;
  std::int64_t timed_tokens = 0;
  enclave::train::TrainCallbacks callbacks;
  callbacks.on_step = [&](const enclave::train::StepReport& r) {
    stamps.push_back(r.elapsed_s);
    if (r.step > warmup) timed_tokens += r.tokens;
  };
  fs::remove_all(out);
  enclave::train::TrainResult result =
      enclave::train::train(c, model, {.train_file = data}, out, callbacks);
  fs::remove_all(out);
  const double seconds = stamps.back() - stamps.at(static_cast<std::size_t>(warmup) - 1);
  return {static_cast<double>(timed_tokens) / seconds, result.losses.back()};
}

double python_reference(const std::string& python, const fs::path& model, Shape shape, int steps,
                        int warmup, int threads, const std::string& precision) {
  const fs::path script = fs::path(ENCLAVE_SOURCE_DIR) / "bench" / "train_reference.py";
  const std::string cmd = fmt::format(
      "{} {} --model {} --batch {} --seq {} --steps {} --warmup {} --threads {} --precision {}",
      python, script.string(), model.string(), shape.batch, shape.seq, steps, warmup, threads,
      precision);
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (pipe == nullptr) return 0;
  std::string output;
  char buf[512];
  while (std::fgets(buf, sizeof(buf), pipe) != nullptr) output += buf;
  if (::pclose(pipe) != 0) {
    fmt::print(stderr, "python reference failed: {}\n{}", cmd, output);
    return 0;
  }
  return std::stod(output);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> presets = {"tiny", "small"};
  int steps = 4;
  int threads = 2;
  std::string python = "/usr/bin/python3";
  fs::path work = fs::temp_directory_path() / "enclave-train-bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--presets") {
      presets.clear();
      std::stringstream ss(value);
      for (std::string p; std::getline(ss, p, ',');) presets.push_back(p);
    } else if (flag == "--steps") {
      steps = std::stoi(value);
    } else if (flag == "--threads") {
      threads = std::stoi(value);
    } else if (flag == "--work") {
      work = value;
    } else if (flag == "--python") {
      python = value;
    } else {
      fmt::print(stderr, "unknown flag {}\n", flag);
      return 64;
    }
  }
  const int warmup = 2;
  fs::create_directories(work);
  fmt::print("{:<6} {:<14} {:<5} {:>12} {:>14} {:>10}\n", "preset", "precision", "mode", "tokens/s",
             "pytorch tok/s", "ratio");
  for (const std::string& preset : presets) {
    const fs::path model = work / ("model-" + preset);
    if (!fs::exists(model / "config.json")) {
      fs::remove_all(model);
      enclave::init_model(preset, model, 1);
    }
    const Shape shape = shape_of(preset);
    const fs::path data = work / ("corpus-" + preset + ".jsonl");
    write_corpus(data, shape.batch * shape.seq * (steps + warmup));
    struct Case {
      Precision precision;
      const char* name;
      bool lora;
      const char* python;  // the reference's precision, or nullptr
    };
    const Case cases[] = {{Precision::kF32, "f32", false, "f32"},
                          {Precision::kBf16, "bf16", false, nullptr},
                          {Precision::kBf16Autocast, "bf16-autocast", false, "bf16-autocast"},
                          {Precision::kF32, "f32", true, nullptr},
                          {Precision::kBf16Autocast, "bf16-autocast", true, nullptr}};
    for (const Case& k : cases) {
      Measure m =
          measure(model, data, work / "out", k.precision, k.lora, shape, steps, warmup, threads);
      double reference =
          k.python ? python_reference(python, model, shape, steps, warmup, threads, k.python) : 0;
      fmt::print("{:<6} {:<14} {:<5} {:>12.0f} {:>14} {:>10}\n", preset, k.name,
                 k.lora ? "lora" : "full", m.tokens_per_s,
                 reference > 0 ? fmt::format("{:.0f}", reference) : "-",
                 reference > 0 ? fmt::format("{:.2f}x", m.tokens_per_s / reference) : "-");
      std::fflush(stdout);
    }
  }
  return 0;
}
