// Quantised CPU inference against f32/bf16 and against llama.cpp on the same
// weights. The `small` preset (random weights, seed 1) is exported as GGUF
// in f32, bf16, q8_0, q4_0 and q4_k_m (model/gguf_export.h); Enclave runs
// each the way `--model FILE.gguf` does (q8_0/q4_0/q4_k/q6_k matrices kept
// quantised, f32/bf16 as the Hugging Face folder) and reports prefill and
// decode tokens/s (greedy, KV cache). When LLAMA_BENCH names a llama-bench binary, the same
// files are run by it in the same process run (same threads, prompt and
// decode lengths) and the ratios Enclave / llama.cpp are printed.
//
// A second table times the decode-shaped products alone: every matrix of one
// decode step (batch 1) on each instruction-set path and for each quantised
// type (q8_0, q4_0, q4_k, q6_k), as GB/s of weights read, so kernel speed and
// per-token overhead separate: once through quant_linear (tensor glue
// included) and once by the kernels alone (quantize_rows_q8 and
// quant_matmul_rows over the threads); a third row times dequantising the
// same matrices to bf16 (GB/s of quantised bytes read), the step that comes
// before the dense product in prefill. --products-only prints only it.
//
// Usage: quant_bench [--preset small | --config config.json [--tokenizer DIR]] [--types
// f32,bf16,q8_0,q4_0,q4_k_m] [--threads 2] [--prompt 128] [--decode 64] [--work DIR]
//                    [--products-only]
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/compute_dtype.h"
#include "model/engine.h"
#include "model/gguf_export.h"
#include "model/gguf_import.h"
#include "model/init.h"
#include "model/quant_linear.h"

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

struct Speed {
  double prefill = 0, decode = 0;  // tokens/s
};

Speed enclave_speed(const fs::path& dir, const std::string& dtype, int threads, int n_prompt,
                    int n_decode) {
  enclave::EngineOptions options;
  options.dtype = dtype;
  options.threads = threads;
  auto engine = enclave::Engine::load(dir, options);
  const auto vocab = static_cast<std::int64_t>(engine->config().vocab_size);
  std::vector<enclave::TokenId> prompt;
  for (int i = 0; i < n_prompt; ++i)
    prompt.push_back(static_cast<enclave::TokenId>((i * 7919 + 13) % vocab));
  enclave::GenerateOptions gen;
  gen.max_tokens = n_decode;
  gen.ignore_eos = true;
  gen.sampling.temperature = 0.0;
  (void)engine->generate(prompt, {.max_tokens = 4, .sampling = gen.sampling, .ignore_eos = true},
                         nullptr);  // warm-up
  Speed best;
  for (int rep = 0; rep < 3; ++rep) {
    const auto r = engine->generate(prompt, gen, nullptr);
    best.prefill = std::max(best.prefill, r.n_prompt_tokens / r.prompt_seconds);
    best.decode = std::max(best.decode, r.n_generated / r.decode_seconds);
  }
  return best;
}

// llama-bench's pp and tg tokens/s for one file, or nullopt when it fails.
std::optional<Speed> llama_speed(const std::string& bench, const fs::path& gguf, int threads,
                                 int n_prompt, int n_decode) {
  const fs::path out = gguf.string() + ".llama-bench.json";
  const std::string cmd =
      fmt::format("'{}' -m '{}' -t {} -p {} -n {} -r 3 -o json > '{}' 2>/dev/null", bench,
                  gguf.string(), threads, n_prompt, n_decode, out.string());
  if (std::system(cmd.c_str()) != 0) return std::nullopt;
  std::FILE* f = std::fopen(out.c_str(), "r");
  if (f == nullptr) return std::nullopt;
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  Speed s;
  for (const auto& row : nlohmann::json::parse(text)) {
    (row.at("n_prompt").get<int>() > 0 ? s.prefill : s.decode) = row.at("avg_ts").get<double>();
  }
  return s;
}

// The matrices of one decode step (batch 1) as `type` blocks, with an input
// row for each.
struct DecodeStep {
  std::vector<std::vector<std::uint8_t>> bytes;
  std::vector<enclave::QuantMatrix> matrices;
  std::vector<torch::Tensor> inputs;  // (1, 1, cols) float32
  double total_bytes = 0;
};

