// `enclave audit list`, `enclave audit verify` and `enclave audit anchor`.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "store/audit.h"
#include "store/audit_anchor.h"
#include "store/audit_key.h"
#include "store/workspace.h"

namespace enclave::cli {
namespace {

struct ListFlags {
  std::string workspace;
  std::int64_t limit = 0;
  std::string action;
  bool json = false;
};

struct VerifyFlags {
  std::string workspace;
  std::string anchor;
  bool json = false;
};

struct AnchorFlags {
  std::string workspace;
  std::string out;
  bool json = false;
};

// --audit-key-file on each subcommand; $ENCLAVE_AUDIT_KEY_FILE otherwise.
void add_key_flag(CLI::App& cmd) {
  cmd.add_option_function<std::string>(
      "--audit-key-file", [](const std::string& file) { store::set_audit_key_file(file); },
      "Key of the audit chain, kept outside the workspace (default: $ENCLAVE_AUDIT_KEY_FILE)");
}

}  // namespace

void register_audit(CLI::App& app) {
  CLI::App* audit = app.add_subcommand("audit");
  audit->require_subcommand(1);

  auto list = std::make_shared<ListFlags>();
  CLI::App* list_cmd = audit->add_subcommand("list", "Audit entries, oldest first");
  list_cmd->add_option("--limit", list->limit, "Only the newest N entries (0: all)")
      ->check(CLI::NonNegativeNumber);
  list_cmd->add_option("--action", list->action,
                       "Only entries of this action (register, alias, tag, gc, ...)");
  add_workspace_flag(*list_cmd, list->workspace);
  add_key_flag(*list_cmd);
  list_cmd->add_flag("--json", list->json, "Print as JSON, with each entry's hash");
  list_cmd->callback([list] {
    store::Workspace workspace(workspace_root(list->workspace));
    std::vector<store::AuditEntry> entries =
        store::list_audit(workspace.db(), {.limit = list->limit, .action = list->action});
    if (list->json) {
      std::cout << store::audit_entries_json(entries).dump(2) << "\n";
    } else {
      std::cout << store::format_audit_entries(entries);
    }
  });

  auto verify = std::make_shared<VerifyFlags>();
  CLI::App* verify_cmd = audit->add_subcommand(
      "verify",
      "Check the hash chain: an edited, inserted or deleted entry gives a non-zero exit code");
  add_workspace_flag(*verify_cmd, verify->workspace);
  add_key_flag(*verify_cmd);
  verify_cmd->add_option("--anchor", verify->anchor,
                         "Also check the log against this anchor (`enclave audit anchor`)");
  verify_cmd->add_flag("--json", verify->json, "Print the report as JSON");
  verify_cmd->callback([verify] {
    store::Workspace workspace(workspace_root(verify->workspace));
    store::AuditReport report = store::verify_audit(workspace.db());
    if (!verify->anchor.empty()) {
      for (store::AuditProblem& p : store::check_audit_anchor(workspace.db(), verify->anchor))
        report.problems.push_back(std::move(p));
    }
    if (verify->json) {
      std::cout << store::audit_report_json(report).dump(2) << "\n";
    } else {
      std::cout << store::format_audit_report(report);
    }
    std::cout.flush();
    if (!report.ok()) {
      fail(ErrorKind::kIo, "audit verify: the audit log of {} is broken ({} problem(s))",
           workspace.root().string(), report.problems.size());
    }
  });

  auto anchor = std::make_shared<AnchorFlags>();
  CLI::App* anchor_cmd =
      audit->add_subcommand("anchor",
                            "Write a signed record of the log's head (Ed25519) to keep elsewhere; "
                            "`audit verify --anchor FILE` checks the log against it");
  anchor_cmd->add_option("--out", anchor->out, "Anchor file to write")->required();
  add_workspace_flag(*anchor_cmd, anchor->workspace);
  add_key_flag(*anchor_cmd);
  anchor_cmd->add_flag("--json", anchor->json, "Print the anchor as JSON");
  anchor_cmd->callback([anchor] {
    store::Workspace workspace(workspace_root(anchor->workspace));
    const nlohmann::json record =
        store::write_audit_anchor(workspace.db(), workspace.root(), anchor->out);
    if (anchor->json) {
      std::cout << record.dump(2) << "\n";
    } else {
      std::cout << "anchored entry " << record["seq"].get<std::int64_t>() << " ("
                << record["hash"].get<std::string>() << ") in " << anchor->out << "; public key "
                << record["public_key"].get<std::string>() << "\n";
    }
  });
}

}  // namespace enclave::cli
