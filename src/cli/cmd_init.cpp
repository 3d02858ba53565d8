// `enclave init [DIR]`, and how every store command finds its workspace
// (--workspace on the command or before it, $ENCLAVE_HOME, or walking up).
#include <fmt/format.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "cli/commands.h"
#include "store/registry.h"
#include "store/users.h"
#include "store/workspace.h"
#include "store/workspace_key.h"

namespace enclave::cli {
namespace {

// `enclave --workspace DIR <command>`: set while parsing, read by callbacks.
std::string& global_workspace() {
  static std::string value;
  return value;
}

struct InitFlags {
  std::string dir;
  std::string workspace;
  std::string shared_group;
  bool encrypt = false;
  bool json = false;
};

void add_key_file_flag(CLI::App& cmd) {
  cmd.add_option_function<std::string>(
      "--key-file",
      [](const std::string& file) {
        store::set_workspace_key_file(file);
        // Programs this command starts (runs exec, pipeline stages) need it too.
        const std::string absolute = std::filesystem::absolute(file).string();
        ::setenv(store::kWorkspaceKeyEnv, absolute.c_str(), /*overwrite=*/1);
      },
      fmt::format("Key file of an encrypted workspace (default: ${}); keep it outside the "
                  "workspace",
                  store::kWorkspaceKeyEnv));
}

}  // namespace

void add_workspace_flag(CLI::App& cmd, std::string& workspace) {
  cmd.add_option(
      "--workspace", workspace,
      "Workspace folder (default: $ENCLAVE_HOME, else the nearest parent folder holding .enclave)");
}

std::string workspace_flag(const std::string& workspace) {
  return workspace.empty() ? global_workspace() : workspace;
}

std::filesystem::path workspace_root(const std::string& workspace) {
  store::FindOptions find;
  find.workspace = workspace_flag(workspace);
  return store::find_workspace(find);
}

store::ResolveOptions resolve_options(const std::string& workspace) {
  store::ResolveOptions options;
  options.find.workspace = workspace_flag(workspace);
  return options;
}

std::filesystem::path resolve_model_base(const std::string& ref, const std::string& workspace) {
  return store::resolve_model_stack(ref, resolve_options(workspace)).base;
}

std::string readable_error(std::string_view message) {
  if (message.find("/.enclave/checkouts/") == std::string_view::npos) return std::string(message);
  try {
    store::Workspace workspace(workspace_root(""));
    return store::name_checkouts(workspace, message);
  } catch (const std::exception&) {
    return std::string(message);  // the message as it was beats none
  }
}

void register_init(CLI::App& app) {
  app.add_option("--workspace", global_workspace(),
                 "Workspace for store commands (default: $ENCLAVE_HOME, else found by walking up)");

  add_key_file_flag(app);

  auto flags = std::make_shared<InitFlags>();
  CLI::App* cmd = app.add_subcommand("init");
  cmd->add_option("dir", flags->dir,
                  "Folder to make a workspace (default: --workspace, $ENCLAVE_HOME or .)");
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_option("--shared-group", flags->shared_group,
                  "Share the workspace with this OS group: setgid, group-writable folders and "
                  "files (then `enclave users add` gives members roles)");
  cmd->add_flag("--encrypt", flags->encrypt,
                "Encrypt the new workspace at rest (databases with SQLCipher, objects with "
                "XChaCha20-Poly1305) under the key of --key-file");
  add_key_file_flag(*cmd);
  cmd->add_flag("--json", flags->json, "Print the result as JSON");
  cmd->callback([flags] {
    std::string dir = flags->dir.empty() ? workspace_flag(flags->workspace) : flags->dir;
    if (dir.empty()) {
      const char* home = std::getenv("ENCLAVE_HOME");
      dir = home != nullptr && *home != '\0' ? home : ".";
    }
    store::InitResult result = store::init_workspace(dir, {.encrypt = flags->encrypt});
    if (!flags->shared_group.empty())
      store::share_workspace_with_group(result.root, flags->shared_group);
    if (flags->json) {
      nlohmann::json j = {{"root", result.root.string()},
                          {"dot_dir", (result.root / store::kDotDir).string()},
                          {"created", result.created},
                          {"encrypted", result.encrypted},
                          {"schema_version", result.schema_version},
                          {"shared_group", flags->shared_group}};
      std::cout << j.dump(2) << "\n";
    } else if (result.created) {
      fmt::print("initialized {}Enclave workspace in {} (schema version {})\n",
                 result.encrypted ? "encrypted " : "", (result.root / store::kDotDir).string(),
                 result.schema_version);
    } else {
      fmt::print("{} is already an Enclave workspace (schema version {})\n", result.root.string(),
                 result.schema_version);
    }
  });
}

}  // namespace enclave::cli
