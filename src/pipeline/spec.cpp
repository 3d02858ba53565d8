#include "pipeline/spec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <functional>

#include "core/error.h"
#include "core/file.h"
#include "core/yaml.h"
#include "pipeline/interpolate.h"
#include "store/clock.h"
#include "store/names.h"

namespace enclave::pipeline {
namespace fs = std::filesystem;
namespace {

// A value quoted in an error message; invalid UTF-8 from the file is shown
// as U+FFFD instead of making the message itself fail (found by fuzzing).
std::string shown(const nlohmann::json& v) {
  return v.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The line of a key path in block-style YAML (each key looked for below its
// parent's line, more indented); the nearest ancestor's line when a key sits
// in a flow mapping; 0 when not even the first key is found.
int line_of(const std::vector<std::string>& lines, const std::vector<std::string>& path) {
  int found = 0;
  std::size_t from = 0;
  int parent_indent = -1;
  for (const std::string& key : path) {
    bool hit = false;
    for (std::size_t i = from; i < lines.size(); ++i) {
      const std::string& line = lines[i];
      std::size_t first = line.find_first_not_of(' ');
      if (first == std::string::npos || line[first] == '#') continue;
      int indent = static_cast<int>(first);
      if (indent <= parent_indent && found > 0) break;  // left the parent's block
      std::string_view rest(line);
      rest.remove_prefix(first);
      if (rest.starts_with("- ")) {
        rest.remove_prefix(2);
        indent += 2;
      }
      for (const std::string& form : {key + ":", "\"" + key + "\":", "'" + key + "':"}) {
        if (rest.starts_with(form)) {
          hit = true;
          break;
        }
      }
      if (hit) {
        found = static_cast<int>(i) + 1;
        from = i + 1;
        parent_indent = indent;
        break;
      }
    }
    if (!hit) break;
  }
  return found;
}

class Reader {
 public:
  Reader(fs::path file, const std::string& text) : file_(std::move(file)) {
    std::size_t start = 0;
    while (start <= text.size()) {
      std::size_t nl = text.find('\n', start);
      lines_.push_back(text.substr(start, nl == std::string::npos ? nl : nl - start));
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }

  // Throws "FILE: FIELD (line N): REASON".
  template <typename... Args>
  [[noreturn]] void fail_at(const std::vector<std::string>& path, fmt::format_string<Args...> f,
                            Args&&... args) const {
    std::string field;
    for (const std::string& p : path) field += (field.empty() ? "" : ".") + p;
    const int line = line_of(lines_, path);
    std::string where = line > 0 ? fmt::format("{} (line {})", field, line) : field;
    if (field.empty()) where = line > 0 ? fmt::format("line {}", line) : "top level";
    fail_input("{}: {}: {}", file_.string(), where, fmt::format(f, std::forward<Args>(args)...));
  }

  void check_keys(const nlohmann::json& obj, const std::vector<std::string>& path,
                  std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, value] : obj.items()) {
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        std::string list;
        for (std::string_view a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        auto p = path;
        p.push_back(key);
        fail_at(p, "unknown key (expected one of: {})", list);
      }
    }
  }

  const nlohmann::json& object(const nlohmann::json& v,
                               const std::vector<std::string>& path) const {
    if (!v.is_object()) fail_at(path, "expected a mapping, got {}", type_name(v));
    return v;
  }

  std::string string(const nlohmann::json& v, const std::vector<std::string>& path) const {
    if (!v.is_string()) fail_at(path, "expected a string, got {}", type_name(v));
    return v.get<std::string>();
  }

  std::int64_t positive(const nlohmann::json& v, const std::vector<std::string>& path) const {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1)
      fail_at(path, "expected a positive integer, got {}", shown(v));
    return v.get<std::int64_t>();
  }

  std::vector<std::string> strings(const nlohmann::json& v,
                                   const std::vector<std::string>& path) const {
    if (v.is_string()) return {v.get<std::string>()};
    if (!v.is_array()) fail_at(path, "expected a list of strings, got {}", type_name(v));
    std::vector<std::string> out;
    for (const auto& item : v) {
      if (!item.is_string()) fail_at(path, "expected a list of strings, found {}", shown(item));
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  static std::string type_name(const nlohmann::json& v) {
    if (v.is_null()) return "nothing";
    if (v.is_object()) return "a mapping";
    if (v.is_array()) return "a list";
    if (v.is_string()) return "a string";
    if (v.is_boolean()) return "a boolean";
    return "a number";
  }

  const fs::path& file() const { return file_; }

 private:
  fs::path file_;
  std::vector<std::string> lines_;
};

bool valid_stage_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
  });
}

Artifact parse_artifact(const Reader& r, const std::string& text, bool out,
                        const std::vector<std::string>& path) {
  Artifact a;
  if (text.empty()) r.fail_at(path, "empty entry");
  std::string_view t(text);
  if (t.starts_with("model:")) {
    a.kind = Artifact::Kind::kModel;
    a.ref = text.substr(6);
  } else if (t.starts_with("dataset:")) {
    a.kind = Artifact::Kind::kDataset;
    a.ref = text.substr(8);
  } else {
    a.ref = text;
    return a;
  }
  try {
    if (out) {
      store::validate_name(a.ref, "name");
    } else {
      store::parse_version_ref(a.ref, "reference");
    }
  } catch (const Error& e) {
    r.fail_at(
        path, "'{}': {}{}", text, e.what(),
        out ? " (an output names what the command registers: model:NAME or dataset:NAME)" : "");
  }
  return a;
}

void set_dotted(nlohmann::json& params, const std::string& key, nlohmann::json value) {
  nlohmann::json* at = &params;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = key.find('.', start);
    std::string part = key.substr(start, dot == std::string::npos ? dot : dot - start);
    if (part.empty()) fail_input("--param {}: empty key part", key);
    if (!at->is_object()) *at = nlohmann::json::object();
    if (dot == std::string::npos) {
      (*at)[part] = std::move(value);
      return;
    }
    at = &(*at)[part];
    start = dot + 1;
  }
}

