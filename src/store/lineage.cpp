#include "store/lineage.h"

#include <fmt/format.h>

#include <filesystem>
#include <set>

#include "core/error.h"
#include "store/artifacts.h"
#include "store/clock.h"
#include "store/names.h"
#include "store/registry.h"
#include "store/run_query.h"

namespace enclave::store {
namespace {

// A node is a run id, a registry version id or an artifact digest.
struct NodeId {
  enum class Type { kRun, kVersion, kArtifact } type;
  std::int64_t id = 0;
  std::string digest = "";
  std::string role = "";  // the edge's role as recorded by the run ("train_data")

  std::string key() const {
    switch (type) {
      case Type::kRun:
        return fmt::format("run:{}", id);
      case Type::kVersion:
        return fmt::format("version:{}", id);
      case Type::kArtifact:
        return digest;
    }
    return "";
  }
};

class Walker {
 public:
  Walker(Db& db, int max_depth) : db_(db), max_depth_(max_depth) {}

  nlohmann::json describe(const NodeId& n) {
    nlohmann::json j;
    if (n.type == NodeId::Type::kRun) {
      Statement q(db_, "SELECT kind, name, status, started_at, params FROM runs WHERE id = ?1");
      q.bind(1, n.id);
      if (!q.step()) fail(ErrorKind::kNotFound, "run {} not found in this workspace", n.id);
      j = {{"type", "run"},     {"id", n.id},          {"kind", q.text(0)},
           {"name", q.text(1)}, {"status", q.text(2)}, {"started_at", format_time(q.real(3))}};
      nlohmann::json params = nlohmann::json::parse(q.text(4), nullptr, false);
      j["params"] = params.is_discarded() ? nlohmann::json::object() : params;
    } else if (n.type == NodeId::Type::kVersion) {
      Statement q(db_,
                  "SELECT kind, name, version, artifact, source, run_id, deleted_at, deleted_by,"
                  " purged_at FROM registry_versions WHERE id = ?1");
      q.bind(1, n.id);
      if (!q.step()) fail(ErrorKind::kNotFound, "registry version {} not found", n.id);
      j = {{"type", q.text(0)},
           {"id", n.id},
           {"ref", fmt::format("{}@{}", q.text(1), q.int64(2))},
           {"artifact", q.text(3)},
           {"source", q.text(4)}};
      // A deleted version stays in the graph: the runs that used it did.
      if (!q.is_null(6)) {
        j["deleted"] = true;
        j["deleted_at"] = format_time(q.real(6));
        j["deleted_by"] = q.text(7);
      }
      // A purged version is a tombstone: the edge stays, the content is erased.
      if (!q.is_null(8)) {
        j["purged"] = true;
        j["purged_at"] = format_time(q.real(8));
      }
    } else {
      j = {{"type", "artifact"}, {"digest", n.digest}};
      if (auto a = find_artifact(db_, n.digest)) {
        j["kind"] = to_string(a->kind);
        j["size"] = a->size;
        if (a->purged) j["purged"] = true;
      }
    }
    if (!n.role.empty()) j["role"] = n.role;
    return j;
  }

  nlohmann::json walk(const NodeId& n, bool up, int depth) {
    nlohmann::json j = describe(n);
    if (!seen_.insert(n.key()).second) {
      j["seen_above"] = true;
      return j;
    }
    j["children"] = nlohmann::json::array();
    std::vector<NodeId> next = up ? parents(n) : children(n);
    if (depth >= max_depth_ && !next.empty()) {
      j["truncated"] = true;
      return j;
    }
    std::set<std::string> added;
    for (const NodeId& c : next) {
      if (added.insert(c.key()).second) j["children"].push_back(walk(c, up, depth + 1));
    }
    return j;
  }

  void forget() { seen_.clear(); }

 private:
  std::vector<NodeId> query(const std::string& sql, const NodeId& n, NodeId::Type type) {
    Statement q(db_, sql);
    if (n.type == NodeId::Type::kArtifact) {
      q.bind(1, n.digest);
    } else {
      q.bind(1, n.id);
    }
    std::vector<NodeId> out;
    while (q.step()) {
      NodeId c{type};
      if (type == NodeId::Type::kArtifact) {
        c.digest = q.text(0);
      } else {
        c.id = q.int64(0);
      }
      if (q.is_null(1) == false) c.role = q.text(1);
      out.push_back(c);
    }
    return out;
  }

