// serve_bench: a bounded load test of `enclave serve` (in process, on a free
// loopback port), one table row per (dtype, concurrency). For each dtype
// (f32 and bf16 compute on the model's weights; q8_0 and q4_0 on the same
// weights exported as GGUF and kept quantised, as `--model FILE.gguf` runs
// them) and each concurrency level, N streamed completion requests
// (distinct prompts and seeds) are sent by that many client threads; a row
// shows requests/s, tokens/s, time to first token and latency p50/p99, and
// errors (which must be 0). Each dtype's workload is first run one request
// at a time through Engine::generate (no server, no batching), and the
// speedup of each level over it is reported, measured in this one run.
//
//   serve_bench [--model DIR] [--dtypes f32,bf16,q8_0,q4_0] [--requests 200]
//               [--concurrency 1,4,8,16] [--max-tokens 32] [--threads 0]
// Without --model a tiny model is initialised in a temporary folder.
#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

#include "model/engine.h"
#include "model/gguf_export.h"
#include "model/gguf_import.h"
#include "serve/server.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Sample {
  double ttft = 0;
  double latency = 0;
  int tokens = 0;
  bool ok = false;
  std::string failure;  // why not ok: the transport error, status or error event
};

struct Row {
  std::string dtype;
  std::string mode;
  int concurrency = 0;
  int requests = 0;
  int errors = 0;
  double seconds = 0;
  int tokens = 0;
  std::vector<double> ttft;
  std::vector<double> latency;
  std::vector<std::string> failures;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t i = std::min(v.size() - 1, static_cast<std::size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

std::string prompt_of(int i) {
  return fmt::format("Request {}: the quick brown fox jumps over the lazy dog", i);
}

Sample stream_one(int port, int i, int max_tokens) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(300, 0);
  nlohmann::json body = {{"prompt", prompt_of(i)}, {"max_tokens", max_tokens},
                         {"temperature", 0.8},     {"seed", i},
                         {"stream", true},         {"stream_options", {{"include_usage", true}}}};
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  Sample s;
  std::string received;
  const Clock::time_point start = Clock::now();
  bool first = true;
  req.content_receiver = [&](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    if (first) {
      s.ttft = std::chrono::duration<double>(Clock::now() - start).count();
      first = false;
    }
    received.append(data, n);
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const bool sent = client.send(req, res, error);
  s.latency = std::chrono::duration<double>(Clock::now() - start).count();
  if (!sent || res.status != 200 || received.find("data: [DONE]") == std::string::npos ||
      received.find("data: {\"error\"") != std::string::npos) {
    // No answer, or an error event in the stream.
    s.failure = !sent ? fmt::format("request {}: {}", i, httplib::to_string(error))
                      : fmt::format("request {}: status {}: {}", i, res.status,
                                    received.substr(0, 300));
    return s;
  }
  // The usage chunk: the last event before [DONE].
  std::istringstream lines(received);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("data: {", 0) != 0) continue;
    nlohmann::json event = nlohmann::json::parse(line.substr(6), nullptr, false);
    if (event.is_object() && event.contains("usage"))
      s.tokens = event["usage"]["completion_tokens"].get<int>();
  }
  s.ok = true;
  return s;
}

Row run_server_level(const std::string& dtype, int port, int concurrency, int n_requests,
                     int max_tokens) {
  Row row{dtype, "server", concurrency, n_requests};
  std::vector<Sample> samples(n_requests);
  std::atomic<int> next{0};
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> clients;
  for (int c = 0; c < concurrency; ++c) {
    clients.emplace_back([&] {
      for (int i = next++; i < n_requests; i = next++) samples[i] = stream_one(port, i, max_tokens);
    });
  }
  for (auto& t : clients) t.join();
  row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  for (const Sample& s : samples) {
    if (!s.ok) {
      ++row.errors;
      row.failures.push_back(s.failure);
      continue;
    }
    row.tokens += s.tokens;
    row.ttft.push_back(s.ttft);
    row.latency.push_back(s.latency);
  }
  return row;
}

Row run_one_at_a_time(const std::string& dtype, const std::filesystem::path& model,
                      const enclave::EngineOptions& options, int n_requests, int max_tokens) {
  std::unique_ptr<enclave::Engine> engine = enclave::Engine::load(model, options);
  Row row{dtype, "one-at-a-time", 1, n_requests};
  const Clock::time_point start = Clock::now();
  for (int i = 0; i < n_requests; ++i) {
    enclave::GenerateOptions g;
    g.max_tokens = max_tokens;
    g.sampling.temperature = 0.8;
    g.sampling.seed = static_cast<std::uint64_t>(i);
    const Clock::time_point t0 = Clock::now();
    bool first = true;
    double ttft = 0;
    enclave::GenerateResult r =
        engine->generate(engine->tokenizer()->encode(prompt_of(i), true), g, [&](std::string_view) {
          if (first) ttft = std::chrono::duration<double>(Clock::now() - t0).count();
          first = false;
        });
    row.tokens += r.n_generated;
    row.ttft.push_back(first ? std::chrono::duration<double>(Clock::now() - t0).count() : ttft);
    row.latency.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
  }
  row.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return row;
}

