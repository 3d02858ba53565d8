// Prefill and decode speed of the engine for the tiny and small presets, fp32
// and bf16, 1 and 2 threads, printed as a table.
//
// Decode ms/token is split into the model's matrix work and everything else:
// in the same run we time the exact sequence of linear layers one decode step
// performs (same shapes, dtype and thread count, batch 1) and subtract it from
// the measured ms/token. What remains is per-token overhead: attention over
// the cache, norms, RoPE, sampling, dispatch and allocation.
//
// Decode runs twice: through the fused decode step (model/fused_decode.h,
// the default) and through libtorch op by op (ENCLAVE_FUSED_DECODE=0), each
// beside the products it performs timed alone (libtorch's linear, or the
// fused path's own kernels threaded the same way).
//
// Usage: model_bench [--presets tiny,small] [--prompt 128] [--decode 64] [--work DIR]
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "model/dense_kernels.h"
#include "model/engine.h"
#include "model/init.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Milliseconds for the linear layers of one decode step (one token).
double matmul_ms_per_token(const enclave::ModelConfig& c, torch::Dtype dtype, int reps) {
  auto opts = torch::TensorOptions().dtype(dtype);
  const std::int64_t q_dim = c.n_head * c.head_dim;
  const std::int64_t kv_dim = c.n_kv_head * c.head_dim;
  struct Shape {
    std::int64_t out, in;
  };
  std::vector<Shape> per_layer = {{q_dim, c.hidden_size},
                                  {kv_dim, c.hidden_size},
                                  {kv_dim, c.hidden_size},
                                  {c.hidden_size, q_dim},
                                  {c.intermediate_size, c.hidden_size},
                                  {c.intermediate_size, c.hidden_size},
                                  {c.hidden_size, c.intermediate_size}};
  std::vector<torch::Tensor> weights;
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    for (const Shape& s : per_layer) weights.push_back(torch::randn({s.out, s.in}, opts) * 0.02);
  }
  weights.push_back(torch::randn({c.vocab_size, c.hidden_size}, opts) * 0.02);
  std::vector<torch::Tensor> inputs;
  for (const auto& w : weights) inputs.push_back(torch::randn({1, 1, w.size(1)}, opts));

  torch::NoGradGuard no_grad;
  auto run_once = [&] {
    for (std::size_t i = 0; i < weights.size(); ++i)
      (void)torch::nn::functional::linear(inputs[i], weights[i]);
  };
  run_once();  // warm-up
  auto start = Clock::now();
  for (int r = 0; r < reps; ++r) run_once();
  return seconds_since(start) * 1000.0 / reps;
}

// Milliseconds for the same products through the fused path's kernels.
double dense_ms_per_token(const enclave::ModelConfig& c, enclave::DenseType type, int reps) {
  const std::int64_t q_dim = c.n_head * c.head_dim, kv_dim = c.n_kv_head * c.head_dim;
  const std::int64_t C = c.hidden_size, I = c.intermediate_size;
  const std::vector<std::pair<std::int64_t, std::int64_t>> per_layer = {
      {q_dim + 2 * kv_dim, C}, {C, q_dim}, {2 * I, C}, {C, I}};
  const std::size_t elem = type == enclave::DenseType::kF32 ? 4 : 2;
  std::vector<std::vector<std::uint8_t>> weights;
  std::vector<std::pair<std::int64_t, std::int64_t>> shapes;
  for (std::int64_t l = 0; l < c.n_layer; ++l)
    for (const auto& s : per_layer) shapes.push_back(s);
  shapes.push_back({c.vocab_size, C});
  for (const auto& [out, in] : shapes)
    weights.emplace_back(static_cast<std::size_t>(out * in) * elem, std::uint8_t{0x3c});
  std::vector<float> x(static_cast<std::size_t>(std::max(C, I)), 0.01f), y(c.vocab_size + 2 * I);
  auto run_once = [&] {
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const auto [out, in] = shapes[i];
      at::parallel_for(0, out, 16, [&](std::int64_t begin, std::int64_t end) {
        enclave::dense_matmul_rows(type, weights[i].data(), in, x.data(), 1, begin, end, y.data(),
                                   out);
      });
    }
  };
  run_once();
  auto start = Clock::now();
  for (int r = 0; r < reps; ++r) run_once();
  return seconds_since(start) * 1000.0 / reps;
}

struct Decode {
  double tps = 0, ms = 0;
};

struct Row {
  std::string preset, dtype;
  int threads;
  double prefill_tps;
  Decode libtorch, fused;
  double matmul_ms, dense_ms;
};

