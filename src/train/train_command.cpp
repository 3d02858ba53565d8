#include "train/train_command.h"

#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "core/error.h"
#include "core/progress.h"
#include "core/staging_dir.h"
#include "model/lora.h"
#include "store/model_ref.h"
#include "store/names.h"
#include "store/runs.h"

extern char** environ;

namespace enclave::train {
namespace fs = std::filesystem;

namespace {

// --- signals -------------------------------------------------------------

std::vector<pid_t> g_children;  // the launcher's workers, for forwarding

void on_stop_signal(int) { request_stop(); }

void forward_signal(int sig) {
  for (pid_t pid : g_children) ::kill(pid, sig);
}

class SignalScope {
 public:
  explicit SignalScope(void (*handler)(int)) {
    struct sigaction action {};
    action.sa_handler = handler;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, &old_int_);
    ::sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalScope() {
    ::sigaction(SIGINT, &old_int_, nullptr);
    ::sigaction(SIGTERM, &old_term_, nullptr);
  }
  SignalScope(const SignalScope&) = delete;
  SignalScope& operator=(const SignalScope&) = delete;

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

// --- launcher ------------------------------------------------------------

int launch_workers(const TrainCommand& command) {
  const TrainConfig& c = command.config;
  std::vector<std::string> env_strings;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind(std::string(kLocalRankEnv) + "=", 0) != 0)
      env_strings.emplace_back(*e);
  }
  SignalScope forward(forward_signal);
  g_children.clear();
  for (std::int64_t local = 0; local < c.nproc; ++local) {
    std::vector<std::string> env = env_strings;
    env.push_back(fmt::format("{}={}", kLocalRankEnv, local));
    std::vector<char*> envp;
    for (std::string& s : env) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::vector<std::string> args = command.argv;
    std::vector<char*> argv;
    for (std::string& s : args) argv.push_back(s.data());
    argv.push_back(nullptr);
    pid_t pid = 0;
    if (::posix_spawn(&pid, "/proc/self/exe", nullptr, nullptr, argv.data(), envp.data()) != 0) {
      forward_signal(SIGTERM);
      fail(ErrorKind::kIo, "train: cannot start worker {} of {}", local, c.nproc);
    }
    g_children.push_back(pid);
  }
  int worst = 0;
  std::size_t remaining = g_children.size();
  while (remaining > 0) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR) continue;
      break;
    }
    --remaining;
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    // A failed worker would leave the others waiting in a collective: stop them.
    if (code != 0 && code != 130 && worst == 0) forward_signal(SIGTERM);
    if (code != 0 && (worst == 0 || worst == 130)) worst = code;
  }
  g_children.clear();
  return worst;
}

// --- progress ------------------------------------------------------------

class ProgressLine {
 public:
  explicit ProgressLine(std::int64_t log_every)
      : log_every_(log_every), terminal_(::isatty(STDERR_FILENO) == 1) {}
  ~ProgressLine() {
    if (drawn_) std::fputc('\n', stderr);
  }
  void step(const StepReport& r) {
    // elapsed_s counts from this process's first step (a resumed run starts
    // past step 1), so the rate is over the steps this process ran.
    if (first_step_ == 0) first_step_ = r.step;
    const double eta = r.elapsed_s / static_cast<double>(r.step - first_step_ + 1) *
                       static_cast<double>(r.total_steps - r.step);
    std::string line =
        fmt::format("step {}/{} loss {:.4f} lr {:.2e} grad {:.3f} {:.0f} tok/s ETA {}", r.step,
                    r.total_steps, r.loss, r.lr, r.grad_norm, r.tokens_per_s, format_duration(eta));
    if (auto it = r.extra.find("rewards/accuracies"); it != r.extra.end()) {
      line += fmt::format(" acc {:.2f} margin {:.3f}", it->second, r.extra.at("rewards/margins"));
    }
    if (auto it = r.extra.find("dp/epsilon"); it != r.extra.end())
      line += fmt::format(" eps {:.3f}", it->second);
    if (terminal_) {
      std::fprintf(stderr, "\r\033[K%s", line.c_str());
      drawn_ = true;
    } else if (r.step % log_every_ == 0 || r.step == r.total_steps) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    std::fflush(stderr);
  }
  void note(const std::string& text) {
    if (drawn_) std::fputc('\n', stderr);
    drawn_ = false;
    std::fprintf(stderr, "%s\n", text.c_str());
  }