  void append(std::vector<NodeId>& to, std::vector<NodeId> from) {
    to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
  }

  // What n was made from.
  std::vector<NodeId> parents(const NodeId& n) {
    using T = NodeId::Type;
    std::vector<NodeId> out;
    if (n.type == T::kRun) {
      append(out,
             query("SELECT version_id, role FROM run_io WHERE run_id = ?1 AND direction = 'input'"
                   " AND version_id IS NOT NULL ORDER BY id",
                   n, T::kVersion));
      append(out,
             query("SELECT artifact, role FROM run_io WHERE run_id = ?1 AND direction = 'input'"
                   " AND artifact IS NOT NULL ORDER BY id",
                   n, T::kArtifact));
    } else if (n.type == T::kVersion) {
      append(
          out,
          query("SELECT run_id, NULL FROM registry_versions WHERE id = ?1 AND run_id IS NOT NULL",
                n, T::kRun));
      append(
          out,
          query(
              "SELECT DISTINCT io.run_id, NULL FROM run_io io, registry_versions v WHERE v.id = ?1"
              " AND io.direction = 'output' AND (io.version_id = v.id OR io.artifact = v.artifact)"
              " ORDER BY io.run_id",
              n, T::kRun));
    } else {
      append(out, query("SELECT DISTINCT run_id, NULL FROM run_io WHERE artifact = ?1 AND "
                        "direction = 'output'"
                        " ORDER BY run_id",
                        n, T::kRun));
    }
    return out;
  }

  // What was made from n.
  std::vector<NodeId> children(const NodeId& n) {
    using T = NodeId::Type;
    std::vector<NodeId> out;
    if (n.type == T::kRun) {
      append(out, query("SELECT id, NULL FROM registry_versions WHERE run_id = ?1 ORDER BY id", n,
                        T::kVersion));
      append(out,
             query("SELECT version_id, role FROM run_io WHERE run_id = ?1 AND direction = 'output'"
                   " AND version_id IS NOT NULL ORDER BY id",
                   n, T::kVersion));
      append(out,
             query("SELECT artifact, role FROM run_io WHERE run_id = ?1 AND direction = 'output'"
                   " AND artifact IS NOT NULL ORDER BY id",
                   n, T::kArtifact));
    } else if (n.type == T::kVersion) {
      append(
          out,
          query("SELECT DISTINCT io.run_id, io.role FROM run_io io, registry_versions v WHERE v.id "
                "= ?1"
                " AND io.direction = 'input' AND (io.version_id = v.id OR io.artifact = v.artifact)"
                " ORDER BY io.run_id",
                n, T::kRun));
    } else {
      append(out,
             query("SELECT DISTINCT io.run_id, io.role FROM run_io io LEFT JOIN registry_versions v"
                   " ON v.id = io.version_id WHERE io.direction = 'input'"
                   " AND (io.artifact = ?1 OR v.artifact = ?1) ORDER BY io.run_id",
                   n, T::kRun));
      append(out, query("SELECT id, NULL FROM registry_versions WHERE artifact = ?1 ORDER BY id", n,
                        T::kVersion));
    }
    return out;
  }

  Db& db_;
  int max_depth_;
  std::set<std::string> seen_;
};

NodeId resolve_root(Db& db, std::string_view ref, const std::string& kind) {
  if (ref.starts_with("run:")) return {NodeId::Type::kRun, parse_run_id(ref)};
  if (ref.starts_with("sha256:")) {
    parse_digest(ref);
    if (!find_artifact(db, ref))
      fail(ErrorKind::kNotFound, "artifact {} is not in this workspace", ref);
    return {NodeId::Type::kArtifact, 0, std::string(ref)};
  }
  if (!kind.empty()) {
    if (kind != "model" && kind != "dataset")
      fail_input("--kind '{}': expected model or dataset", printable(kind));
    RegistryKind k = kind == "model" ? RegistryKind::kModel : RegistryKind::kDataset;
    return {NodeId::Type::kVersion, resolve_version(db, k, ref, /*include_deleted=*/true).id};
  }
  // A deleted version is still found by its explicit name@N: its history
  // outlives it.
  std::optional<VersionInfo> model, dataset;
  try {
    model = resolve_version(db, RegistryKind::kModel, ref, /*include_deleted=*/true);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound) throw;
  }
  try {
    dataset = resolve_version(db, RegistryKind::kDataset, ref, /*include_deleted=*/true);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound) throw;
  }
  if (model && dataset) {
    fail_input("'{}' is both a model and a dataset; pass --kind model or --kind dataset",
               printable(ref));
  }
  if (model) return {NodeId::Type::kVersion, model->id};
  if (dataset) return {NodeId::Type::kVersion, dataset->id};
  fail(ErrorKind::kNotFound,
       "'{}' is not a registered model or dataset, a run (run:ID) or an artifact (sha256:...)",
       printable(ref));
}

