// Multiple-choice scoring throughput (choices/s) of the evaluation harness:
// the same requests scored one at a time (Engine::score, the path of
// `enclave score`), in batches (Engine::score_batch), and with the choices of
// a question sharing one run of its context (Engine::score_continuations),
// measured in one run, with the largest log-likelihood difference from the
// first path. The
// requests are the built-in general suite's multiple-choice tasks, English
// and Korean (prompts with their few-shot examples).
//
//   eval_bench [--preset tiny|small] [--threads N] [--shots K] [--batches 1,4,8,16,32]
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "eval/builtin_tasks.h"
#include "eval/prompt.h"
#include "eval/scorer.h"
#include "eval/task_docs.h"
#include "eval/template.h"
#include "model/engine.h"

namespace {

using namespace enclave;
using namespace enclave::eval;

struct Args {
  std::string preset = "tiny";
  int threads = 0;
  int shots = 3;
  std::vector<int> batches = {1, 4, 8, 16, 32};
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        fmt::print(stderr, "eval_bench: {} needs a value\n", arg);
        std::exit(64);
      }
      return argv[++i];
    };
    if (arg == "--preset") {
      a.preset = value();
    } else if (arg == "--threads") {
      a.threads = std::stoi(value());
    } else if (arg == "--shots") {
      a.shots = std::stoi(value());
    } else if (arg == "--batches") {
      a.batches.clear();
      std::string list = value();
      for (std::size_t pos = 0; pos <= list.size();) {
        std::size_t end = list.find(',', pos);
        if (end == std::string::npos) end = list.size();
        a.batches.push_back(std::stoi(list.substr(pos, end - pos)));
        pos = end + 1;
      }
    } else {
      fmt::print(
          stderr,
          "usage: eval_bench [--preset tiny|small] [--threads N] [--shots K] [--batches 1,8]\n");
      std::exit(64);
    }
  }
  return a;
}

std::vector<LoglikelihoodRequest> mc_requests(const Engine& engine, int shots) {
  std::vector<LoglikelihoodRequest> out;
  for (const TaskSpec& task : builtin_tasks()) {
    if (task.output_type != OutputType::kMultipleChoice) continue;
    TaskDocs docs = load_task_docs(task);
    PromptBuilder prompts(task, docs, *engine.tokenizer(), engine.chat_template(), false, shots,
                          engine.config().max_position_embeddings);
    for (std::size_t i = 0; i < docs.docs.size(); ++i) {
      const std::string context = prompts.context(i);
      for (const std::string& choice :
           render_choices(task.doc_to_choice, docs.docs[i], task.name)) {
        ContinuationTokens t =
            prompts.continuation_tokens(context, prompts.answer_delimiter() + choice);
        out.push_back({std::move(t.tokens), t.n_continuation});
      }
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() /
      fmt::format("enclave-eval-bench-{}-{}", args.preset, std::random_device{}());
  init_model(args.preset, dir, 1);
  std::unique_ptr<Engine> engine = Engine::load(dir, {.threads = args.threads});
  const std::vector<LoglikelihoodRequest> requests = mc_requests(*engine, args.shots);
  std::size_t tokens = 0;
  for (const auto& r : requests) tokens += r.tokens.size();
  fmt::print(
      "preset {} ({} parameters), {} choices, {:.1f} tokens per choice on average, {} few-shot "
      "examples\n",
      args.preset, engine->n_parameters(), requests.size(),
      static_cast<double>(tokens) / requests.size(), args.shots);
  score_requests(*engine, std::vector<LoglikelihoodRequest>(requests.begin(), requests.begin() + 8),
                 {});  // warm up

  struct Mode {
    std::string name;
    ScoreOptions options;
  };
  std::vector<Mode> modes;
  for (int batch : args.batches) {
    modes.push_back(
        {batch == 1 ? "one at a time" : fmt::format("batch {}", batch), {.batch_size = batch}});
  }
  modes.push_back({"shared prefix", {.batch_size = 8, .share_prefix = true}});
  std::vector<LoglikelihoodResult> reference;
  double reference_rate = 0;
  fmt::print("{:<14}  {:>8}  {:>10}  {:>8}  {:>10}\n", "path", "seconds", "choices/s", "vs first",
             "max |diff|");
  for (const Mode& mode : modes) {
    const auto start = std::chrono::steady_clock::now();
    std::vector<LoglikelihoodResult> results = score_requests(*engine, requests, mode.options);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = static_cast<double>(requests.size()) / seconds;
    if (reference.empty()) {
      reference = results;
      reference_rate = rate;
    }
    double diff = 0;
    for (std::size_t i = 0; i < results.size(); ++i)
      diff = std::max(diff, std::abs(results[i].logprob - reference[i].logprob));
    fmt::print("{:<14}  {:>8.2f}  {:>10.1f}  {:>7.2f}x  {:>10.3g}\n", mode.name, seconds, rate,
               rate / reference_rate, diff);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return 0;
}
