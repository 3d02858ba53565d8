#include "pipeline/dag.h"

#include <fmt/format.h>

#include <map>

#include "core/error.h"

namespace enclave::pipeline {

std::vector<std::string> topological_order(const PipelineSpec& spec) {
  std::map<std::string, int> missing;  // edges not yet satisfied
  for (const Stage& s : spec.stages) missing[s.name] = static_cast<int>(s.after.size());
  std::vector<std::string> order;
  std::set<std::string> ready;
  for (const auto& [name, n] : missing) {
    if (n == 0) ready.insert(name);
  }
  while (!ready.empty()) {
    std::string next = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(next);
    for (const Stage& s : spec.stages) {
      for (const std::string& a : s.after) {
        if (a == next && --missing[s.name] == 0) ready.insert(s.name);
      }
    }
  }
  ENCLAVE_CHECK(order.size() == spec.stages.size());
  return order;
}

std::set<std::string> stages_needed(const PipelineSpec& spec, const std::string& target) {
  if (spec.find(target) == nullptr) {
    std::string names;
    for (const Stage& s : spec.stages) names += (names.empty() ? "" : ", ") + s.name;
    fail(ErrorKind::kNotFound, "{}: no stage '{}' (stages: {})", spec.file.string(), target, names);
  }
  std::set<std::string> out;
  std::vector<std::string> todo = {target};
  while (!todo.empty()) {
    std::string s = todo.back();
    todo.pop_back();
    if (!out.insert(s).second) continue;
    for (const std::string& a : spec.find(s)->after) todo.push_back(a);
  }
  return out;
}

std::set<std::string> descendants(const PipelineSpec& spec, const std::string& stage) {
  std::set<std::string> out;
  std::vector<std::string> todo = {stage};
  while (!todo.empty()) {
    std::string s = todo.back();
    todo.pop_back();
    for (const Stage& other : spec.stages) {
      for (const std::string& a : other.after) {
        if (a == s && out.insert(other.name).second) todo.push_back(other.name);
      }
    }
  }
  return out;
}

nlohmann::json dag_json(const PipelineSpec& spec) {
  nlohmann::json stages = nlohmann::json::array();
  for (const std::string& name : topological_order(spec)) {
    const Stage& s = *spec.find(name);
    nlohmann::json deps = nlohmann::json::array(), outs = nlohmann::json::array();
    for (const Artifact& d : s.deps) deps.push_back(d.text());
    for (const Artifact& o : s.outs) outs.push_back(o.text());
    stages.push_back({{"name", s.name},
                      {"after", s.after},
                      {"cmd", s.cmd},
                      {"deps", deps},
                      {"outs", outs},
                      {"approval", s.approval_required ? "required" : "none"},
                      {"cache", s.cache}});
  }
  nlohmann::json triggers = nlohmann::json::array();
  for (const Trigger& t : spec.triggers) triggers.push_back({{"id", t.id}, {"spec", t.spec}});
  return {{"pipeline", spec.name},
          {"file", spec.file.string()},
          {"params", spec.params},
          {"stages", stages},
          {"triggers", triggers}};
}

std::string format_dag(const PipelineSpec& spec) {
  std::string out = fmt::format("pipeline {} ({})\n", spec.name, spec.file.string());
  for (const std::string& name : topological_order(spec)) {
    const Stage& s = *spec.find(name);
    std::string after;
    for (const std::string& a : s.after) after += (after.empty() ? "" : ", ") + a;
    out += fmt::format("  {}{}{}\n", s.name, after.empty() ? "" : "  <- " + after,
                       s.approval_required ? "  [approval required]" : "");
  }
  for (const Trigger& t : spec.triggers) out += fmt::format("  on {}: {}\n", t.id, t.spec.dump());
  return out;
}

std::string dag_dot(const PipelineSpec& spec) {
  std::string out = fmt::format("digraph \"{}\" {{\n  rankdir=LR;\n", spec.name);
  for (const std::string& name : topological_order(spec)) {
    const Stage& s = *spec.find(name);
    out += fmt::format("  \"{}\"{};\n", s.name, s.approval_required ? " [shape=octagon]" : "");
    for (const std::string& a : s.after) out += fmt::format("  \"{}\" -> \"{}\";\n", a, s.name);
  }
  out += "}\n";
  return out;
}

}  // namespace enclave::pipeline