void merge_into(nlohmann::json& base, const nlohmann::json& over) {
  for (const auto& [k, v] : over.items()) {
    if (v.is_object() && base.contains(k) && base[k].is_object()) {
      merge_into(base[k], v);
    } else {
      base[k] = v;
    }
  }
}

// DFS over the `after` edges; throws naming the cycle.
void check_acyclic(const Reader& r, const std::vector<Stage>& stages) {
  std::map<std::string, const Stage*> by_name;
  for (const Stage& s : stages) by_name[s.name] = &s;
  std::map<std::string, int> state;  // 0 new, 1 on the path, 2 done
  std::vector<std::string> path;
  std::function<void(const Stage&)> visit = [&](const Stage& s) {
    state[s.name] = 1;
    path.push_back(s.name);
    for (const std::string& next : s.after) {
      if (state[next] == 1) {
        std::string cycle;
        auto from = std::find(path.begin(), path.end(), next);
        for (auto it = from; it != path.end(); ++it) cycle += *it + " -> ";
        r.fail_at({"stages", s.name}, "dependency cycle: {}{}", cycle, next);
      }
      if (state[next] == 0) visit(*by_name.at(next));
    }
    path.pop_back();
    state[s.name] = 2;
  };
  for (const Stage& s : stages) {
    if (state[s.name] == 0) visit(s);
  }
}

