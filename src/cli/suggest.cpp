#include "cli/suggest.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

namespace enclave::cli {
namespace {

// The subcommands a parse went through, from app down.
std::vector<const CLI::App*> parsed_path(const CLI::App& app) {
  std::vector<const CLI::App*> path{&app};
  for (;;) {
    std::vector<CLI::App*> next = path.back()->get_subcommands();
    if (next.empty()) return path;
    path.push_back(next.back());
  }
}

// "models list" for the path enclave -> models -> list (the root left out).
std::string command_words(const std::vector<const CLI::App*>& path, std::size_t end) {
  std::vector<std::string> words;
  for (std::size_t i = 1; i < end; ++i) words.push_back(path[i]->get_name());
  return fmt::format("{}", fmt::join(words, " "));
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::App* sub : app.get_subcommands(
           [](const CLI::App* a) { return !a->get_name().empty() && !a->get_disabled(); })) {
    names.push_back(sub->get_name());
  }
  return names;
}

void add_flag_names(const CLI::App& app, std::vector<std::string>& names) {
  for (const CLI::Option* opt : app.get_options()) {
    for (const std::string& n : opt->get_lnames()) names.push_back("--" + n);
    for (const std::string& n : opt->get_snames()) names.push_back("-" + n);
  }
  // Option groups are nameless subcommands whose flags belong to app.
  for (const CLI::App* group :
       app.get_subcommands([](const CLI::App* a) { return a->get_name().empty(); })) {
    add_flag_names(*group, names);
  }
}

std::string with_suggestion(std::string message, const std::optional<std::string>& suggestion,
                            const std::string& prefix) {
  if (suggestion) return fmt::format("{}; did you mean '{}{}'?", message, prefix, *suggestion);
  return message;
}

}  // namespace

std::size_t edit_distance(std::string_view a, std::string_view b) {
  // d[i][j]: distance between the first i bytes of a and the first j of b.
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.size()][b.size()];
}

std::optional<std::string> nearest(std::string_view typed,
                                   std::span<const std::string> candidates) {
  const std::string_view bare = typed.substr(std::min(typed.find_first_not_of('-'), typed.size()));
  std::optional<std::string> best;
  std::size_t best_distance = 0;
  for (const std::string& candidate : candidates) {
    const std::string_view name =
        std::string_view(candidate).substr(candidate.find_first_not_of('-'));
    const std::size_t distance = edit_distance(bare, name);
    const bool close = distance <= std::max<std::size_t>(1, name.size() / 3) ||
                       (bare.size() >= 2 && name.starts_with(bare));
    if (close && (!best || distance < best_distance)) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

std::optional<std::string> unknown_argument_message(const CLI::App& app) {
  const std::vector<const CLI::App*> path = parsed_path(app);
  for (std::size_t level = 0; level < path.size(); ++level) {
    const CLI::App& at = *path[level];
    if (at.get_allow_extras() || at.get_prefix_command()) continue;  // extras are wanted there
    const std::vector<std::string> left = at.remaining();
    if (left.empty()) continue;
    const std::string& typed = left.front();
    const std::string where = command_words(path, level + 1);
    if (typed.starts_with("-")) {
      const std::string flag = typed.substr(0, typed.find('='));
      std::vector<std::string> flags;
      add_flag_names(at, flags);
      std::string message = where.empty() ? fmt::format("unknown flag '{}'", flag)
                                          : fmt::format("unknown flag '{}' for '{}'", flag, where);
      return with_suggestion(std::move(message), nearest(flag, flags), "");
    }
    const std::vector<std::string> names = subcommand_names(at);
    if (names.empty()) {
      return where.empty() ? fmt::format("unexpected argument '{}'", typed)
                           : fmt::format("unexpected argument '{}' for '{}'", typed, where);
    }
    const std::string prefix = where.empty() ? "" : where + " ";
    return with_suggestion(fmt::format("unknown command '{}{}'", prefix, typed),
                           nearest(typed, names), prefix);
  }
  return std::nullopt;
}

}  // namespace enclave::cli
