#include "cli/command_scopes.h"

#include <array>
#include <utility>

#include "store/users.h"

namespace enclave::cli {
namespace {

using store::Scope;

// Looking needs read; running models and jobs that make new versions
// (data, training, merges, evaluation, serving, registering, tagging) needs
// infer; feedback needs feedback; moving what is in production needs
// approve; setting the workspace up, managing who may use it, and
// destroying or rewriting data needs admin.
constexpr std::pair<std::string_view, Scope> kScopes[] = {
    {"init", Scope::kAdmin},
    {"users", Scope::kAdmin},
    {"users list", Scope::kRead},
    {"api-keys", Scope::kAdmin},
    {"store", Scope::kAdmin},  // gc, backup, restore, rekey, purges
    {"store verify", Scope::kRead},
    {"store stats", Scope::kRead},
    {"audit", Scope::kRead},
    {"audit anchor", Scope::kAdmin},
    {"runs", Scope::kRead},
    {"runs exec", Scope::kInfer},
    {"lineage", Scope::kRead},
    {"tokenize", Scope::kRead},
    {"template", Scope::kRead},
    {"model", Scope::kInfer},
    {"model inspect", Scope::kRead},
    {"export", Scope::kInfer},
    {"models", Scope::kRead},
    {"models register", Scope::kInfer},
    {"models tag", Scope::kInfer},
    {"models alias", Scope::kApprove},
    {"models delete", Scope::kAdmin},
    {"datasets", Scope::kRead},
    {"datasets register", Scope::kInfer},
    {"datasets tag", Scope::kInfer},
    {"datasets alias", Scope::kApprove},
    {"datasets delete", Scope::kAdmin},
    {"datasets purge", Scope::kAdmin},
    {"data", Scope::kInfer},
    {"generate", Scope::kInfer},
    {"score", Scope::kInfer},
    {"merge", Scope::kInfer},
    {"merge-lora", Scope::kInfer},
    {"train", Scope::kInfer},
    {"eval", Scope::kInfer},
    {"serve", Scope::kInfer},
    {"monitor", Scope::kRead},
    {"monitor purge", Scope::kAdmin},
    {"feedback", Scope::kFeedback},
    {"pipeline", Scope::kRead},
    {"pipeline run", Scope::kInfer},
    {"pipeline watch", Scope::kInfer},
    {"pipeline approve", Scope::kApprove},
    {"pipeline reject", Scope::kApprove},
    // What a caller may change in the dashboard its key or role decides.
    {"ui", Scope::kRead},
};

bool has_prefix(std::string_view command, std::string_view prefix) {
  return command == prefix || (command.starts_with(prefix) && command.size() > prefix.size() &&
                               command[prefix.size()] == ' ');
}

void install(CLI::App& app, const std::string& path) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    const std::string command = path.empty() ? sub->get_name() : path + " " + sub->get_name();
    sub->preparse_callback(
        [command](std::size_t) { store::set_command_scope(command_scope(command), command); });
    install(*sub, command);
  }
}

}  // namespace

Scope command_scope(std::string_view command) {
  std::size_t best = 0;
  Scope scope = Scope::kAdmin;
  for (const auto& [prefix, s] : kScopes) {
    if (prefix.size() > best && has_prefix(command, prefix)) {
      best = prefix.size();
      scope = s;
    }
  }
  return scope;
}

void install_scope_checks(CLI::App& app) { install(app, ""); }

}  // namespace enclave::cli