DecodeStep decode_step(const enclave::ModelConfig& c, enclave::QuantType type) {
  const std::int64_t q_dim = c.n_head * c.head_dim, kv_dim = c.n_kv_head * c.head_dim;
  std::vector<std::pair<std::int64_t, std::int64_t>> shapes;
  for (std::int64_t l = 0; l < c.n_layer; ++l) {
    for (auto s : {std::pair{q_dim, c.hidden_size}, std::pair{kv_dim, c.hidden_size},
                   std::pair{kv_dim, c.hidden_size}, std::pair{c.hidden_size, q_dim},
                   std::pair{c.intermediate_size, c.hidden_size},
                   std::pair{c.intermediate_size, c.hidden_size},
                   std::pair{c.hidden_size, c.intermediate_size}})
      shapes.push_back(s);
  }
  shapes.push_back({c.vocab_size, c.hidden_size});
  DecodeStep step;
  for (auto [rows, cols] : shapes) {
    const torch::Tensor w = torch::randn({rows, cols}) * 0.02;
    step.bytes.push_back(enclave::quantize_weights(
        type, std::span<const float>(w.data_ptr<float>(), static_cast<std::size_t>(w.numel()))));
  }
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    step.matrices.push_back(
        {type, shapes[i].first, shapes[i].second, step.bytes[i].data(), nullptr});
    step.inputs.push_back(torch::randn({1, 1, shapes[i].second}));
    step.total_bytes += static_cast<double>(step.matrices.back().n_bytes());
  }
  return step;
}

// GB/s of weights read by one decode step's products on the current path,
// the best of 3 timings of `reps` steps each: through quant_linear, and by
// the kernels alone (quantize_rows_q8, then quant_matmul_rows with the
// output rows split over the threads, as a fused decode path calls them).
struct ProductSpeed {
  double linear = 0, kernels = 0, dequant = 0;
};

ProductSpeed decode_products_gbs(const DecodeStep& step, int reps) {
  auto best_gbs = [&](auto&& run) {
    run();
    double best = 0;
    for (int t = 0; t < 3; ++t) {
      const auto start = Clock::now();
      for (int r = 0; r < reps; ++r) run();
      best = std::max(best, step.total_bytes * reps / seconds_since(start) / 1e9);
    }
    return best;
  };
  ProductSpeed speed;
  speed.linear = best_gbs([&] {
    for (std::size_t i = 0; i < step.matrices.size(); ++i)
      (void)enclave::quant_linear(step.inputs[i], step.matrices[i], {});
  });
  std::int64_t max_rows = 0;
  for (const auto& w : step.matrices) max_rows = std::max(max_rows, w.rows);
  std::vector<float> y(static_cast<std::size_t>(max_rows));
  enclave::QuantizedRows xq;
  speed.kernels = best_gbs([&] {
    for (std::size_t i = 0; i < step.matrices.size(); ++i) {
      const enclave::QuantMatrix& w = step.matrices[i];
      enclave::quantize_rows_q8(step.inputs[i].data_ptr<float>(), 1, w.cols, xq);
      at::parallel_for(0, w.rows, 16, [&](std::int64_t begin, std::int64_t end) {
        enclave::quant_matmul_rows(w.type, w.data, xq, begin, end, y.data(), w.rows);
      });
    }
  });
  // What prefill's many-row products pay first: every matrix to bf16.
  speed.dequant = best_gbs([&] {
    for (const enclave::QuantMatrix& w : step.matrices)
      (void)enclave::dequantize(w, torch::kBFloat16);
  });
  return speed;
}