std::vector<Trigger> parse_triggers(const Reader& r, const nlohmann::json& on) {
  std::vector<Trigger> out;
  r.object(on, {"on"});
  r.check_keys(on, {"on"},
               {"feedback", "dataset", "model_alias", "schedule", "pipeline", "monitor"});
  auto each = [&](const std::string& key,
                  const std::function<void(const nlohmann::json&, std::vector<std::string>)>& fn) {
    if (!on.contains(key)) return;
    const nlohmann::json& v = on[key];
    if (v.is_array()) {
      if (v.empty()) r.fail_at({"on", key}, "empty list");
      for (std::size_t i = 0; i < v.size(); ++i) fn(v[i], {"on", key, std::to_string(i)});
    } else {
      fn(v, {"on", key});
    }
  };
  each("feedback", [&](const nlohmann::json& v, std::vector<std::string> p) {
    r.object(v, p);
    r.check_keys(v, p, {"new"});
    if (!v.contains("new")) r.fail_at(p, "missing 'new' (feedback rows that start a run)");
    Trigger t{.kind = Trigger::Kind::kFeedback, .id = "feedback", .spec = v};
    p.push_back("new");
    t.threshold = r.positive(v["new"], p);
    out.push_back(t);
  });
  each("dataset", [&](const nlohmann::json& v, std::vector<std::string> p) {
    r.object(v, p);
    r.check_keys(v, p, {"name", "new_versions", "new_rows"});
    if (!v.contains("name")) r.fail_at(p, "missing 'name' (the dataset to watch)");
    Trigger t{.kind = Trigger::Kind::kDataset, .spec = v};
    t.name = r.string(v["name"], {p[0], p[1], "name"});
    try {
      store::validate_name(t.name, "dataset name");
    } catch (const Error& e) {
      r.fail_at(p, "{}", e.what());
    }
    if (v.contains("new_versions") == v.contains("new_rows"))
      r.fail_at(p, "give exactly one of new_versions and new_rows");
    t.rows = v.contains("new_rows");
    t.threshold = r.positive(v[t.rows ? "new_rows" : "new_versions"], p);
    t.id = "dataset:" + t.name;
    out.push_back(t);
  });
  each("model_alias", [&](const nlohmann::json& v, std::vector<std::string> p) {
    r.object(v, p);
    r.check_keys(v, p, {"name", "alias"});
    if (!v.contains("name") || !v.contains("alias"))
      r.fail_at(p, "needs 'name' and 'alias' (the alias whose moves start a run)");
    Trigger t{.kind = Trigger::Kind::kModelAlias, .spec = v};
    t.name = r.string(v["name"], p);
    t.alias = r.string(v["alias"], p);
    try {
      store::validate_name(t.name, "model name");
      store::validate_name(t.alias, "alias");
    } catch (const Error& e) {
      r.fail_at(p, "{}", e.what());
    }
    t.id = "model_alias:" + t.name + ":" + t.alias;
    out.push_back(t);
  });
  each("schedule", [&](const nlohmann::json& v, std::vector<std::string> p) {
    Trigger t{.kind = Trigger::Kind::kSchedule, .spec = v};
    std::string text = r.string(v, p);
    try {
      t.schedule = parse_cron(text, "cron");
    } catch (const Error& e) {
      r.fail_at(p, "{}", e.what());
    }
    t.id = "schedule:" + text;
    out.push_back(t);
  });
  each("pipeline", [&](const nlohmann::json& v, std::vector<std::string> p) {
    r.object(v, p);
    r.check_keys(v, p, {"name", "status"});
    if (!v.contains("name"))
      r.fail_at(p, "missing 'name' (the pipeline whose runs start this one)");
    Trigger t{.kind = Trigger::Kind::kPipeline, .spec = v};
    t.name = r.string(v["name"], p);
    t.status = v.contains("status") ? r.string(v["status"], p) : "succeeded";
    if (t.status != "succeeded" && t.status != "failed" && t.status != "any")
      r.fail_at({p[0], p[1], "status"}, "'{}' is not succeeded, failed or any", t.status);
    t.id = "pipeline:" + t.name;
    out.push_back(t);
  });
  if (on.contains("monitor")) {
    // An alert rule (monitor/alerts.h); the metric's name and the numbers
    // are checked where rules are evaluated, the shape here.
    Trigger t{.kind = Trigger::Kind::kMonitor, .id = "monitor", .spec = on["monitor"]};
    const std::vector<std::string> p = {"on", "monitor"};
    r.object(on["monitor"], p);
    r.check_keys(on["monitor"], p,
                 {"metric", "window", "above", "below", "threshold", "direction", "model"});
    for (const char* key : {"metric", "window"}) {
      if (!on["monitor"].contains(key)) r.fail_at(p, "missing '{}'", key);
      r.string(on["monitor"][key], {"on", "monitor", key});
    }
    out.push_back(t);
  }
  std::set<std::string> ids;
  for (const Trigger& t : out) {
    if (!ids.insert(t.id).second) r.fail_at({"on"}, "trigger {} is given twice", t.id);
  }
  return out;
}

}  // namespace