// Best of two greedy generations, with the fused decode step on or off.
std::pair<double, Decode> decode_speed(enclave::Engine& engine,
                                       const std::vector<enclave::TokenId>& prompt, int n_decode,
                                       bool fused) {
  ::setenv("ENCLAVE_FUSED_DECODE", fused ? "1" : "0", 1);
  enclave::GenerateOptions gen;
  gen.max_tokens = n_decode;
  gen.ignore_eos = true;
  gen.sampling.temperature = 0.0;
  (void)engine.generate(prompt,
                        {.max_tokens = 4, .sampling = gen.sampling, .stop = {}, .ignore_eos = true},
                        nullptr);  // warm-up
  enclave::GenerateResult best;
  for (int rep = 0; rep < 2; ++rep) {
    auto r = engine.generate(prompt, gen, nullptr);
    if (rep == 0 || r.decode_seconds / r.n_generated < best.decode_seconds / best.n_generated)
      best = r;
  }
  ::unsetenv("ENCLAVE_FUSED_DECODE");
  return {
      best.n_prompt_tokens / best.prompt_seconds,
      {best.n_generated / best.decode_seconds, 1000.0 * best.decode_seconds / best.n_generated}};
}

Row measure(const fs::path& dir, const std::string& preset, const std::string& dtype, int threads,
            int n_prompt, int n_decode) {
  enclave::EngineOptions options;
  options.dtype = dtype;
  options.threads = threads;
  auto engine = enclave::Engine::load(dir, options);
  const auto& config = engine->config();
  std::int64_t vocab = static_cast<std::int64_t>(engine->tokenizer()->vocab_size());
  std::vector<enclave::TokenId> prompt;
  for (int i = 0; i < n_prompt; ++i)
    prompt.push_back(static_cast<enclave::TokenId>((i * 7919 + 13) % vocab));

  Row row{preset, dtype, threads, 0, {}, {}, 0, 0};
  std::tie(row.prefill_tps, row.fused) = decode_speed(*engine, prompt, n_decode, true);
  row.libtorch = decode_speed(*engine, prompt, n_decode, false).second;
  row.matmul_ms =
      matmul_ms_per_token(config, dtype == "bf16" ? torch::kBFloat16 : torch::kFloat32, 20);
  row.dense_ms = dense_ms_per_token(
      config, dtype == "bf16" ? enclave::DenseType::kBF16 : enclave::DenseType::kF32, 20);
  return row;
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= s.size()) {
    std::size_t end = s.find(',', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string presets = "tiny,small";
  int n_prompt = 128;
  int n_decode = 64;
  fs::path work = fs::temp_directory_path() / "enclave_model_bench";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--presets")
      presets = argv[i + 1];
    else if (flag == "--prompt")
      n_prompt = std::stoi(argv[i + 1]);
    else if (flag == "--decode")
      n_decode = std::stoi(argv[i + 1]);
    else if (flag == "--work")
      work = argv[i + 1];
    else {
      fmt::print(stderr, "unknown flag {}\n", flag);
      return 64;
    }
  }
  try {
    std::vector<Row> rows;
    for (const std::string& preset : split(presets)) {
      fs::path dir = work / preset;
      if (!fs::exists(dir / "config.json")) {
        fs::remove_all(dir);
        fmt::print(stderr, "creating {} model in {}\n", preset, dir.string());
        enclave::init_model(preset, dir, 1);
      }
      for (const char* dtype : {"f32", "bf16"}) {
        for (int threads : {1, 2}) {
          rows.push_back(measure(dir, preset, dtype, threads, n_prompt, n_decode));
          fmt::print(stderr, "  measured {} {} {} thread(s)\n", preset, dtype, threads);
        }
      }
    }
    fmt::print("prompt {} tokens, decode {} tokens (greedy, KV cache)\n\n", n_prompt, n_decode);
    fmt::print("decode ms/token = products (the same matrices timed alone) + other\n\n");
    fmt::print("{:<6} {:<5} {:>3} | {:>9} | {:>32} | {:>32} | {:>6}\n", "", "", "", "prefill",
               "libtorch decode, op by op", "fused decode step", "fused");
    fmt::print(
        "{:<6} {:<5} {:>3} | {:>9} | {:>8} {:>7} {:>7} {:>7} | {:>8} {:>7} {:>7} {:>7} | {:>6}\n",
        "preset", "dtype", "thr", "tok/s", "tok/s", "ms/tok", "matmul", "other", "tok/s", "ms/tok",
        "matmul", "other", "gain");
    for (const Row& r : rows) {
      fmt::print(
          "{:<6} {:<5} {:>3} | {:>9.1f} | {:>8.1f} {:>7.2f} {:>7.2f} {:>7.2f} | {:>8.1f} {:>7.2f} "
          "{:>7.2f} {:>7.2f} | {:>5.2f}x\n",
          r.preset, r.dtype, r.threads, r.prefill_tps, r.libtorch.tps, r.libtorch.ms, r.matmul_ms,
          r.libtorch.ms - r.matmul_ms, r.fused.tps, r.fused.ms, r.dense_ms, r.fused.ms - r.dense_ms,
          r.fused.tps / r.libtorch.tps);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "model_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