std::string node_line(const nlohmann::json& n, const LineageFormat& format) {
  std::string type = n["type"].get<std::string>();
  std::string out;
  if (type == "run") {
    out = fmt::format("run {} {}", n["id"].get<std::int64_t>(), n["kind"].get<std::string>());
    if (!n["name"].get<std::string>().empty())
      out += fmt::format(" \"{}\"", n["name"].get<std::string>());
    out +=
        fmt::format(" {} {}", n["status"].get<std::string>(), n["started_at"].get<std::string>());
    if (format.params) {
      std::string params;
      for (const auto& [k, v] : n["params"].items()) {
        params += fmt::format("{}{}={}", params.empty() ? "" : " ", k,
                              v.is_string() ? v.get<std::string>() : v.dump());
      }
      if (!params.empty()) out += "  params: " + params;
    }
  } else if (type == "artifact") {
    out = fmt::format("artifact {}", n["digest"].get<std::string>());
    if (n.contains("size"))
      out += fmt::format(" ({}, {})", n["kind"].get<std::string>(),
                         format_bytes(n["size"].get<std::uint64_t>()));
    if (n.value("purged", false)) out += " (content removed)";
  } else {
    out = fmt::format("{} {}  {}", type, n["ref"].get<std::string>(),
                      n["artifact"].get<std::string>().substr(0, 19));
    // Training registers from a scratch folder it then removes; a path
    // that no longer exists tells the reader nothing.
    const std::string source = n["source"].get<std::string>();
    std::error_code ec;
    if (!source.empty() && std::filesystem::exists(source, ec)) out += "  from " + source;
    if (n.value("purged", false)) {
      out += fmt::format("  (purged {}: content erased)", n["purged_at"].get<std::string>());
    } else if (n.value("deleted", false)) {
      out += fmt::format("  (deleted {} by {})", n["deleted_at"].get<std::string>(),
                         n["deleted_by"].get<std::string>());
    }
  }
  if (n.contains("role")) out += fmt::format(" [{}]", n["role"].get<std::string>());
  if (n.value("seen_above", false)) out += " (see above)";
  if (n.value("truncated", false)) out += " (deeper levels cut off)";
  return out;
}

void tree(const nlohmann::json& nodes, const std::string& indent, const LineageFormat& format,
          std::string& out) {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    bool last = i + 1 == nodes.size();
    out += indent + (last ? "└── " : "├── ") + node_line(nodes[i], format) + "\n";
    if (nodes[i].contains("children"))
      tree(nodes[i]["children"], indent + (last ? "    " : "│   "), format, out);
  }
}

}  // namespace

nlohmann::json lineage(Db& db, std::string_view ref, const LineageOptions& options) {
  ReadTransaction snapshot(db);
  NodeId root = resolve_root(db, ref, options.kind);
  Walker walker(db, options.max_depth);
  nlohmann::json out;
  out["root"] = walker.describe(root);
  if (options.direction != LineageDirection::kDown) {
    out["upstream"] = walker.walk(root, /*up=*/true, 0)["children"];
    walker.forget();
  }
  if (options.direction != LineageDirection::kUp) {
    out["downstream"] = walker.walk(root, /*up=*/false, 0)["children"];
  }
  return out;
}

std::string format_lineage(const nlohmann::json& graph, const LineageFormat& format) {
  std::string out = node_line(graph["root"], format) + "\n";
  for (const char* dir : {"upstream", "downstream"}) {
    if (!graph.contains(dir)) continue;
    out += fmt::format("{}{}\n", dir, graph[dir].empty() ? " (none)" : "");
    tree(graph[dir], "", format, out);
  }
  return out;
}

}  // namespace enclave::store
