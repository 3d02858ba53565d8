// Which scope (store/roles.h) each `enclave` command needs in a workspace
// that has users (store/users.h). The table in command_scopes.cpp is the one
// place that says it; src/cli/README.md shows it. A command is matched by its
// longest listed prefix ("models alias" before "models"); a command the
// table does not name needs admin.
// Thread safety: the table is immutable; install_scope_checks configures an
// App before parsing.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <string_view>

#include "store/roles.h"

namespace enclave::cli {

// The scope `command` ("models alias", words joined by one space) needs.
store::Scope command_scope(std::string_view command);

// Makes each subcommand of app, when the parser reaches it, record its path
// and scope with store::set_command_scope, so that the workspace the
// command opens is checked before its work starts (the innermost command
// reached is the one recorded).
void install_scope_checks(CLI::App& app);

// `enclave users add | list | remove` (cmd_users.cpp).
void register_users(CLI::App& app);

}  // namespace enclave::cli
