#include "store/run_log.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <utility>

#include "core/error.h"
#include "core/file.h"
#include "store/names.h"
#include "store/run_query.h"
#include "store/sealed_log.h"

namespace enclave::store {
namespace {

std::pair<std::string, std::string> split_assignment(const std::string& item,
                                                     std::string_view flag) {
  const std::size_t eq = item.find('=');
  if (eq == std::string::npos || eq == 0)
    fail_input("{} '{}': expected KEY=VALUE", flag, printable(item));
  return {item.substr(0, eq), item.substr(eq + 1)};
}

double parse_metric_value(const std::string& key, const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size() || errno == ERANGE)
    fail_input("--metric {}: '{}' is not a number", printable(key), printable(text));
  return value;
}

}  // namespace

nlohmann::json parse_param_assignments(const std::vector<std::string>& items,
                                       std::string_view flag) {
  nlohmann::json params = nlohmann::json::object();
  for (const std::string& item : items) {
    auto [key, text] = split_assignment(item, flag);
    validate_tag_value(key, std::string(flag) + " key");
    nlohmann::json value = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    params[key] = value.is_discarded() ? nlohmann::json(text) : value;
  }
  return params;
}

RunLogResult log_run_assignments(const FindOptions& find, const RunLogRequest& request) {
  std::string run_text = request.run;
  if (run_text.empty()) {
    const char* env = std::getenv("ENCLAVE_RUN_ID");
    if (env == nullptr || *env == '\0') {
      fail_input(
          "runs log: no run given: pass --run ID, or call it from a program started by "
          "`enclave runs exec` (which sets $ENCLAVE_RUN_ID)");
    }
    run_text = env;
  }
  RunLogResult out;
  out.run_id = parse_run_id(run_text);
  if (request.metrics.empty() && request.params.empty())
    fail_input("runs log: give --metric KEY=VALUE or --param KEY=VALUE");
  RunUpdate update;
  for (const std::string& item : request.metrics) {
    auto [key, text] = split_assignment(item, "--metric");
    update.metrics.push_back({key, parse_metric_value(key, text), request.step});
  }
  update.params = parse_param_assignments(request.params);
  auto workspace = Workspace::open(find);
  out.points = log_to_run(workspace->db(), out.run_id, update);
  out.params = std::move(update.params);
  return out;
}

std::string read_run_log(const Workspace& workspace, const nlohmann::json& run) {
  const std::string rel = run.value("log_path", std::string());
  if (rel.empty()) return "";
  validate_relative_path(rel, "run log path");
  const std::filesystem::path path = workspace.dot_dir() / rel;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return "";
  return read_log(path, workspace_key_for(workspace.dot_dir()), std::uint64_t{64} << 20);
}

}  // namespace enclave::store