void print_row(const Row& r, double reference_tokens_per_second) {
  const double tps = r.tokens / r.seconds;
  fmt::print(
      "{:<5} {:<14} {:>4} {:>8} {:>6} {:>8.2f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} {:>9.1f} "
      "{:>8.2f}x\n",
      r.dtype, r.mode, r.concurrency, r.requests, r.errors, r.requests / r.seconds, tps,
      1000 * percentile(r.ttft, 0.5), 1000 * percentile(r.ttft, 0.99),
      1000 * percentile(r.latency, 0.5), 1000 * percentile(r.latency, 0.99),
      reference_tokens_per_second > 0 ? tps / reference_tokens_per_second : 1.0);
}

// The model directory a dtype runs from and the engine's compute dtype:
// f32/bf16 on the source weights, q8_0/q4_0 on a GGUF export of them
// imported with its matrices kept quantised (activations in f32).
std::pair<std::filesystem::path, std::string> variant(const std::filesystem::path& source,
                                                      const std::filesystem::path& work,
                                                      const std::string& dtype) {
  if (dtype == "f32" || dtype == "bf16") return {source, dtype};
  if (dtype != "q8_0" && dtype != "q4_0")
    throw std::invalid_argument(
        fmt::format("--dtypes: '{}' is not f32, bf16, q8_0 or q4_0", dtype));
  const std::filesystem::path gguf = work / (dtype + ".gguf");
  const std::filesystem::path dir = work / dtype;
  std::filesystem::remove_all(dir);
  enclave::export_gguf(source, gguf, {.type = enclave::parse_gguf_type(dtype)});
  enclave::import_gguf(gguf, dir, {.keep_quantized = true});
  return {dir, "f32"};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load test of enclave serve against one-at-a-time generation, per dtype"};
  std::string model;
  std::vector<std::string> dtypes{"f32", "bf16", "q8_0", "q4_0"};
  int n_requests = 200;
  std::vector<int> levels{1, 4, 8, 16};
  int max_tokens = 32;
  int threads = 0;
  app.add_option("--model", model, "Model directory (default: a fresh tiny model)");
  app.add_option("--dtypes", dtypes, "f32, bf16, q8_0, q4_0")->delimiter(',');
  app.add_option("--requests", n_requests, "Requests per level")->check(CLI::Range(1, 100000));
  app.add_option("--concurrency", levels, "Client concurrency levels")->delimiter(',');
  app.add_option("--max-tokens", max_tokens, "max_tokens of each request")
      ->check(CLI::Range(1, 4096));
  app.add_option("--threads", threads, "Torch threads (0: default)")->check(CLI::Range(0, 1024));
  CLI11_PARSE(app, argc, argv);

  const std::filesystem::path work =
      std::filesystem::temp_directory_path() / fmt::format("enclave-serve-bench-{}", ::getpid());
  std::filesystem::remove_all(work);
  std::filesystem::create_directories(work);
  if (model.empty()) {
    enclave::init_model("tiny", work / "model", /*seed=*/1);
    model = (work / "model").string();
  }
  int errors = 0;
  try {
    const int max_level = *std::max_element(levels.begin(), levels.end());
    fmt::print("serve_bench: {} requests per level, max_tokens {}, model {}\n", n_requests,
               max_tokens, model);
    fmt::print("{:<5} {:<14} {:>4} {:>8} {:>6} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n",
               "dtype", "mode", "conc", "requests", "errors", "req/s", "tok/s", "ttft p50",
               "ttft p99", "lat p50", "lat p99", "vs 1-at-a");
    fmt::print("{:<5} {:<14} {:>4} {:>8} {:>6} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}\n", "", "",
               "", "", "", "", "", "(ms)", "(ms)", "(ms)", "(ms)", "(tok/s)");
    for (const std::string& dtype : dtypes) {
      const auto [dir, compute] = variant(model, work, dtype);
      enclave::serve::ServeOptions options;
      options.model_ref = dir.string();
      options.port = 0;
      options.max_concurrency = max_level;
      options.max_queue = 4 * max_level + 16;
      options.request_log = false;
      options.quiet = true;
      options.watch_seconds = 0;
      options.engine.threads = threads;
      options.engine.dtype = compute;

      const Row reference = run_one_at_a_time(dtype, dir, options.engine, n_requests, max_tokens);
      const double reference_tps = reference.tokens / reference.seconds;
      print_row(reference, reference_tps);
      enclave::serve::Server server(options);
      const int port = server.bind();
      std::thread serving([&] { server.serve(); });
      for (int level : levels) {
        Row row = run_server_level(dtype, port, level, n_requests, max_tokens);
        errors += row.errors;
        print_row(row, reference_tps);
        for (const std::string& failure : row.failures) fmt::print(stderr, "  failed: {}\n", failure);
        std::fflush(stdout);
      }
      server.stop();
      serving.join();
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "serve_bench: {}\n", e.what());
    std::filesystem::remove_all(work);
    return 1;
  }
  std::filesystem::remove_all(work);
  if (errors != 0) {
    fmt::print(stderr, "serve_bench: {} requests failed\n", errors);
    return 1;
  }
  return 0;
}