std::string Artifact::text() const {
  switch (kind) {
    case Kind::kModel:
      return "model:" + ref;
    case Kind::kDataset:
      return "dataset:" + ref;
    case Kind::kFile:
      break;
  }
  return ref;
}

std::string Artifact::out_name() const { return ref; }

const Stage* PipelineSpec::find(std::string_view stage) const {
  for (const Stage& s : stages) {
    if (s.name == stage) return &s;
  }
  return nullptr;
}

double parse_duration(const std::string& text, const std::string& field) {
  return store::parse_duration(text, field);
}

PipelineSpec load_pipeline(const fs::path& file, const std::vector<std::string>& overrides) {
  PipelineSpec spec;
  std::error_code ec;
  spec.file = fs::absolute(file, ec).lexically_normal();
  spec.dir = spec.file.parent_path();
  const std::string text = read_file(spec.file, 16u << 20);
  const Reader r(file, text);
  const nlohmann::json doc = parse_yaml(text, file.string());
  if (!doc.is_object()) fail_input("{}: expected a mapping with name and stages", file.string());
  r.check_keys(doc, {}, {"name", "description", "params", "params_file", "stages", "on"});
  if (!doc.contains("name")) r.fail_at({"name"}, "missing (every pipeline has a name)");
  spec.name = r.string(doc["name"], {"name"});
  try {
    store::validate_name(spec.name, "pipeline name");
  } catch (const Error& e) {
    r.fail_at({"name"}, "{}", e.what());
  }

  if (doc.contains("params_file")) {
    const fs::path pf = spec.dir / r.string(doc["params_file"], {"params_file"});
    nlohmann::json from_file = read_yaml_file(pf);
    if (!from_file.is_object())
      r.fail_at({"params_file"}, "{} is not a mapping of parameters", pf.string());
    spec.params = from_file;
  }
  if (doc.contains("params")) merge_into(spec.params, r.object(doc["params"], {"params"}));
  for (const std::string& o : overrides) {
    std::size_t eq = o.find('=');
    if (eq == std::string::npos || eq == 0) fail_input("--param '{}': expected KEY=VALUE", o);
    nlohmann::json value = o.substr(eq + 1);
    try {
      nlohmann::json parsed = parse_yaml(o.substr(eq + 1), "--param");
      if (parsed.is_primitive() && !parsed.is_null()) value = parsed;
    } catch (const Error&) {
      // Not a YAML scalar: the text as it is.
    }
    set_dotted(spec.params, o.substr(0, eq), value);
  }

  if (!doc.contains("stages")) r.fail_at({"stages"}, "missing (a pipeline has at least one stage)");
  const nlohmann::json& stages = r.object(doc["stages"], {"stages"});
  if (stages.empty()) r.fail_at({"stages"}, "no stages");
  // Mappings come back sorted by key, so stages are listed by name.
  for (const auto& [name, body] : stages.items()) {
    const std::vector<std::string> p = {"stages", name};
    if (!valid_stage_name(name))
      r.fail_at(p, "stage names use letters, digits, '_' and '-' (at most 64)");
    r.object(body, p);
    r.check_keys(body, p,
                 {"cmd", "deps", "outs", "params", "approval", "cache", "desc", "description"});
    Stage s;
    s.name = name;
    s.definition = body;
    nlohmann::json params = spec.params;
    if (body.contains("params"))
      merge_into(params, r.object(body["params"], {"stages", name, "params"}));
    auto subst = [&](const std::string& in, const std::vector<std::string>& field,
                     bool allow_stages) {
      try {
        return substitute_params(in, params, allow_stages, s.params_used);
      } catch (const Error& e) {
        r.fail_at(field, "{}", e.what());
      }
    };
    if (!body.contains("cmd")) r.fail_at({"stages", name, "cmd"}, "missing (the command to run)");
    s.cmd = subst(r.string(body["cmd"], {"stages", name, "cmd"}), {"stages", name, "cmd"}, true);
    if (split_command(s.cmd).empty()) r.fail_at({"stages", name, "cmd"}, "empty command");
    for (const char* key : {"deps", "outs"}) {
      if (!body.contains(key)) continue;
      const std::vector<std::string> field = {"stages", name, key};
      for (const std::string& item : r.strings(body[key], field)) {
        Artifact a = parse_artifact(r, subst(item, field, false), key[0] == 'o', field);
        (key[0] == 'd' ? s.deps : s.outs).push_back(a);
      }
    }
    if (body.contains("approval")) {
      std::string a = r.string(body["approval"], {"stages", name, "approval"});
      if (a != "required" && a != "none")
        r.fail_at({"stages", name, "approval"}, "'{}' is not required or none", a);
      s.approval_required = a == "required";
    }
    if (body.contains("cache")) {
      const nlohmann::json& c = body["cache"];
      const std::vector<std::string> field = {"stages", name, "cache"};
      if (c.is_boolean()) {
        s.cache = c.get<bool>();
      } else if (c.is_object()) {
        r.check_keys(c, field, {"max_age"});
        if (c.contains("max_age")) {
          try {
            s.cache_max_age_seconds = parse_duration(
                c["max_age"].is_string() ? c["max_age"].get<std::string>() : shown(c["max_age"]),
                "max_age");
          } catch (const Error& e) {
            r.fail_at({"stages", name, "cache", "max_age"}, "{}", e.what());
          }
        }
      } else {
        r.fail_at(field, "expected true, false or {{max_age: 7d}}, got {}", Reader::type_name(c));
      }
    }
    spec.stages.push_back(std::move(s));
  }

  // Edges: a dependency another stage produces, and ${stages.S.outs.N}.
  std::map<std::string, std::string> producer;  // out text -> stage
  for (const Stage& s : spec.stages) {
    for (const Artifact& o : s.outs) {
      std::string key = o.kind == Artifact::Kind::kFile
                            ? (spec.dir / o.ref).lexically_normal().string()
                            : o.text();
      auto [it, fresh] = producer.emplace(key, s.name);
      if (!fresh)
        r.fail_at({"stages", s.name, "outs"}, "{} is also an output of stage {}", o.text(),
                  it->second);
    }
  }
  for (Stage& s : spec.stages) {
    std::set<std::string> after;
    for (const Artifact& d : s.deps) {
      std::string key = d.kind == Artifact::Kind::kFile
                            ? (spec.dir / d.ref).lexically_normal().string()
                            : d.text();
      auto it = producer.find(key);
      if (it == producer.end()) continue;
      if (it->second == s.name)
        r.fail_at({"stages", s.name, "deps"}, "dependency cycle: {} depends on its own output {}",
                  s.name, d.text());
      after.insert(it->second);
    }
    for (const StageRef& ref : stage_refs(s.cmd)) {
      const Stage* other = spec.find(ref.stage);
      if (other == nullptr)
        r.fail_at({"stages", s.name, "cmd"}, "${{stages.{}.outs.{}}}: no stage named '{}'",
                  ref.stage, ref.out, ref.stage);
      if (std::none_of(other->outs.begin(), other->outs.end(),
                       [&](const Artifact& o) { return o.out_name() == ref.out; })) {
        r.fail_at({"stages", s.name, "cmd"}, "${{stages.{}.outs.{}}}: stage {} has no output '{}'",
                  ref.stage, ref.out, ref.stage, ref.out);
      }
      if (ref.stage == s.name)
        r.fail_at({"stages", s.name, "cmd"}, "dependency cycle: {} names its own output", s.name);
      after.insert(ref.stage);
    }
    s.after.assign(after.begin(), after.end());
  }
  check_acyclic(r, spec.stages);
  if (doc.contains("on")) spec.triggers = parse_triggers(r, doc["on"]);
  for (Trigger& t : spec.triggers) {
    if (t.kind == Trigger::Kind::kMonitor) t.name = spec.name;  // names its alert rule
  }
  return spec;
}

}  // namespace enclave::pipeline