 private:
  std::int64_t log_every_;
  bool terminal_;
  bool drawn_ = false;
  std::int64_t first_step_ = 0;
};

// --- references ------------------------------------------------------------

struct ResolvedModel {
  fs::path dir;
  std::optional<store::VersionInfo> version;  // when the reference names a registry version
};

ResolvedModel resolve_model(const TrainCommand& command, store::Workspace& /*workspace*/) {
  // A reference naming a LoRA adapter trains on its base with the adapter
  // merged in; a new --lora adapter is then recorded as based on it.
  const store::ResolvedModel r = store::resolve_model(
      {.model = command.config.model, .max_unmerged = 0},
      {.find = command.workspace,
       .merge_adapter = [](const fs::path& base, const fs::path& adapter, const fs::path& out) {
         merge_lora(base, adapter, out, "f32");
       }});
  return {.dir = r.dir, .version = r.version};
}

}  // namespace

nlohmann::json dp_summary(const DpResult& dp) {
  return {{"epsilon", dp.epsilon},
          {"target_epsilon", dp.target_epsilon},
          {"delta", dp.delta},
          {"noise_multiplier", dp.noise_multiplier},
          {"sampling_rate", dp.sampling_rate},
          {"max_grad_norm", dp.max_grad_norm},
          {"order", dp.order},
          {"n_examples", dp.n_examples},
          {"steps", dp.steps},
          {"total_steps", dp.total_steps},
          {"accountant",
           "RDP of the sampled Gaussian mechanism (Mironov et al. 2019), "
           "converted to (epsilon, delta) by Canonne et al. 2020, Prop. 12"}};
}

fs::path resolve_data_ref(store::Workspace& workspace, const std::string& ref,
                          std::optional<store::VersionInfo>* version, std::string_view prefer) {
  std::error_code ec;
  if (fs::is_regular_file(ref, ec)) return ref;
  if (fs::is_directory(ref, ec))
    fail_input("data '{}': is a folder; give a JSONL file or a dataset reference", ref);
  // "feedback@3:sft" (or "feedback:latest:sft") picks sft.jsonl of a version
  // that holds several JSONL files, as `feedback export` writes them.
  std::string version_ref = ref, part;
  const std::size_t at = ref.find('@'), colon = ref.rfind(':');
  if (colon != std::string::npos &&
      ((at != std::string::npos && colon > at) || std::count(ref.begin(), ref.end(), ':') == 2)) {
    version_ref = ref.substr(0, colon);
    part = ref.substr(colon + 1);
    store::validate_relative_path(part, "data file");
  }
  store::VersionInfo v;
  try {
    v = store::resolve_version(workspace.db(), store::RegistryKind::kDataset, version_ref);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kInvalidInput) {
      fail(ErrorKind::kNotFound, "data '{}': no such JSONL file or dataset ({})", ref, e.what());
    }
    fail(ErrorKind::kNotFound, "data '{}': no such JSONL file, and {}", ref, e.what());
  }
  if (version != nullptr) *version = v;
  fs::path path = store::version_path(workspace, store::RegistryKind::kDataset, v.ref());
  std::vector<fs::path> jsonl;
  if (fs::is_directory(path)) {
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_regular_file() && entry.path().extension() == ".jsonl")
        jsonl.push_back(entry.path());
    }
    std::sort(jsonl.begin(), jsonl.end());
  }
  std::string names;
  for (const fs::path& p : jsonl)
    names += (names.empty() ? "" : ", ") + fs::relative(p, path).string();
  if (!part.empty()) {
    for (const fs::path& candidate : {path / (part + ".jsonl"), path / part}) {
      if (fs::is_regular_file(candidate)) return candidate;
    }
    fail(ErrorKind::kNotFound, "data '{}': dataset {} has no {}.jsonl (it holds: {})", ref, v.ref(),
         part, names.empty() ? "no .jsonl file" : names);
  }
  if (fs::is_regular_file(path)) return path;
  if (fs::exists(path / "train.jsonl")) return path / "train.jsonl";
  // `data format` writes data.jsonl beside its invalid.jsonl side file.
  if (fs::exists(path / "data.jsonl")) return path / "data.jsonl";
  if (!prefer.empty() && jsonl.size() > 1 &&
      fs::is_regular_file(path / (std::string(prefer) + ".jsonl")))
    return path / (std::string(prefer) + ".jsonl");
  if (jsonl.size() > 1) {
    fail_input("dataset {}: holds {} .jsonl files ({}); name one, e.g. {}:{}", v.ref(),
               jsonl.size(), names, v.ref(), jsonl.front().stem().string());
  }
  if (jsonl.empty()) {
    fail(ErrorKind::kNotFound, "dataset {}: expected one .jsonl file (or train.jsonl), found 0",
         v.ref());
  }
  return jsonl.front();
}

