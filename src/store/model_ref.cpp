#include "store/model_ref.h"

#include <fmt/format.h>

#include <memory>
#include <system_error>

#include "core/error.h"
#include "core/file.h"
#include "core/hash.h"
#include "core/json.h"
#include "core/staging_dir.h"
#include "store/artifacts.h"
#include "store/names.h"

namespace enclave::store {
namespace {

namespace fs = std::filesystem;

constexpr int kMaxDepth = 8;
constexpr const char* kAdapterConfig = "adapter_config.json";

bool is_adapter_folder(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / kAdapterConfig, ec) && !fs::exists(dir / "config.json", ec);
}

// A plain folder can change under the same path, so its key covers each
// file's size and modification time too.
std::string folder_key(const fs::path& dir) {
  std::string text = dir.string();
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (!entry.is_regular_file(ec)) continue;
    text += fmt::format("\n{} {} {}", entry.path().filename().string(), entry.file_size(ec),
                        entry.last_write_time(ec).time_since_epoch().count());
  }
  return "dir:" + sha256_hex(text);
}

std::string adapter_base_field(const fs::path& dir) {
  const fs::path file = dir / kAdapterConfig;
  const nlohmann::json config = parse_json(read_file(file), file.string());
  const auto it = config.find("base_model_name_or_path");
  return it != config.end() && it->is_string() ? it->get<std::string>() : "";
}

class Unfolder {
 public:
  explicit Unfolder(const ResolveOptions& options) : options_(options) {}

  Workspace& workspace(const std::string& ref) {
    if (workspace_) return *workspace_;
    try {
      workspace_ = Workspace::open(options_.find);
    } catch (const Error& e) {
      if (e.kind() != ErrorKind::kNotFound) throw;
      fail(ErrorKind::kNotFound, "model '{}': not a folder, and no workspace to look it up in ({})",
           printable(ref), e.what());
    }
    return *workspace_;
  }

  void unfold(const std::string& ref, ModelStack& stack, int depth) {
    if (depth > kMaxDepth)
      fail_input("model '{}': adapters stacked more than {} deep", printable(ref), kMaxDepth);
    if (ref.empty()) fail_input("model reference is empty");
    std::error_code ec;
    if (fs::is_directory(ref, ec)) {
      refuse_ambiguous_folder(ref, options_.find);
      const fs::path dir = fs::absolute(ref).lexically_normal();
      if (is_adapter_folder(dir)) {
        const std::string base = adapter_base_field(dir);
        if (base.empty()) {
          fail_input(
              "{}: a LoRA adapter whose {} names no base_model_name_or_path; give the "
              "base model with --model and this folder with --adapter",
              dir.string(), kAdapterConfig);
        }
        unfold_base(base, dir.string(), stack, depth);
        push_adapter(stack, dir, dir.string(), folder_key(dir));
        return;
      }
      stack.base = dir;
      stack.base_ref = dir.string();
      stack.base_key = folder_key(dir);
      return;
    }
    if (ref.find('/') != std::string::npos || ref.front() == '.' || ref.front() == '~')
      fail(ErrorKind::kNotFound, "{}: no such model folder", ref);
    Workspace& ws = workspace(ref);
    const VersionInfo v = resolve_version(ws.db(), RegistryKind::kModel, ref);
    if (depth == 0) stack.version = v;
    const fs::path path = checkout_artifact(ws, v.artifact, {.verify = options_.verify});
    const auto type = v.tags.find("type");
    const bool adapter = type != v.tags.end() ? type->second == "adapter" : is_adapter_folder(path);
    if (!adapter) {
      stack.base = path;
      stack.base_ref = v.ref();
      stack.base_key = v.artifact;
      return;
    }
    const auto tag = v.tags.find("base");
    std::string base = tag != v.tags.end() ? tag->second : "";
    if (base.empty() && fs::exists(path / kAdapterConfig)) base = adapter_base_field(path);
    if (base.empty()) {
      fail_input(
          "model {} is a LoRA adapter with no base model recorded; tag it with its base: "
          "enclave models tag {} base=MODEL@VERSION",
          v.ref(), v.ref());
    }
    unfold_base(base, v.ref(), stack, depth);
    push_adapter(stack, path, v.ref(), v.artifact);
  }

 private:
  void unfold_base(const std::string& base, const std::string& adapter, ModelStack& stack,
                   int depth) {
    try {
      unfold(base, stack, depth + 1);
    } catch (const Error& e) {
      fail(e.kind(), "model {} is a LoRA adapter of {}: {}", adapter, base, e.what());
    }
  }

  static void push_adapter(ModelStack& stack, const fs::path& path, std::string ref,
                           std::string key) {
    stack.adapters.push_back(path);
    stack.adapter_refs.push_back(std::move(ref));
    stack.adapter_keys.push_back(std::move(key));
  }

  const ResolveOptions& options_;
  std::unique_ptr<Workspace> workspace_;
};

