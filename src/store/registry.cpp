#include "store/registry.h"

#include <fmt/format.h>

#include "core/error.h"
#include "store/artifacts.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/names.h"
#include "store/process_info.h"
#include "store/table.h"
#include "store/upsert.h"

namespace enclave::store {
namespace {

constexpr const char* kVersionColumns =
    "id, kind, name, version, artifact, run_id, source, created_at, created_by, deleted_at, "
    "deleted_by";

std::string what_name(RegistryKind kind) { return fmt::format("{} name", to_string(kind)); }

VersionInfo read_version(Db& db, Statement& q) {
  VersionInfo v;
  v.id = q.int64(0);
  v.kind = q.text(1) == "dataset" ? RegistryKind::kDataset : RegistryKind::kModel;
  v.name = q.text(2);
  v.version = q.int64(3);
  v.artifact = q.text(4);
  v.run_id = q.optional_int64(5);
  v.source = q.text(6);
  v.created_at = q.real(7);
  v.created_by = q.text(8);
  if (!q.is_null(9)) v.deleted_at = q.real(9);
  v.deleted_by = q.text(10);
  Statement aliases(db, "SELECT alias FROM registry_aliases WHERE version_id = ?1 ORDER BY alias");
  aliases.bind(1, v.id);
  while (aliases.step()) v.aliases.push_back(aliases.text(0));
  Statement tags(db, "SELECT key, value FROM registry_tags WHERE version_id = ?1 ORDER BY key");
  tags.bind(1, v.id);
  while (tags.step()) v.tags[tags.text(0)] = tags.text(1);
  return v;
}

VersionInfo version_by_id(Db& db, std::int64_t id) {
  Statement q(db, fmt::format("SELECT {} FROM registry_versions WHERE id = ?1", kVersionColumns));
  q.bind(1, id);
  ENCLAVE_CHECK(q.step());
  return read_version(db, q);
}

// Names with at least one live version.
std::vector<std::string> registered_names(Db& db, RegistryKind kind) {
  Statement q(db,
              "SELECT DISTINCT name FROM registry_versions WHERE kind = ?1 AND deleted_at IS NULL"
              " ORDER BY name LIMIT 20");
  q.bind(1, to_string(kind));
  std::vector<std::string> out;
  while (q.step()) out.push_back(q.text(0));
  return out;
}

// The newest version number of name, 0 if none. Deleted versions count when
// numbering new ones (numbers are never reused) but not as "latest".
enum class Deleted { kSkip, kCount };
std::int64_t latest_version(Db& db, RegistryKind kind, const std::string& name, Deleted deleted) {
  Statement q(
      db,
      deleted == Deleted::kCount
          ? "SELECT COALESCE(MAX(version), 0) FROM registry_versions WHERE kind = ?1 AND name = ?2"
          : "SELECT COALESCE(MAX(version), 0) FROM registry_versions WHERE kind = ?1 AND name = ?2"
            " AND deleted_at IS NULL");
  q.bind(1, to_string(kind)).bind(2, name);
  q.step();
  return q.int64(0);
}

// "adapter of tiny@1" for a LoRA adapter registered by training (tags
// type=adapter, base=REF), "" otherwise; v is version_json's shape.
std::string version_note(const nlohmann::json& v) {
  const nlohmann::json& tags = v["tags"];
  if (!tags.is_object() || tags.value("type", "") != "adapter") return "";
  const std::string base = tags.value("base", "");
  return base.empty() ? "adapter" : "adapter of " + base;
}

std::string object_label(RegistryKind kind, std::string_view ref) {
  return fmt::format("{} {}", to_string(kind), ref);
}

}  // namespace

std::string_view to_string(RegistryKind kind) {
  return kind == RegistryKind::kDataset ? "dataset" : "model";
}

VersionInfo register_version(Workspace& workspace, const RegisterOptions& options) {
  validate_name(options.name, what_name(options.kind));
  std::filesystem::path source = std::filesystem::absolute(options.source).lexically_normal();
  std::error_code ec;
  if (!std::filesystem::exists(source, ec)) {
    fail(ErrorKind::kNotFound, "{}: no such file or folder to register", options.source.string());
  }
  Db& db = workspace.db();
  if (options.from_run) {
    Statement run(db, "SELECT 1 FROM runs WHERE id = ?1");
    run.bind(1, *options.from_run);
    if (!run.step())
      fail(ErrorKind::kNotFound, "--from-run {}: no such run in this workspace", *options.from_run);
  }
  StoreLock lock(workspace, StoreLock::Mode::kShared);
  Artifact artifact = stage_artifact(workspace, source, options.show_progress);
  WriteTransaction tx(db);
  double now = now_unix();
  std::string kind(to_string(options.kind));
  Statement name(
      db, "INSERT OR IGNORE INTO registry_names (kind, name, created_at) VALUES (?1, ?2, ?3)");
  name.bind(1, kind).bind(2, options.name).bind(3, now).run();
  std::int64_t version = latest_version(db, options.kind, options.name, Deleted::kCount) + 1;
  record_artifact(db, workspace.objects(), artifact);
  Statement insert(db,
                   "INSERT INTO registry_versions (kind, name, version, artifact, run_id, source,"
                   " created_at, created_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  insert.bind(1, kind)
      .bind(2, options.name)
      .bind(3, version)
      .bind(4, artifact.digest)
      .bind(5, options.from_run)
      .bind(6, source.string())
      .bind(7, now)
      .bind(8, os_user())
      .run();
  std::int64_t id = db.last_insert_rowid();
  nlohmann::json details = {
      {"artifact", artifact.digest}, {"source", source.string()}, {"size", artifact.size}};
  if (options.from_run) details["run"] = *options.from_run;
  append_audit(db, "register",
               object_label(options.kind, fmt::format("{}@{}", options.name, version)), details);
  tx.commit();
  return version_by_id(db, id);
}

VersionInfo resolve_version(Db& db, RegistryKind kind, std::string_view ref, bool include_deleted) {
  VersionRef r = parse_version_ref(ref, to_string(kind));
  std::string k(to_string(kind));
  const std::int64_t newest = latest_version(db, kind, r.name, Deleted::kCount);
  const std::int64_t latest = latest_version(db, kind, r.name, Deleted::kSkip);
  if (latest == 0 && (newest == 0 || !r.version)) {
    if (newest > 0)
      fail(ErrorKind::kNotFound, "{} '{}': every version has been deleted", k, r.name);
    std::vector<std::string> names = registered_names(db, kind);
    fail(ErrorKind::kNotFound, "{} '{}' is not registered ({})", k, r.name,
         names.empty() ? fmt::format("no {}s yet", k)
                       : fmt::format("known: {}", fmt::join(names, ", ")));
  }
  std::int64_t version = latest;
  if (r.version) {
    if (*r.version > newest) {
      fail(ErrorKind::kNotFound, "{} {}: no version {} ({})", k, r.name, *r.version,
           latest > 0 ? fmt::format("latest is {}@{}", r.name, latest)
                      : "every version has been deleted");
    }
    version = *r.version;
  } else if (r.alias && *r.alias != "latest") {
    Statement a(
        db,
        "SELECT v.version FROM registry_aliases a JOIN registry_versions v ON v.id = a.version_id"
        " WHERE a.kind = ?1 AND a.name = ?2 AND a.alias = ?3 AND v.deleted_at IS NULL");
    a.bind(1, k).bind(2, r.name).bind(3, *r.alias);
    if (!a.step()) fail(ErrorKind::kNotFound, "{} {}: no alias '{}'", k, r.name, *r.alias);
    version = a.int64(0);
  }
  Statement q(
      db,
      fmt::format("SELECT {} FROM registry_versions WHERE kind = ?1 AND name = ?2 AND version = ?3",
                  kVersionColumns));
  q.bind(1, k).bind(2, r.name).bind(3, version);
  if (!q.step()) fail(ErrorKind::kNotFound, "{} {}@{} not found", k, r.name, version);
  VersionInfo v = read_version(db, q);
  if (v.deleted_at && !include_deleted) {
    // A purged version (purge.h) says so: its content is gone for good.
    Statement purged(db, "SELECT purged_at FROM registry_versions WHERE id = ?1");
    purged.bind(1, v.id);
    const bool is_purged = purged.step() && !purged.is_null(0);
    fail(ErrorKind::kNotFound, "{} {} was {} on {} by {}{}", k, v.ref(),
         is_purged ? "purged (erased)" : "deleted",
         format_time(is_purged ? purged.real(0) : *v.deleted_at),
         v.deleted_by.empty() ? "(unknown)" : v.deleted_by,
         latest > 0 ? fmt::format(" (latest is {}@{})", r.name, latest) : "");
  }
  return v;
}

VersionInfo set_alias(Workspace& workspace, RegistryKind kind, std::string_view ref,
                      std::string_view alias) {
  validate_name(alias, "alias");
  if (alias == "latest")
    fail_input("alias 'latest' is reserved: it always means the newest version");
  Db& db = workspace.db();
  WriteTransaction tx(db);
  VersionInfo v = resolve_version(db, kind, ref);
  std::string k(to_string(kind));
  nlohmann::json from = nullptr;
  {
    Statement old(
        db,
        "SELECT v.version FROM registry_aliases a JOIN registry_versions v ON v.id = a.version_id"
        " WHERE a.kind = ?1 AND a.name = ?2 AND a.alias = ?3");
    old.bind(1, k).bind(2, v.name).bind(3, alias);
    if (old.step()) from = old.int64(0);
  }
  update_or_insert(db,
                   "UPDATE registry_aliases SET version_id = ?4, updated_at = ?5"
                   " WHERE kind = ?1 AND name = ?2 AND alias = ?3",
                   "INSERT INTO registry_aliases (kind, name, alias, version_id, updated_at)"
                   " VALUES (?1, ?2, ?3, ?4, ?5)",
                   [&, now = now_unix()](Statement& s) {
                     s.bind(1, k).bind(2, v.name).bind(3, alias).bind(4, v.id).bind(5, now);
                   });
  append_audit(db, "alias", object_label(kind, fmt::format("{}:{}", v.name, alias)),
               {{"to", v.version}, {"from", from}});
  tx.commit();
  return version_by_id(db, v.id);
}

VersionInfo remove_alias(Workspace& workspace, RegistryKind kind, std::string_view name,
                         std::string_view alias) {
  std::string k(to_string(kind));
  if (name.find_first_of("@:") != std::string_view::npos) {
    VersionRef r = parse_version_ref(name, k);
    fail_input("{} '{}': an alias belongs to a name, not a version; give '{}'", k, printable(name),
               r.name);
  }
  validate_name(name, what_name(kind));
  validate_name(alias, "alias");
  if (alias == "latest")
    fail_input("alias 'latest' is reserved: it always means the newest version and is not stored");
  Db& db = workspace.db();
  WriteTransaction tx(db);
  Statement q(db,
              "SELECT a.version_id FROM registry_aliases a WHERE a.kind = ?1 AND a.name = ?2 AND "
              "a.alias = ?3");
  q.bind(1, k).bind(2, name).bind(3, alias);
  if (!q.step()) {
    if (latest_version(db, kind, std::string(name), Deleted::kSkip) == 0) {
      resolve_version(db, kind, name);  // throws: names what is missing
    }
    fail(ErrorKind::kNotFound, "{} {}: no alias '{}' to remove", k, name, alias);
  }
  VersionInfo v = version_by_id(db, q.int64(0));
  Statement erase(db, "DELETE FROM registry_aliases WHERE kind = ?1 AND name = ?2 AND alias = ?3");
  erase.bind(1, k).bind(2, name).bind(3, alias).run();
  append_audit(db, "unalias", object_label(kind, fmt::format("{}:{}", name, alias)),
               {{"from", v.version}});
  tx.commit();
  return version_by_id(db, v.id);
}

DeletedVersion delete_version(Workspace& workspace, RegistryKind kind, std::string_view ref) {
  std::string k(to_string(kind));
  VersionRef r = parse_version_ref(ref, k);
  if (!r.version) {
    fail_input(
        "{} '{}': delete takes an explicit version, such as {}@1 (see `enclave {}s show {}`)", k,
        printable(ref), r.name, k, r.name);
  }
  Db& db = workspace.db();
  WriteTransaction tx(db);
  VersionInfo v = resolve_version(db, kind, ref);
  Statement mark(db, "UPDATE registry_versions SET deleted_at = ?1, deleted_by = ?2 WHERE id = ?3");
  mark.bind(1, now_unix()).bind(2, os_user()).bind(3, v.id).run();
  Statement unalias(db, "DELETE FROM registry_aliases WHERE version_id = ?1");
  unalias.bind(1, v.id).run();
  DeletedVersion out;
  out.aliases_removed = v.aliases;
  {
    Statement users(db,
                    "SELECT 1 FROM registry_versions WHERE artifact = ?1 AND deleted_at IS NULL"
                    " UNION ALL SELECT 1 FROM run_io WHERE artifact = ?1 LIMIT 1");
    users.bind(1, v.artifact);
    out.content_still_referenced = users.step();
  }
  append_audit(db, "delete", object_label(kind, v.ref()),
               {{"artifact", v.artifact}, {"aliases_removed", v.aliases}});
  tx.commit();
  out.version = version_by_id(db, v.id);
  return out;
}

VersionInfo set_tags(Workspace& workspace, RegistryKind kind, std::string_view ref,
                     const std::vector<std::string>& set, const std::vector<std::string>& remove) {
  if (set.empty() && remove.empty()) fail_input("tag: give KEY=VALUE to set or --remove KEY");
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const std::string& item : set) {
    std::size_t eq = item.find('=');
    std::string key = item.substr(0, eq);
    std::string value = eq == std::string::npos ? "" : item.substr(eq + 1);
    validate_name(key, "tag key");
    validate_tag_value(value, fmt::format("tag '{}' value", key));
    pairs.emplace_back(key, value);
  }
  for (const std::string& key : remove) validate_name(key, "tag key");
  Db& db = workspace.db();
  WriteTransaction tx(db);
  VersionInfo v = resolve_version(db, kind, ref);

  nlohmann::json details = {{"set", nlohmann::json::object()},
                            {"removed", nlohmann::json::array()}};
  // No structured bindings here: clang 14 (make fuzz) cannot capture them.
  for (const auto& pair : pairs) {
    update_or_insert(
        db, "UPDATE registry_tags SET value = ?3 WHERE version_id = ?1 AND key = ?2",
        "INSERT INTO registry_tags (version_id, key, value) VALUES (?1, ?2, ?3)",
        [&](Statement& s) { s.bind(1, v.id).bind(2, pair.first).bind(3, pair.second); });
    details["set"][pair.first] = pair.second;
  }
  Statement erase(db, "DELETE FROM registry_tags WHERE version_id = ?1 AND key = ?2");
  for (const std::string& key : remove) {
    erase.reset();
    erase.bind(1, v.id).bind(2, key).run();
    if (db.changes() == 0)
      fail(ErrorKind::kNotFound, "{} {}: no tag '{}' to remove", to_string(kind), v.ref(), key);
    details["removed"].push_back(key);
  }
  append_audit(db, "tag", object_label(kind, v.ref()), details);
  tx.commit();
  return version_by_id(db, v.id);
}

nlohmann::json version_json(const VersionInfo& v) {
  nlohmann::json out = {{"id", v.id},
                        {"kind", to_string(v.kind)},
                        {"name", v.name},
                        {"version", v.version},
                        {"ref", v.ref()},
                        {"artifact", v.artifact},
                        {"run_id", v.run_id ? nlohmann::json(*v.run_id) : nlohmann::json(nullptr)},
                        {"source", v.source},
                        {"created_at", format_time(v.created_at)},
                        {"created_by", v.created_by},
                        {"aliases", v.aliases},
                        {"tags", v.tags}};
  if (v.deleted_at) {
    out["deleted_at"] = format_time(*v.deleted_at);
    out["deleted_by"] = v.deleted_by;
  }
  return out;
}

nlohmann::json deleted_version_json(const DeletedVersion& d) {
  nlohmann::json out = version_json(d.version);
  out["aliases_removed"] = d.aliases_removed;
  out["content_still_referenced"] = d.content_still_referenced;
  return out;
}

nlohmann::json list_registry(Db& db, RegistryKind kind) {
  ReadTransaction snapshot(db);
  Statement q(
      db,
      "SELECT n.name, MAX(v.version), COUNT(v.id) FROM registry_names n"
      " JOIN registry_versions v ON v.kind = n.kind AND v.name = n.name AND v.deleted_at IS NULL"
      " WHERE n.kind = ?1 GROUP BY n.name ORDER BY n.name");
  q.bind(1, to_string(kind));
  nlohmann::json out = nlohmann::json::array();
  while (q.step()) {
    VersionInfo latest = resolve_version(db, kind, fmt::format("{}@{}", q.text(0), q.int64(1)));
    nlohmann::json entry = {
        {"name", q.text(0)}, {"latest_version", q.int64(1)}, {"n_versions", q.int64(2)}};
    Statement aliases(db,
                      "SELECT a.alias, v.version FROM registry_aliases a JOIN registry_versions v"
                      " ON v.id = a.version_id WHERE a.kind = ?1 AND a.name = ?2 ORDER BY a.alias");
    aliases.bind(1, to_string(kind)).bind(2, q.text(0));
    entry["aliases"] = nlohmann::json::object();
    while (aliases.step()) entry["aliases"][aliases.text(0)] = aliases.int64(1);
    entry["latest"] = version_json(latest);
    if (auto a = find_artifact(db, latest.artifact)) entry["latest"]["size"] = a->size;
    out.push_back(entry);
  }
  return out;
}

std::string format_registry_list(const nlohmann::json& names, RegistryKind kind) {
  if (names.empty()) return fmt::format("no {}s registered\n", to_string(kind));
  bool any_note = false;
  for (const auto& e : names) any_note = any_note || !version_note(e["latest"]).empty();
  std::vector<Table::Column> columns = {
      {"NAME"}, {"VERSIONS", Align::kRight}, {"SIZE", Align::kRight}, {"UPDATED"}, {"ALIASES"}};
  if (any_note) columns.push_back({"LATEST"});
  Table table(std::move(columns));
  for (const auto& e : names) {
    std::string aliases;
    for (const auto& [alias, version] : e["aliases"].items()) {
      aliases +=
          fmt::format("{}{}->@{}", aliases.empty() ? "" : " ", alias, version.get<std::int64_t>());
    }
    table.add_row(
        {e["name"].get<std::string>(), std::to_string(e["n_versions"].get<std::int64_t>()),
         format_bytes(e["latest"].value("size", std::uint64_t{0})),
         e["latest"]["created_at"].get<std::string>(), aliases, version_note(e["latest"])});
  }
  return table.render();
}

nlohmann::json show_registry(Db& db, RegistryKind kind, std::string_view ref) {
  ReadTransaction snapshot(db);
  VersionRef r = parse_version_ref(ref, to_string(kind));
  if (r.version || r.alias) {
    VersionInfo v = resolve_version(db, kind, ref);
    nlohmann::json out = version_json(v);
    if (auto a = find_artifact(db, v.artifact))
      out["artifact_info"] = artifact_json(*a, /*with_files=*/true);
    return out;
  }
  VersionInfo latest = resolve_version(db, kind, ref);
  Statement q(db, fmt::format("SELECT {} FROM registry_versions WHERE kind = ?1 AND name = ?2"
                              " AND deleted_at IS NULL ORDER BY version",
                              kVersionColumns));
  q.bind(1, to_string(kind)).bind(2, r.name);
  nlohmann::json versions = nlohmann::json::array();
  while (q.step()) {
    VersionInfo v = read_version(db, q);
    nlohmann::json j = version_json(v);
    if (auto a = find_artifact(db, v.artifact)) {
      j["size"] = a->size;
      j["n_files"] = a->n_files;
    }
    versions.push_back(j);
  }
  return {{"kind", to_string(kind)},
          {"name", r.name},
          {"latest_version", latest.version},
          {"versions", versions}};
}

std::string format_registry_show(const nlohmann::json& s) {
  std::string out;
  auto version_lines = [&out](const nlohmann::json& v) {
    out += fmt::format("{} {}\n", v["kind"].get<std::string>(), v["ref"].get<std::string>());
    out += fmt::format("  artifact  {}\n", v["artifact"].get<std::string>());
    out += fmt::format("  created   {} by {}\n", v["created_at"].get<std::string>(),
                       v["created_by"].get<std::string>());
    // Training registers from a scratch folder it then removes.
    const std::string source = v["source"].get<std::string>();
    std::error_code ec;
    if (!source.empty() && std::filesystem::exists(source, ec))
      out += fmt::format("  source    {}\n", source);
    if (!v["run_id"].is_null())
      out += fmt::format("  run       {}\n", v["run_id"].get<std::int64_t>());
    if (const std::string note = version_note(v); !note.empty())
      out += fmt::format("  type      {}\n", note);
    if (!v["aliases"].empty()) {
      out += fmt::format("  aliases   {}\n",
                         fmt::join(v["aliases"].get<std::vector<std::string>>(), ", "));
    }
    for (const auto& [k, value] : v["tags"].items()) {
      out += fmt::format("  tag       {}={}\n", k, value.get<std::string>());
    }
  };
  if (s.contains("versions")) {
    out += fmt::format("{} {} ({} versions, latest @{})\n", s["kind"].get<std::string>(),
                       s["name"].get<std::string>(), s["versions"].size(),
                       s["latest_version"].get<std::int64_t>());
    for (const auto& v : s["versions"]) {
      std::string line = fmt::format("  @{:<4} {}  {:>10}  {}", v["version"].get<std::int64_t>(),
                                     v["created_at"].get<std::string>(),
                                     format_bytes(v.value("size", std::uint64_t{0})),
                                     v["artifact"].get<std::string>().substr(0, 19));
      if (!v["run_id"].is_null()) line += fmt::format("  run {}", v["run_id"].get<std::int64_t>());
      if (const std::string note = version_note(v); !note.empty()) line += "  " + note;
      if (!v["aliases"].empty()) {
        line +=
            fmt::format("  [{}]", fmt::join(v["aliases"].get<std::vector<std::string>>(), ", "));
      }
      out += line + "\n";
    }
    return out;
  }
  version_lines(s);
  if (s.contains("artifact_info")) {
    const auto& a = s["artifact_info"];
    out +=
        fmt::format("  size      {} in {} file(s)\n", format_bytes(a["size"].get<std::uint64_t>()),
                    a["n_files"].get<std::int64_t>());
    for (const auto& f : a["files"]) {
      out += fmt::format("    {:<40} {:>10}  {}\n", f["path"].get<std::string>(),
                         format_bytes(f["size"].get<std::uint64_t>()),
                         f["sha256"].get<std::string>().substr(0, 12));
    }
  }
  return out;
}

std::string name_checkouts(Workspace& workspace, std::string_view text) {
  const std::string prefix = workspace.checkouts_dir().string() + "/";
  std::string out;
  std::size_t pos = 0;
  while (true) {
    const std::size_t at = text.find(prefix, pos);
    const std::size_t hex_at = at + prefix.size();
    if (at == std::string_view::npos || hex_at + 64 > text.size()) break;
    const std::string digest = "sha256:" + std::string(text.substr(hex_at, 64));
    std::string ref;
    if (is_digest(digest)) {
      Statement q(workspace.db(),
                  "SELECT kind, name, version FROM registry_versions WHERE artifact = ?1"
                  " ORDER BY deleted_at IS NOT NULL, id DESC LIMIT 1");
      q.bind(1, digest);
      if (q.step()) ref = fmt::format("{} {}@{}", q.text(0), q.text(1), q.int64(2));
    }
    out += text.substr(pos, at - pos);
    if (ref.empty()) {
      out += text.substr(at, prefix.size() + 64);
    } else {
      out += ref;
    }
    pos = hex_at + 64;
  }
  out += text.substr(pos);
  return out;
}

std::filesystem::path version_path(Workspace& workspace, RegistryKind kind, std::string_view ref,
                                   bool verify) {
  VersionInfo v = resolve_version(workspace.db(), kind, ref);
  return checkout_artifact(workspace, v.artifact, {.verify = verify});
}

}  // namespace enclave::store
