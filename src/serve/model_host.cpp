#include "serve/model_host.h"

#include "core/error.h"
#include "model/lora.h"
#include "store/model_ref.h"
#include "store/names.h"
#include "store/registry.h"
#include "store/workspace.h"

namespace enclave::serve {
namespace {

struct Source {
  std::filesystem::path dir;
  std::string id;
  std::string version;
  std::optional<std::int64_t> version_id;
};

Source resolve(const std::string& ref, const std::string& workspace, bool registry_only) {
  Source s;
  if (!registry_only && std::filesystem::is_directory(ref)) {
    store::refuse_ambiguous_folder(ref, {.workspace = workspace});
    s.dir = std::filesystem::absolute(ref).lexically_normal();
    s.id = s.dir.filename().string();
    if (s.id.empty()) s.id = s.dir.parent_path().filename().string();
    // The folder's name, not its path: /health and /v1/models are public
    // and must not tell clients where the server keeps its files.
    s.version = s.id;
    return s;
  }
  std::unique_ptr<store::Workspace> ws = store::Workspace::open({.workspace = workspace});
  store::VersionInfo v = store::resolve_version(ws->db(), store::RegistryKind::kModel, ref);
  // A version naming a LoRA adapter serves its base with the adapter merged.
  s.dir = store::resolve_model_ref(
      v.ref(), {.find = {.workspace = workspace},
                .merge_adapter = [](const auto& base, const auto& adapter, const auto& out) {
                  merge_lora(base, adapter, out, "f32");
                }});
  s.id = v.name;
  s.version = v.ref();
  s.version_id = v.id;
  return s;
}

bool is_registry_ref(const std::string& ref) { return !std::filesystem::is_directory(ref); }

}  // namespace

ModelHost::ModelHost(ModelHostOptions options)
    : options_(std::move(options)), ref_(options_.model_ref) {
  for (const auto& [name, dir] : options_.adapters) {
    store::validate_name(name, "adapter name");
    if (!std::filesystem::is_directory(dir)) {
      fail(ErrorKind::kNotFound, "adapter '{}': {}: not a directory", name, dir.string());
    }
  }
  loaded_ = load(ref_, /*registry_only=*/false);
  if (options_.watch_seconds > 0 && is_registry_ref(ref_)) {
    watcher_ = std::thread([this] { watch_loop(); });
  }
}

ModelHost::~ModelHost() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  watch_cv_.notify_all();
  if (watcher_.joinable()) watcher_.join();
}

ModelHost::Loaded ModelHost::load(const std::string& ref, bool registry_only) const {
  Source source = resolve(ref, options_.workspace, registry_only);
  Loaded out;
  out.base = std::make_shared<LoadedModel>();
  out.base->id = source.id;
  out.base->version = source.version;
  out.base->version_id = source.version_id;
  // The base and every adapter in one decoder (S-LoRA): the weights and the
  // KV pool are shared, each sequence applies its own adapter.
  BatchDecoderOptions decoder_options = options_.decoder;
  decoder_options.adapter.clear();
  for (const auto& [name, dir] : options_.adapters) decoder_options.adapters.push_back(dir);
  std::shared_ptr<BatchDecoder> decoder =
      BatchDecoder::load(source.dir, options_.engine, decoder_options);
  out.base->decoder = decoder;
  int adapter_id = 0;
  for (const auto& [name, dir] : options_.adapters) {
    auto adapted = std::make_shared<LoadedModel>();
    adapted->id = name;
    adapted->version = source.version + "+" + name;
    adapted->version_id = source.version_id;
    if (auto ref = options_.adapter_refs.find(name); ref != options_.adapter_refs.end()) {
      std::unique_ptr<store::Workspace> ws =
          store::Workspace::open({.workspace = options_.workspace});
      const store::VersionInfo v =
          store::resolve_version(ws->db(), store::RegistryKind::kModel, ref->second);
      adapted->version = source.version + "+" + v.ref();
      adapted->adapter_version_id = v.id;
    }
    adapted->decoder = decoder;
    adapted->adapter = ++adapter_id;  // options_.adapters' order, as pushed above
    out.adapters[name] = std::move(adapted);
  }
  return out;
}

std::shared_ptr<LoadedModel> ModelHost::find(const std::string& name) const {
  std::lock_guard lock(mutex_);
  if (name.empty() || name == loaded_.base->id || name == ref_ || name == loaded_.base->version)
    return loaded_.base;
  auto it = loaded_.adapters.find(name);
  return it == loaded_.adapters.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<LoadedModel>> ModelHost::all() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<LoadedModel>> out{loaded_.base};
  for (const auto& [name, model] : loaded_.adapters) out.push_back(model);
  return out;
}

ReloadResult ModelHost::reload(const std::string& new_ref) {
  std::lock_guard reloading(reload_mutex_);
  std::string ref;
  {
    std::lock_guard lock(mutex_);
    ref = new_ref.empty() ? ref_ : new_ref;
  }
  // A new reference comes from a client: the registry only, never a path.
  Loaded fresh = load(ref, /*registry_only=*/!new_ref.empty());  // slow; the old models serve on
  ReloadResult result;
  {
    std::lock_guard lock(mutex_);
    result.previous = loaded_.base->version;
    result.current = fresh.base->version;
    result.changed = result.previous != result.current;
    loaded_ = std::move(fresh);
    ref_ = ref;
  }
  return result;
}

void ModelHost::on_watch_result(std::function<void(bool, const std::string&)> callback) {
  std::lock_guard lock(mutex_);
  watch_callback_ = std::move(callback);
}

std::optional<std::int64_t> ModelHost::current_registry_version(const std::string& ref) const {
  std::unique_ptr<store::Workspace> ws = store::Workspace::open({.workspace = options_.workspace});
  return store::resolve_version(ws->db(), store::RegistryKind::kModel, ref).id;
}

void ModelHost::watch_loop() {
  const auto interval = std::chrono::duration<double>(options_.watch_seconds);
  std::unique_lock lock(mutex_);
  while (!watch_cv_.wait_for(lock, interval, [&] { return stop_; })) {
    const std::string ref = ref_;
    const std::optional<std::int64_t> serving = loaded_.base->version_id;
    lock.unlock();
    bool ok = true;
    std::string message;
    bool attempted = false;
    try {
      if (current_registry_version(ref) != serving) {
        attempted = true;
        ReloadResult r = reload();
        message = fmt::format("reloaded {}: {} -> {}", ref, r.previous, r.current);
      }
    } catch (const std::exception& e) {
      attempted = true;
      ok = false;
      message = fmt::format("reload of {} failed: {}", ref, e.what());
    }
    lock.lock();
    if (attempted && watch_callback_) {
      auto callback = watch_callback_;
      lock.unlock();
      callback(ok, message);
      lock.lock();
    }
  }
}

}  // namespace enclave::serve
