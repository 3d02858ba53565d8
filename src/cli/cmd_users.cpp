// `enclave users add NAME --role R | list | remove NAME`: the OS users of a
// shared workspace and their roles (store/users.h). Once a workspace has
// users, every command checks the caller's role (command_scopes.h).
#include <fmt/format.h>

#include <iostream>
#include <memory>
#include <string>

#include "cli/command_scopes.h"
#include "cli/commands.h"
#include "store/users.h"
#include "store/workspace.h"

namespace enclave::cli {
namespace {

struct UserFlags {
  std::string name;
  std::string role;
  std::string workspace;
  bool json = false;
};

}  // namespace

void register_users(CLI::App& app) {
  CLI::App* users = app.add_subcommand("users");
  users->require_subcommand(1);

  auto add = std::make_shared<UserFlags>();
  CLI::App* add_cmd = users->add_subcommand(
      "add", "Give an OS user a role (viewer, service, developer, admin), or change it");
  add_cmd->add_option("name", add->name, "OS user name")->required();
  add_cmd->add_option("--role", add->role, "viewer, service, developer or admin")->required();
  add_workspace_flag(*add_cmd, add->workspace);
  add_cmd->add_flag("--json", add->json, "Print the users added as JSON");
  add_cmd->callback([add] {
    store::Workspace workspace(workspace_root(add->workspace));
    const std::vector<store::WorkspaceUser> added =
        store::add_user(workspace.db(), add->name, add->role);
    if (add->json) {
      std::cout << store::users_json(added).dump(2) << "\n";
      return;
    }
    for (const store::WorkspaceUser& u : added)
      fmt::print("user '{}' has the role '{}' in {}\n", u.name, u.role, workspace.root().string());
  });

  auto list = std::make_shared<UserFlags>();
  CLI::App* list_cmd = users->add_subcommand("list", "The users of the workspace and their roles");
  add_workspace_flag(*list_cmd, list->workspace);
  list_cmd->add_flag("--json", list->json, "Print as JSON");
  list_cmd->callback([list] {
    store::Workspace workspace(workspace_root(list->workspace));
    const std::vector<store::WorkspaceUser> users = store::list_users(workspace.db());
    if (list->json) {
      std::cout << store::users_json(users).dump(2) << "\n";
    } else {
      std::cout << store::format_users(users);
    }
  });

  auto remove = std::make_shared<UserFlags>();
  CLI::App* remove_cmd = users->add_subcommand("remove", "Take an OS user's role away");
  remove_cmd->add_option("name", remove->name, "OS user name")->required();
  add_workspace_flag(*remove_cmd, remove->workspace);
  remove_cmd->callback([remove] {
    store::Workspace workspace(workspace_root(remove->workspace));
    store::remove_user(workspace.db(), remove->name);
    fmt::print("user '{}' removed from {}\n", remove->name, workspace.root().string());
  });
}

}  // namespace enclave::cli
