// `enclave lineage REF [--up|--down]`: where a model, dataset, run or
// artifact came from and what was built from it.
#include <iostream>
#include <memory>
#include <string>

#include "cli/commands.h"
#include "store/lineage.h"
#include "store/workspace.h"

namespace enclave::cli {
namespace {

struct LineageFlags {
  std::string workspace;
  std::string ref;
  std::string kind;
  bool up = false;
  bool down = false;
  int depth = 64;
  bool json = false;
  bool params = false;
};

}  // namespace

void register_lineage(CLI::App& app) {
  auto flags = std::make_shared<LineageFlags>();
  CLI::App* cmd = app.add_subcommand("lineage");
  cmd->add_option("ref", flags->ref,
                  "A model or dataset (NAME, NAME@3, NAME:alias), a run (run:12) or an artifact "
                  "(sha256:...)")
      ->required();
  cmd->add_flag("--up", flags->up, "Only upstream: what it was made from");
  cmd->add_flag("--down", flags->down, "Only downstream: what was made from it");
  cmd->add_option("--kind", flags->kind, "Whether NAME is a model or a dataset, when both exist")
      ->check(CLI::IsMember({"model", "dataset"}));
  cmd->add_option("--depth", flags->depth, "Levels to follow before cutting off")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  add_workspace_flag(*cmd, flags->workspace);
  cmd->add_flag("--json", flags->json, "Print the graph as JSON");
  cmd->add_flag("--params", flags->params, "Show each run's parameters (long for training runs)");
  cmd->callback([flags] {
    store::LineageOptions options;
    options.kind = flags->kind;
    options.max_depth = flags->depth;
    if (flags->up != flags->down) {
      options.direction = flags->up ? store::LineageDirection::kUp : store::LineageDirection::kDown;
    }
    store::Workspace workspace(workspace_root(flags->workspace));
    nlohmann::json graph = store::lineage(workspace.db(), flags->ref, options);
    if (flags->json) {
      std::cout << graph.dump(2) << "\n";
    } else {
      std::cout << store::format_lineage(graph, {.params = flags->params});
    }
  });
}

}  // namespace enclave::cli
