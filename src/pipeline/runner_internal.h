// pipeline/runner_internal: what runner.cpp (run bookkeeping: cache keys,
// plans, resume and approval) and stage_execution.cpp (executing one run's
// stages in dependency order) share. Internal to src/pipeline.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "pipeline/executor.h"
#include "pipeline/run_state.h"
#include "pipeline/spec.h"
#include "store/registry.h"
#include "store/workspace.h"

namespace enclave::pipeline::detail {

using Outs = std::map<std::string, std::map<std::string, std::string>>;

inline store::RegistryKind registry_kind(Artifact::Kind kind) {
  return kind == Artifact::Kind::kModel ? store::RegistryKind::kModel
                                        : store::RegistryKind::kDataset;
}

struct ResolvedDep {
  Artifact artifact;
  std::string ref;  // files: the path; registry: the exact version "name@3"
  std::string digest;
  std::optional<std::int64_t> version_id;
};

struct CacheDecision {
  bool hit = false;
  std::string reason;
  nlohmann::json inputs;
  std::string key;
  nlohmann::json outs;
  std::optional<std::int64_t> store_run;
};

struct Context {
  const PipelineSpec* spec = nullptr;
  std::filesystem::path root;
  std::int64_t run_id = 0;
  Executor* executor = nullptr;
  std::function<void(const std::string&)> progress;
  std::set<std::string> forced;
  std::filesystem::path exe;

  void say(const std::string& line) const {
    if (progress) progress(fmt::format("[{}] {}", spec->name, line));
  }
};

// The producer's exact output where a dep names what an upstream stage made.
std::vector<ResolvedDep> resolve_deps(store::Workspace& ws, const Context& ctx, const Stage& stage,
                                      const Outs& outs);
CacheDecision check_cache(store::Workspace& ws, const Context& ctx, const Stage& stage,
                          const std::string& cmd, const std::vector<ResolvedDep>& deps);
void put_cache(store::Workspace& ws, const Context& ctx, const Stage& stage, const CacheDecision& c,
               const nlohmann::json& outs, std::int64_t store_run);

// The scheduler: the run's stage rows are loaded, stages whose needs are
// met start (up to jobs at once), and every change is written as it happens.
RunRecord drive(const Context& ctx, int jobs);

}  // namespace enclave::pipeline::detail
