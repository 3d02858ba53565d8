#include "store/users.h"

#include <fmt/format.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <set>
#include <vector>

#include "core/error.h"
#include "store/audit.h"
#include "store/clock.h"
#include "store/process_info.h"
#include "store/table.h"
#include "store/workspace.h"

namespace enclave::store {
namespace {

bool valid_user_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '-' || name.front() == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

bool has_users_table(Db& db) {
  Statement q(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'workspace_users'");
  return q.step();
}

std::int64_t count_users(Db& db, std::string_view role = "") {
  Statement q(db, role.empty() ? "SELECT COUNT(*) FROM workspace_users"
                               : "SELECT COUNT(*) FROM workspace_users WHERE role = ?1");
  if (!role.empty()) q.bind(1, std::string(role));
  q.step();
  return q.int64(0);
}

WorkspaceUser put_user(Db& db, const std::string& name, const std::string& role) {
  const std::string by = os_user();
  const double now = now_unix();
  // The role changes; who added the user and when stays. (SQLite 3.15 under
  // SQLCipher has no UPSERT; the caller's write transaction makes the pair
  // atomic, as store/upsert.h says.)
  Statement update(db, "UPDATE workspace_users SET role = ?2 WHERE name = ?1");
  update.bind(1, name).bind(2, role).run();
  if (db.changes() == 0) {
    Statement insert(db,
                     "INSERT INTO workspace_users (name, role, added_at, added_by)"
                     " VALUES (?1, ?2, ?3, ?4)");
    insert.bind(1, name).bind(2, role).bind(3, now).bind(4, by).run();
  }
  append_audit(db, "user-add", "user " + name, {{"role", role}});
  return {name, role, format_time(now), by};
}

struct CommandScope {
  std::mutex mutex;
  std::optional<Scope> scope;
  std::string command;
  std::set<std::filesystem::path> checked;
};

CommandScope& command_scope() {
  static CommandScope value;
  return value;
}

}  // namespace

std::vector<WorkspaceUser> list_users(Db& db) {
  std::vector<WorkspaceUser> out;
  if (!has_users_table(db)) return out;
  Statement q(db,
              "SELECT name, role, added_at, added_by FROM workspace_users ORDER BY added_at, name");
  while (q.step()) out.push_back({q.text(0), q.text(1), format_time(q.real(2)), q.text(3)});
  return out;
}

std::optional<std::string> user_role(Db& db, const std::string& name) {
  if (!has_users_table(db)) return std::nullopt;
  Statement q(db, "SELECT role FROM workspace_users WHERE name = ?1");
  q.bind(1, name);
  if (!q.step()) return std::nullopt;
  return q.text(0);
}

std::vector<WorkspaceUser> add_user(Db& db, const std::string& name, const std::string& role) {
  if (!valid_user_name(name))
    fail_input("user name '{}' is not 1..64 of [A-Za-z0-9._-] (not starting with - or .)", name);
  role_scopes_or_fail(role, "--role");
  std::vector<WorkspaceUser> added;
  WriteTransaction tx(db);
  const std::string me = os_user();
  if (count_users(db) == 0 && name != me) added.push_back(put_user(db, me, "admin"));
  added.push_back(put_user(db, name, role));
  tx.commit();
  return added;
}

void remove_user(Db& db, const std::string& name) {
  WriteTransaction tx(db);
  std::optional<std::string> role = user_role(db, name);
  if (!role) fail(ErrorKind::kNotFound, "user '{}' has no role in this workspace", name);
  if (*role == "admin" && count_users(db, "admin") == 1 && count_users(db) > 1) {
    fail_input(
        "user '{}' is the last admin; give another user the admin role first (or remove the "
        "other users)",
        name);
  }
  Statement del(db, "DELETE FROM workspace_users WHERE name = ?1");
  del.bind(1, name).run();
  append_audit(db, "user-remove", "user " + name, {{"role", *role}});
  tx.commit();
}

nlohmann::json users_json(const std::vector<WorkspaceUser>& users) {
  nlohmann::json out = nlohmann::json::array();
  for (const WorkspaceUser& u : users) {
    out.push_back({{"name", u.name},
                   {"role", u.role},
                   {"scopes", role_scopes(u.role).value_or(Scopes{}).names()},
                   {"added_at", u.added_at},
                   {"added_by", u.added_by}});
  }
  return out;
}

std::string format_users(const std::vector<WorkspaceUser>& users) {
  if (users.empty()) return "no users (every OS user who can open the workspace may do anything)\n";
  Table table({{"USER"}, {"ROLE"}, {"SCOPES"}, {"ADDED"}, {"BY"}});
  for (const WorkspaceUser& u : users) {
    std::string scopes;
    for (const std::string& s : role_scopes(u.role).value_or(Scopes{}).names())
      scopes += (scopes.empty() ? "" : ",") + s;
    table.add_row({u.name, u.role, scopes, u.added_at, u.added_by});
  }
  return table.render();
}

void set_command_scope(Scope scope, std::string command) {
  CommandScope& c = command_scope();
  std::lock_guard lock(c.mutex);
  c.scope = scope;
  c.command = std::move(command);
  c.checked.clear();
}

void clear_command_scope() {
  CommandScope& c = command_scope();
  std::lock_guard lock(c.mutex);
  c.scope.reset();
  c.command.clear();
  c.checked.clear();
}

void check_command_access(const std::filesystem::path& root) {
  CommandScope& c = command_scope();
  std::lock_guard lock(c.mutex);
  if (!c.scope || c.checked.contains(root)) return;
  Db db(root / kDotDir / "enclave.db");
  const std::string me = os_user();
  std::optional<std::string> role;
  {
    ReadTransaction snapshot(db);
    if (!has_users_table(db) || count_users(db) == 0) {
      c.checked.insert(root);
      return;
    }
    role = user_role(db, me);
  }
  const std::string need(scope_name(*c.scope));
  if (!role) {
    throw PermissionDenied(fmt::format(
        "user '{}' has no role in the workspace {}, and `enclave {}` needs the '{}' scope; an "
        "admin of the workspace can run `enclave users add {} --role ROLE`",
        me, root.string(), c.command, need, me));
  }
  if (!role_scopes(*role).value_or(Scopes{}).allows(*c.scope)) {
    throw PermissionDenied(fmt::format(
        "user '{}' has the role '{}' in the workspace {}, which lacks the '{}' scope that "
        "`enclave {}` needs",
        me, *role, root.string(), need, c.command));
  }
  c.checked.insert(root);
}

void share_workspace_with_group(const std::filesystem::path& root, const std::string& group) {
  struct group gr {};
  struct group* found = nullptr;
  std::vector<char> buffer(1 << 16);
  if (::getgrnam_r(group.c_str(), &gr, buffer.data(), buffer.size(), &found) != 0 ||
      found == nullptr) {
    fail(ErrorKind::kNotFound, "--shared-group: no group named '{}' on this machine", group);
  }
  const gid_t gid = found->gr_gid;
  const std::filesystem::path dot = root / kDotDir;
  auto share = [&](const std::filesystem::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || S_ISLNK(st.st_mode)) return;
    if (::lchown(p.c_str(), static_cast<uid_t>(-1), gid) != 0) {
      fail(ErrorKind::kIo, "{}: cannot give it the group '{}': {}", p.string(), group,
           std::strerror(errno));
    }
    mode_t mode = st.st_mode & 07777;
    if (S_ISDIR(st.st_mode)) {
      mode |= S_ISGID | S_IRWXG;
    } else {
      mode |= S_IRGRP;
      if (st.st_mode & S_IWUSR) mode |= S_IWGRP;  // objects stay read-only
    }
    if (::chmod(p.c_str(), mode) != 0)
      fail(ErrorKind::kIo, "{}: cannot change its mode: {}", p.string(), std::strerror(errno));
  };
  share(dot);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dot)) share(entry.path());
  Workspace workspace(root);  // its umask is now the shared one
  WriteTransaction tx(workspace.db());
  append_audit(workspace.db(), "share", root.string(), {{"group", group}});
  tx.commit();
}

}  // namespace enclave::store
