// ModelHost: the models a server answers with, and hot reload. The base is a
// model reference (a directory, or a registry "name", "name@3",
// "name:alias"); each adapter is a PEFT directory served on top of it under
// its own name, all in one batch decoder (base weights and KV pool shared,
// each sequence applying its own adapter). A reload resolves the reference again (an alias may have
// moved), loads the new version completely, then swaps it in; requests
// already running keep the model they started on (scheduler.h), so nothing
// in flight is dropped. A watcher thread can poll a registry reference and
// reload when it points at another version.
// Thread safety: all methods may be called from any thread.
#pragma once

#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "model/batch_decoder.h"
#include "serve/scheduler.h"

namespace enclave::serve {

struct ModelHostOptions {
  std::string model_ref;
  std::map<std::string, std::filesystem::path> adapters;  // name -> PEFT directory
  // name -> the registry reference the directory came from: the served
  // version reads "base@N+adapter@M" and requests carry the adapter's row.
  std::map<std::string, std::string> adapter_refs;
  std::string workspace;  // --workspace for registry references ("" = search)
  EngineOptions engine;
  BatchDecoderOptions decoder;  // n_slots, max_len, pool; the adapters are added
  double watch_seconds = 0;     // > 0: poll a registry reference this often
};

struct ReloadResult {
  std::string previous;  // version strings
  std::string current;
  bool changed = false;
};

class ModelHost {
 public:
  // Loads the base and every adapter. Throws like BatchDecoder::load and
  // store::resolve_version; Error(kInvalidInput) for a bad adapter name.
  explicit ModelHost(ModelHostOptions options);
  ~ModelHost();
  ModelHost(const ModelHost&) = delete;
  ModelHost& operator=(const ModelHost&) = delete;

  // The model a request names: "" or the base's id (or the reference as
  // given) -> the base; an adapter's name -> that adapter; else nullptr.
  std::shared_ptr<LoadedModel> find(const std::string& name) const;
  // The base and the adapters, base first.
  std::vector<std::shared_ptr<LoadedModel>> all() const;

  // Resolves model_ref (or the new reference, when given) again and loads
  // it with the adapters; throws (and keeps the old models) on failure. A
  // new reference is looked up in the registry only, never as a directory
  // (it comes from a client: a path would load anything on disk).
  ReloadResult reload(const std::string& new_ref = "");

  // Called after each reload attempt by the watcher (ok, message).
  void on_watch_result(std::function<void(bool, const std::string&)> callback);

 private:
  struct Loaded {
    std::shared_ptr<LoadedModel> base;
    std::map<std::string, std::shared_ptr<LoadedModel>> adapters;
  };
  Loaded load(const std::string& ref, bool registry_only) const;
  std::optional<std::int64_t> current_registry_version(const std::string& ref) const;
  void watch_loop();

  ModelHostOptions options_;
  mutable std::mutex mutex_;
  Loaded loaded_;
  std::string ref_;
  std::mutex reload_mutex_;  // one reload at a time
  std::function<void(bool, const std::string&)> watch_callback_;
  std::condition_variable watch_cv_;
  bool stop_ = false;
  std::thread watcher_;
};

}  // namespace enclave::serve
