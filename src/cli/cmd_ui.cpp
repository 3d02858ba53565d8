// `enclave ui`: the dashboard over the workspace (src/ui/dashboard.h).
#include <memory>
#include <string>

#include "cli/commands.h"
#include "ui/dashboard.h"

namespace enclave::cli {

void register_ui(CLI::App& app) {
  auto options = std::make_shared<ui::UiOptions>();
  auto workspace = std::make_shared<std::string>();
  auto api_keys = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "ui", "The dashboard: runs, models, data, serving, feedback and pipelines in a browser");
  cmd->add_option("--host", options->host,
                  "Address to listen on (beyond loopback only with --api-keys)")
      ->capture_default_str();
  cmd->add_option("--port", options->port, "Port (0: any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--api-keys", *api_keys,
                  "Keys file (`enclave api-keys add`): sign in with a key, whose scopes decide "
                  "what may be changed; without it a sign-in URL is printed");
  cmd->add_option("--tls-cert", options->tls_cert, "Serve HTTPS with this PEM certificate (chain)");
  cmd->add_option("--tls-key", options->tls_key, "The PEM private key of --tls-cert");
  add_workspace_flag(*cmd, *workspace);
  cmd->callback([options, workspace, api_keys] {
    ui::UiOptions o = *options;
    o.api_keys = *api_keys;
    o.workspace_root = workspace_root(*workspace);
    ui::run_ui(o);
  });
}

}  // namespace enclave::cli
