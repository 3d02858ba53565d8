// The stage graph of a PipelineSpec: a topological order, the stages one
// target needs, each stage's descendants, and the graph as text or
// Graphviz dot (`enclave pipeline dag`). Edges come from spec.h (deps on
// another stage's outputs and ${stages...} references); load_pipeline has
// already refused cycles.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "pipeline/spec.h"

namespace enclave::pipeline {

// Stages so that each comes after everything it needs; ties by name.
std::vector<std::string> topological_order(const PipelineSpec& spec);

// target and every stage it needs, transitively. Error(kNotFound) naming
// the stages there are for an unknown target.
std::set<std::string> stages_needed(const PipelineSpec& spec, const std::string& target);

// Every stage that needs stage, transitively (stage itself excluded).
std::set<std::string> descendants(const PipelineSpec& spec, const std::string& stage);

nlohmann::json dag_json(const PipelineSpec& spec);
std::string format_dag(const PipelineSpec& spec);
std::string dag_dot(const PipelineSpec& spec);

}  // namespace enclave::pipeline