TrainCommandResult run_train_command(const TrainCommand& command) {
  TrainConfig config = command.config;
  resolve_defaults(config);
  store::validate_name(config.out, "model name (--out)");
  TrainCommandResult out;
  const char* local_env = std::getenv(kLocalRankEnv);
  if (config.nproc > 1 && local_env == nullptr) {
    out.exit_code = launch_workers(command);
    return out;
  }
  const std::int64_t local_rank = local_env != nullptr ? std::strtoll(local_env, nullptr, 10) : 0;
  if (local_rank < 0 || local_rank >= config.nproc)
    fail_input("{}: {} is outside [0, {})", kLocalRankEnv, local_rank, config.nproc);
  DistOptions dist;
  dist.rank = static_cast<int>(config.node_rank * config.nproc + local_rank);
  dist.world_size = static_cast<int>(config.nnodes * config.nproc);
  dist.master_addr = config.master_addr;
  dist.master_port = static_cast<int>(config.master_port);
  if (config.threads == 0 && config.nproc > 1) {
    config.threads = std::max<std::int64_t>(1, std::thread::hardware_concurrency() / config.nproc);
  }

  auto workspace = store::Workspace::open(command.workspace);
  if (config.checkpoint_dir.empty())
    config.checkpoint_dir = (workspace->root() / "checkpoints" / config.out).string();
  const ResolvedModel model = resolve_model(command, *workspace);
  std::optional<store::VersionInfo> data_version, eval_version;
  std::vector<std::optional<store::VersionInfo>> chunk_versions;
  TrainData data;
  if (config.mode == TrainMode::kSdpo && config.sdpo_split == SdpoSplit::kFiles) {
    for (const std::string& f : config.sdpo_files) {
      chunk_versions.emplace_back();
      data.chunk_files.push_back(resolve_data_ref(*workspace, f, &chunk_versions.back()));
    }
  } else {
    // A feedback export holds sft.jsonl and preference.jsonl: each mode takes its own.
    const std::string_view prefer = config.mode == TrainMode::kSft   ? "sft"
                                    : config.mode == TrainMode::kDpo ? "preference"
                                                                     : "";
    data.train_file = resolve_data_ref(*workspace, config.data, &data_version, prefer);
  }
  if (!config.eval_data.empty())
    data.eval_file = resolve_data_ref(*workspace, config.eval_data, &eval_version);
  // Beside checkouts, so `store gc` reclaims it; an encrypted workspace's is
  // this process's private plaintext cache, never kept.
  data.token_cache_dir = workspace->checkout_root();

  SignalScope signals(on_stop_signal);
  if (dist.rank != 0) {
    // Workers compute; rank 0 records and writes.
    out.train = train(config, model.dir, data, workspace->tmp_dir() / "unused", {}, dist);
    out.exit_code = out.train.interrupted ? 130 : 0;
    return out;
  }

  store::Run run(workspace->root(), {.kind = "train",
                                     .name = config.out,
                                     .command = command.argv,
                                     .params = to_json(config),
                                     .seed = static_cast<std::int64_t>(config.seed)});
  out.run_id = run.id();
  if (model.version) {
    run.log_input_version(model.version->id, "base_model");
  } else {
    run.log_input(model.dir, "base_model");
  }
  auto log_data = [&](const std::optional<store::VersionInfo>& v, const fs::path& file,
                      const char* role) {
    if (v) {
      run.log_input_version(v->id, role);
    } else {
      run.log_input(file, role);
    }
  };
  if (!data.train_file.empty()) log_data(data_version, data.train_file, "train_data");
  for (std::size_t i = 0; i < data.chunk_files.size(); ++i)
    log_data(chunk_versions[i], data.chunk_files[i], "train_data");
  if (!data.eval_file.empty()) log_data(eval_version, data.eval_file, "eval_data");
  if (!command.config_file.empty()) run.log_input(command.config_file, "train_config");

  ProgressLine progress(config.log_every);
  std::vector<std::string> checkpoints;
  TrainCallbacks callbacks;
  callbacks.on_step = [&](const StepReport& r) {
    if (std::isfinite(r.loss)) run.log_metric("loss", r.loss, r.step);  // NaN: an empty DP batch
    run.log_metric("lr", r.lr, r.step);
    run.log_metric("grad_norm", r.grad_norm, r.step);
    run.log_metric("tokens_per_s", r.tokens_per_s, r.step);
    for (const auto& [key, value] : r.extra) run.log_metric(key, value, r.step);
    progress.step(r);
  };
  callbacks.on_eval = [&](std::int64_t step, const std::map<std::string, double>& metrics) {
    std::string line = fmt::format("eval at step {}:", step);
    for (const auto& [key, value] : metrics) {
      run.log_metric(key, value, step);
      line += fmt::format(" {} {:.4f}", key, value);
    }
    run.log_text(line + "\n");
    progress.note(line);
  };
  callbacks.on_checkpoint = [&](const fs::path& dir, std::int64_t step) {
    checkpoints.push_back(dir.string());
    run.log_params({{"checkpoints", checkpoints}});
    run.log_text(fmt::format("checkpoint at step {}: {}\n", step, dir.string()));
  };
  callbacks.on_message = [&](const std::string& text) {
    run.log_text(text + "\n");
    progress.note(text);
  };

  const StagingDir scratch = StagingDir::scratch(workspace->tmp_dir(), "train");
  const fs::path output = scratch.path() / "out";
  out.train = train(config, model.dir, data, output, callbacks, dist);
  run.log_metric("train/seconds", out.train.seconds, out.train.steps);
  run.log_metric("train/tokens", static_cast<double>(out.train.tokens), out.train.steps);
  run.log_params(
      {{"n_parameters", out.train.n_parameters}, {"n_trainable", out.train.n_trainable}});
  if (out.train.dp) run.log_params({{"dp", dp_summary(*out.train.dp)}});
  if (!out.train.token_cache_key.empty()) {
    run.log_params({{"token_cache",
                     {{"key", out.train.token_cache_key}, {"hit", out.train.token_cache_hit}}}});
  }
  if (out.train.interrupted) {
    const std::string why =
        fmt::format("interrupted at step {}; checkpoint {}; continue with --resume latest",
                    out.train.steps, out.train.last_checkpoint.string());
    progress.note(why);
    run.finish(store::RunStatus::kKilled, why);
    out.exit_code = 130;
    return out;
  }
  out.version = store::register_version(*workspace, {.kind = store::RegistryKind::kModel,
                                                     .name = config.out,
                                                     .source = output,
                                                     .from_run = run.id()});
  std::vector<std::string> tags = {"type=" + std::string(out.train.adapter ? "adapter" : "model"),
                                   "train=" + std::string(to_string(config.mode))};
  if (out.train.adapter)
    tags.push_back("base=" + (model.version ? model.version->ref() : model.dir.string()));
  out.version =
      store::set_tags(*workspace, store::RegistryKind::kModel, out.version.ref(), tags, {});
  run.log_output_version(out.version.id, out.train.adapter ? "adapter" : "model");
  run.finish(store::RunStatus::kFinished);
  return out;
}

}  // namespace enclave::train
