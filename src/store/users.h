// The OS users of a shared workspace and their roles (store/roles.h), kept
// in the workspace database (table workspace_users), and the check the
// `enclave` program makes before each command.
//
// A workspace without users behaves as one private to whoever can open it:
// every command is allowed. Once it has users, a command that opens the
// workspace runs only if the OS user (store/process_info.h os_user) has a
// role whose scopes allow what the command needs (set_command_scope, called
// by the CLI from its table of commands; see src/cli/README.md). This is
// enforced by the program and by the group permissions of a shared
// workspace (share_workspace_with_group); somebody who can write the
// database can edit the table by hand, which the audit chain records
// (every change here is an audit entry) but does not prevent.
// Thread safety: the functions taking a Db follow db.h; the command scope is
// process-wide and locked.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.h"
#include "store/db.h"
#include "store/roles.h"

namespace enclave::store {

// A command refused for the user's role (kind kInvalidInput; the CLI exits
// with 77, EX_NOPERM).
class PermissionDenied : public Error {
 public:
  explicit PermissionDenied(std::string message)
      : Error(ErrorKind::kInvalidInput, std::move(message)) {}
};

struct WorkspaceUser {
  std::string name;      // OS user name
  std::string role;      // viewer, service, developer, admin
  std::string added_at;  // ISO 8601 UTC
  std::string added_by;  // OS user who added it
};

// Users oldest first.
std::vector<WorkspaceUser> list_users(Db& db);
// The role of `name`, or nullopt if it has none.
std::optional<std::string> user_role(Db& db, const std::string& name);

// Adds `name` with `role`, or changes its role; audited ("user-add").
// When the workspace had no users and `name` is not the OS user running
// this, the OS user is added first as admin, so whoever shares the
// workspace keeps the right to manage it. Returns the users added or changed.
// Throws Error(kInvalidInput) for an unknown role or a name that is not
// 1..64 of [A-Za-z0-9._-] (starting with a letter, digit or _).
std::vector<WorkspaceUser> add_user(Db& db, const std::string& name, const std::string& role);
// Removes `name`; audited ("user-remove"). Throws Error(kNotFound) for an
// unknown user, Error(kInvalidInput) when it is the last admin while other
// users remain (nobody could manage the workspace any more).
void remove_user(Db& db, const std::string& name);

nlohmann::json users_json(const std::vector<WorkspaceUser>& users);
std::string format_users(const std::vector<WorkspaceUser>& users);

// The scope the running command needs and its name ("models alias"), set by
// the CLI before the command's work starts. Until it is set no check is made
// (library use, tests).
void set_command_scope(Scope scope, std::string command);
// Back to no check (tests).
void clear_command_scope();
// Checks the OS user against the users of the workspace at `root` for the
// command scope. Does nothing when no scope is set, the workspace has no
// users, or the same workspace was already checked by this process. Throws
// PermissionDenied naming the user, the role (or that it has none),
// the command and the missing scope.
void check_command_access(const std::filesystem::path& root);

// Makes the workspace at `root` a group's: its .enclave tree gets the group
// `group`, folders become setgid and group-writable (2770) and files group-
// readable and, unless read-only objects, group-writable; from then on the
// umask of every enclave process on it is 0007 (workspace.h). Audited
// ("share"). Throws Error(kNotFound) for an unknown group, Error(kIo) when a
// file cannot be changed (the OS user must own the files and belong to the
// group, or be root).
void share_workspace_with_group(const std::filesystem::path& root, const std::string& group);

}  // namespace enclave::store