// base with adapter folded in, built once per content key.
fs::path merged_folder(Workspace& ws, const fs::path& base, const fs::path& adapter,
                       const std::string& key, const AdapterMerger& merge) {
  const fs::path out = ws.checkout_root() / ("merged-" + sha256_hex(key).substr(0, 32));
  std::error_code ec;
  if (fs::is_regular_file(out / "config.json", ec)) return out;
  // Locked while the fold runs, so `store gc` leaves it alone (store/gc.h).
  const StagingDir staging = StagingDir::scratch(ws.tmp_dir(), "merge");
  merge(base, adapter, staging.path() / "model");
  fs::create_directories(ws.checkout_root());
  fs::rename(staging.path() / "model", out, ec);  // another process may have won the race
  if (ec && !fs::is_regular_file(out / "config.json"))
    fail(ErrorKind::kIo, "{}: cannot move the merged model into place: {}", out.string(),
         ec.message());
  return out;
}

struct AdapterLayer {
  fs::path path;
  std::string ref;
  std::string key;
};

// An adapter given on its own (--adapter): its folder, whatever its base.
AdapterLayer resolve_adapter_layer(const std::string& ref, const ResolveOptions& options) {
  std::error_code ec;
  if (!ref.empty() && fs::is_directory(ref, ec)) {
    const fs::path dir = fs::absolute(ref).lexically_normal();
    if (!fs::is_regular_file(dir / kAdapterConfig, ec)) {
      fail(ErrorKind::kNotFound, "adapter '{}': the folder has no {} (not a LoRA adapter)",
           printable(ref), kAdapterConfig);
    }
    return {dir, dir.string(), folder_key(dir)};
  }
  ModelStack stack = resolve_model_stack(ref, options);
  if (stack.adapters.empty()) {
    fail_input("adapter '{}': {} is a full model, not a LoRA adapter (no {})", printable(ref),
               stack.base_ref, kAdapterConfig);
  }
  return {stack.adapters.back(), stack.adapter_refs.back(), stack.adapter_keys.back()};
}

}  // namespace

void refuse_ambiguous_folder(const std::string& ref, const FindOptions& find) {
  if (ref.find_first_of("/@:") != std::string::npos || ref.front() == '.' || ref.front() == '~')
    return;  // a path, or a registry reference with a version or alias
  std::unique_ptr<Workspace> ws;
  try {
    ws = Workspace::open(find);
    resolve_version(ws->db(), RegistryKind::kModel, ref);
  } catch (const Error& e) {
    if (e.kind() == ErrorKind::kNotFound || e.kind() == ErrorKind::kInvalidInput) return;
    throw;
  }
  fail_input(
      "model '{}' names both the folder ./{} and the registered model {}: write ./{} for the "
      "folder or {}@latest for the registered model",
      printable(ref), ref, ref, ref, ref);
}

std::string ModelStack::describe() const {
  std::string out = base_ref;
  for (const std::string& a : adapter_refs) out += " + adapter " + a;
  return out;
}

ModelStack resolve_model_stack(const std::string& ref, const ResolveOptions& options) {
  Unfolder unfolder(options);
  ModelStack stack;
  unfolder.unfold(ref, stack, 0);
  return stack;
}

fs::path resolve_adapter_ref(const std::string& ref, const ResolveOptions& options) {
  return resolve_adapter_layer(ref, options).path;
}

ResolvedModel resolve_model(const ModelRequest& request, const ResolveOptions& options) {
  ModelStack stack = resolve_model_stack(request.model, options);
  if (!request.adapter.empty()) {
    AdapterLayer top = resolve_adapter_layer(request.adapter, options);
    stack.adapters.push_back(std::move(top.path));
    stack.adapter_refs.push_back(std::move(top.ref));
    stack.adapter_keys.push_back(std::move(top.key));
  }
  ResolvedModel out;
  out.version = stack.version;
  out.description = stack.describe();
  out.dir = stack.base;
  const std::size_t n = stack.adapters.size();
  const std::size_t n_fold = n > request.max_unmerged ? n - request.max_unmerged : 0;
  if (n_fold > 0) {
    if (!options.merge_adapter) {
      fail(ErrorKind::kUnsupported, "model '{}' is {}; this command cannot apply an adapter",
           printable(request.model), stack.describe());
    }
    std::unique_ptr<Workspace> ws;
    try {
      ws = Workspace::open(options.find);
    } catch (const Error& e) {
      fail(e.kind(), "model '{}' is {}: merging the adapter needs a workspace ({})",
           printable(request.model), stack.describe(), e.what());
    }
    std::string key = stack.base_key;
    for (std::size_t i = 0; i < n_fold; ++i) {
      key += "\n" + stack.adapter_keys[i];
      out.dir = merged_folder(*ws, out.dir, stack.adapters[i], key, options.merge_adapter);
    }
  }
  if (n > n_fold) out.adapter = stack.adapters.back();
  return out;
}

fs::path resolve_model_ref(const std::string& ref, const ResolveOptions& options) {
  return resolve_model({.model = ref, .max_unmerged = 0}, options).dir;
}

}  // namespace enclave::store