// Prefill and decode tokens/s of each GGUF variant, beside llama-bench when
// LLAMA_BENCH names it.
// The targets, per weight type (Enclave's best activation dtype
// against llama.cpp on the same file): decode >= 1.0x everywhere; prefill
// >= 3x where the CPU has AMX-BF16 and >= 1.5x with AVX512_BF16 alone.
void print_targets(const std::vector<std::pair<std::string, std::pair<Speed, Speed>>>& best) {
  std::ifstream in("/proc/cpuinfo");
  const std::string cpuinfo((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string feature = enclave::native_bf16_feature(cpuinfo);
  const double prefill_target = feature == "AMX-BF16" ? 3.0 : feature == "AVX512_BF16" ? 1.5 : 0;
  fmt::print("\ntargets: decode >= 1.0x llama.cpp; prefill {}\n",
             prefill_target > 0
                 ? fmt::format(">= {:.1f}x (this CPU has {})", prefill_target, feature)
                 : std::string("none (no native bf16 on this CPU)"));
  for (const auto& [type, speeds] : best) {
    const auto& [ours, theirs] = speeds;
    if (theirs.decode <= 0) continue;
    const double decode = ours.decode / theirs.decode, prefill = ours.prefill / theirs.prefill;
    fmt::print("{:<6} decode {:.2f}x {:<6}  prefill {:.2f}x {}\n", type, decode,
               decode >= 1.0 ? "met" : "MISSED", prefill,
               prefill_target <= 0         ? "-"
               : prefill >= prefill_target ? "met"
                                           : "MISSED");
  }
}

// The source model: the preset, or a random model of config's shape (bf16
// weights, tokenizer files copied from `tokenizer` when given).
struct Source {
  std::string preset;
  fs::path config, tokenizer;
  std::string name() const { return config.empty() ? preset : config.stem().string(); }
};

void end_to_end(const Source& from, const std::vector<std::string>& types, const fs::path& work,
                int threads, int n_prompt, int n_decode) {
  const std::string preset = from.name();
  const fs::path source = work / preset;
  if (!fs::exists(source / "config.json")) {
    fs::remove_all(source);
    fmt::print(stderr, "creating {} model in {}\n", preset, source.string());
    if (from.config.empty())
      enclave::init_model(from.preset, source, 1);
    else
      enclave::init_model_from_config(
          from.config, source, 1, {.dtype = enclave::DType::kBF16, .tokenizer = from.tokenizer});
  }
  const char* bench = std::getenv("LLAMA_BENCH");
  fmt::print("{} preset, {} thread(s), prompt {} tokens, decode {} tokens; kernels: {}\n\n", preset,
             threads, n_prompt, n_decode, enclave::quant_isa_name(enclave::quant_isa()));
  fmt::print("{:<6} {:<4} | {:>13} {:>13} {:>6} | {:>12} {:>12} {:>6}\n", "type", "act",
             "prefill tok/s", "llama.cpp", "ratio", "decode tok/s", "llama.cpp", "ratio");
  struct Variant {
    const char* type;
    const char* act;
  };
  // Per type: Enclave's best over activation dtypes, and llama.cpp's.
  std::vector<std::pair<std::string, std::pair<Speed, Speed>>> best;
  for (const Variant v : {Variant{"f32", "f32"}, Variant{"bf16", "bf16"}, Variant{"q8_0", "f32"},
                          Variant{"q8_0", "bf16"}, Variant{"q4_0", "f32"}, Variant{"q4_0", "bf16"},
                          Variant{"q4_k_m", "f32"}, Variant{"q4_k_m", "bf16"}}) {
    if (std::find(types.begin(), types.end(), v.type) == types.end()) continue;
    const fs::path gguf = work / fmt::format("{}-{}.gguf", preset, v.type);
    if (!fs::exists(gguf))
      enclave::export_gguf(source, gguf, {.type = enclave::parse_gguf_type(v.type)});
    fs::path dir = source;
    const std::string type = v.type;
    if (type == "q8_0" || type == "q4_0" || type == "q4_k_m") {
      dir = work / fmt::format("{}-{}", preset, v.type);
      if (!fs::exists(dir / "config.json"))
        enclave::import_gguf(gguf, dir, {.keep_quantized = true});
    }
    const Speed e = enclave_speed(dir, v.act, threads, n_prompt, n_decode);
    std::optional<Speed> l;
    if (bench != nullptr && (std::string(v.act) == "f32" || type == "bf16"))
      l = llama_speed(bench, gguf, threads, n_prompt, n_decode);
    auto cell = [&](double x) { return l ? fmt::format("{:.1f}", x) : std::string("-"); };
    auto ratio = [&](double a, double b) {
      return l ? fmt::format("{:.2f}x", a / b) : std::string("-");
    };
    fmt::print("{:<6} {:<4} | {:>13.1f} {:>13} {:>6} | {:>12.1f} {:>12} {:>6}\n", v.type, v.act,
               e.prefill, cell(l ? l->prefill : 0), ratio(e.prefill, l ? l->prefill : 1), e.decode,
               cell(l ? l->decode : 0), ratio(e.decode, l ? l->decode : 1));
    std::fflush(stdout);
    if (best.empty() || best.back().first != type) best.push_back({type, {}});
    Speed& ours = best.back().second.first;
    ours.prefill = std::max(ours.prefill, e.prefill);
    ours.decode = std::max(ours.decode, e.decode);
    if (l) best.back().second.second = *l;
  }
  if (bench == nullptr) {
    fmt::print("(LLAMA_BENCH unset: no llama.cpp comparison)\n");
    return;
  }
  print_targets(best);
}

}  // namespace

int main(int argc, char** argv) {
  std::string preset = "small";
  int threads = 2, n_prompt = 128, n_decode = 64;
  bool products_only = false;
  fs::path work = fs::temp_directory_path() / "enclave_quant_bench";
  CLI::App app("Quantised CPU inference beside llama-bench on the same GGUF files");
  app.add_option("--preset", preset, "Model preset")->capture_default_str();
  fs::path config, tokenizer;
  app.add_option(
      "--config", config,
      "A Hugging Face config.json: a random bf16 model of that shape instead of the preset");
  app.add_option("--tokenizer", tokenizer, "Tokenizer files for --config (default: a trained BPE)");
  std::vector<std::string> types = {"f32", "bf16", "q8_0", "q4_0", "q4_k_m"};
  app.add_option("--types", types, "Weight types to compare")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--threads", threads, "Threads")->capture_default_str();
  app.add_option("--prompt", n_prompt, "Prompt tokens")->capture_default_str();
  app.add_option("--decode", n_decode, "Decoded tokens")->capture_default_str();
  app.add_option("--work", work, "Scratch folder")->capture_default_str();
  app.add_flag("--products-only", products_only,
               "Only the decode-step products table (no model files, no llama-bench)");
  std::string isa;
  app.add_option("--isa", isa,
                 "Kernel path of the model runs: avx2 stands for a CPU without AVX-512 (AMD "
                 "before Zen 4); default the best this CPU has")
      ->check(CLI::IsMember({"scalar", "avx2", "avx512"}));
  CLI11_PARSE(app, argc, argv);
  try {
    for (enclave::QuantIsa path :
         {enclave::QuantIsa::kScalar, enclave::QuantIsa::kAvx2, enclave::QuantIsa::kAvx512}) {
      if (isa == enclave::quant_isa_name(path)) enclave::set_quant_isa(path);
    }
    if (!products_only)
      end_to_end({preset, config, tokenizer}, types, work, threads, n_prompt, n_decode);
    fmt::print("\ndecode-step products alone (batch 1, {} thread(s)), GB/s of weights read\n",
               threads);
    torch::set_num_threads(threads);
    const enclave::ModelConfig config = enclave::preset_config(preset);
    const enclave::QuantIsa best = enclave::detect_quant_isa();
    std::vector<enclave::QuantIsa> isas;
    for (enclave::QuantIsa isa :
         {enclave::QuantIsa::kScalar, enclave::QuantIsa::kAvx2, enclave::QuantIsa::kAvx512})
      if (isa <= best) isas.push_back(isa);
    const enclave::QuantType types[] = {enclave::QuantType::kQ8_0, enclave::QuantType::kQ4_0,
                                        enclave::QuantType::kQ4_K, enclave::QuantType::kQ6_K};
    // [type][isa]
    std::vector<std::vector<ProductSpeed>> speeds;
    for (enclave::QuantType type : types) {
      const DecodeStep step = decode_step(config, type);
      speeds.emplace_back();
      for (enclave::QuantIsa isa : isas) {
        enclave::set_quant_isa(isa);
        speeds.back().push_back(decode_products_gbs(step, 5));
      }
    }
    fmt::print("{:<7} {:<8}", "path", "through");
    for (enclave::QuantType type : types) fmt::print(" {:>7}", enclave::quant_type_name(type));
    fmt::print("\n");
    for (std::size_t i = 0; i < isas.size(); ++i) {
      for (auto [name, field] : {std::pair{"linear", &ProductSpeed::linear},
                                 std::pair{"kernels", &ProductSpeed::kernels},
                                 std::pair{"to bf16", &ProductSpeed::dequant}}) {
        fmt::print("{:<7} {:<8}", enclave::quant_isa_name(isas[i]), name);
        for (std::size_t t = 0; t < speeds.size(); ++t)
          fmt::print(" {:>7.2f}", speeds[t][i].*field);
        fmt::print("\n");
      }
    }
    std::fflush(stdout);
    enclave::set_quant_isa(best);
  } catch (const std::exception& e) {
    fmt::print(stderr, "quant_bench: {}\n", e.what());
    return 1;
  }
  return 0;
}
