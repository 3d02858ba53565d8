// `enclave audit list` and `enclave audit verify`.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "store/audit.h"
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
  bool json = false;
};

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
  verify_cmd->add_flag("--json", verify->json, "Print the report as JSON");
  verify_cmd->callback([verify] {
    store::Workspace workspace(workspace_root(verify->workspace));
    store::AuditReport report = store::verify_audit(workspace.db());
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
}

}  // namespace enclave::cli
