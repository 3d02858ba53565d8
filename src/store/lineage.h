// Lineage: the graph of runs, registry versions and artifacts, walked
// upstream (what produced this: runs, their params, the datasets and base
// models they read, transitively) or downstream (everything derived from it).
// Edges come from runs' recorded inputs and outputs and from each version's
// producing run; a node met twice is shown once and then referred to.
// Thread safety: operates on one Db; see db.h.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "store/db.h"

namespace enclave::store {

enum class LineageDirection { kUp, kDown, kBoth };

struct LineageOptions {
  LineageDirection direction = LineageDirection::kBoth;
  std::string kind;    // "model", "dataset" or empty (try both) for a name reference
  int max_depth = 64;  // deeper nodes are cut off with "truncated": true
};

// ref: "run:12", an artifact digest "sha256:...", or a registry reference
// ("name", "name@3", "name:alias"; a deleted version by its name@3). Returns
// {root, upstream?: [...], downstream?: [...]}, each node {type, ..., role?,
// children: [...]}; a deleted version's node has "deleted": true, a purged
// (erased) version's node also "purged": true and "purged_at", and an
// artifact whose content gc or a purge reclaimed "purged": true.
// Throws Error(kNotFound) for an unknown ref, Error(kInvalidInput) for a
// name that is both a model and a dataset when kind is empty.
nlohmann::json lineage(Db& db, std::string_view ref, const LineageOptions& options = {});

struct LineageFormat {
  // Each run's parameters on its line. Off by default: a training run's
  // parameters run to thousands of characters (`--params` turns them on).
  bool params = false;
};

// The same as an indented tree. Sources (where a version was registered
// from) are shown only while that path still exists.
std::string format_lineage(const nlohmann::json& graph, const LineageFormat& format = {});

}  // namespace enclave::store
