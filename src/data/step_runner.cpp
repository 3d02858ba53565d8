#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <memory>

#include "core/error.h"
#include "core/file.h"
#include "core/program.h"
#include "core/staging_dir.h"
#include "data/step_context.h"
#include "data/steps.h"
#include "store/runs.h"

namespace enclave::data {

namespace {

using StepFn = void (*)(StepContext&);

struct StepEntry {
  std::string_view name;
  StepFn fn;
};

constexpr StepEntry kSteps[] = {
    {"ingest", step_ingest}, {"normalize", step_normalize},
    {"filter", step_filter}, {"dedup", step_dedup},
    {"pii", step_pii},       {"decontaminate", step_decontaminate},
    {"split", step_split},   {"format", step_format},
};

}  // namespace

const std::vector<std::string_view>& step_names() {
  static const std::vector<std::string_view> names = [] {
    std::vector<std::string_view> out;
    for (const auto& s : kSteps) out.push_back(s.name);
    return out;
  }();
  return names;
}

void check_keys(const nlohmann::json& params, std::string_view what,
                std::initializer_list<std::string_view> keys) {
  if (!params.is_object()) fail_input("{}: settings must be a mapping of names to values", what);
  for (const auto& [key, value] : params.items()) {
    bool known = false;
    for (auto k : keys) known = known || k == key;
    if (!known)
      fail_input("{}: unknown setting '{}' (expected {})", what, key, fmt::join(keys, ", "));
  }
}

void report_stats(StepContext& ctx, const StreamStats& s) {
  ctx.report["documents_in"] = s.documents_in;
  ctx.report["documents_out"] = s.documents_out;
  ctx.report["chars_in"] = s.chars_in;
  ctx.report["chars_out"] = s.chars_out;
  ctx.report["removed"] = s.removed;
  ctx.report["bytes_in"] = s.bytes_in;
}

StreamStats stream_splits(StepContext& ctx, DocumentStep& step, std::string_view side_name) {
  StreamStats total;
  std::unique_ptr<OutputFile> side;
  if (!side_name.empty()) side = std::make_unique<OutputFile>(ctx.out_dir / side_name);
  std::uint64_t index = 0;
  Progress progress({.label = ctx.what, .unit = "docs"}, stderr, ctx.show_progress && isatty(2));
  for (const auto& split : ctx.input->splits) {
    OutputFile out(ctx.out_dir / split);
    total += stream_documents(ctx.input->dir / split, {&out}, side.get(), step, ctx.pool, &progress,
                              &index);
    out.close();
  }
  if (side) side->close();
  progress.finish();
  report_stats(ctx, total);
  return total;
}

std::string with_member(std::string jsonl, std::string_view key, std::string_view value) {
  ENCLAVE_CHECK(!jsonl.empty() && jsonl.back() == '}');
  jsonl.pop_back();
  if (jsonl.size() > 1) jsonl += ',';
  append_json_string(jsonl, key);
  jsonl += ':';
  append_json_string(jsonl, value);
  jsonl += '}';
  return jsonl;
}

namespace {

// What the user can change when a step keeps nothing, by step.
std::string advice(const StepContext& ctx, const StepRequest& request) {
  const nlohmann::json& p = ctx.params;
  if (request.step == "ingest")
    return "check the paths and file types (.txt .md .jsonl .pdf .docx .html .hwp .hwpx)";
  if (request.step == "format") {
    const std::string to = p.value("to", "");
    if (to == "text") return "give documents with text";
    return fmt::format(
        "--to {} needs rows that carry those fields ({}); documents read from plain files "
        "have only 'text': use --to text for pretraining data, or ingest JSONL rows that have "
        "the fields",
        to,
        to == "messages"                 ? "'messages', or 'prompt' and 'completion'"
        : to == "prompt/chosen/rejected" ? "'prompt', 'chosen' and 'rejected'"
                                         : "'prompt' and 'completion'");
  }
  if (request.step == "filter")
    return "loosen the settings that removed them (--keep-rejected writes each removed document "
           "with its rule)";
  if (request.step == "decontaminate") return "check that --eval names evaluation files";
  return "check the step's settings";
}

// A step that keeps no documents leaves nothing to train on; recording an
// empty version would only move the surprise to the trainer.
void fail_if_nothing_kept(const StepContext& ctx, const StepRequest& request) {
  const nlohmann::json& r = ctx.report;
  if (!r.contains("documents_out") || !r["documents_out"].is_number_integer() ||
      r["documents_out"].get<std::int64_t>() > 0) {
    return;
  }
  const std::int64_t in = r.value("documents_in", std::int64_t{0});
  if (in == 0 && request.step != "ingest") {
    fail_input("{}: {} has no documents; nothing was recorded", ctx.what,
               ctx.input != nullptr ? ctx.input->version.ref() : request.input);
  }
  std::string why;
  const bool has_reasons = r.contains("invalid") && r["invalid"].is_object();
  for (const char* key : {"removed", "invalid"}) {
    if (!r.contains(key) || !r[key].is_object()) continue;
    for (const auto& [k, v] : r[key].items()) {
      if (key == std::string_view("removed") && k == "invalid" && has_reasons) continue;
      why += fmt::format("{}{} {}", why.empty() ? "" : ", ", v.dump(), k);
    }
  }
  if (r.contains("invalid_examples") && r["invalid_examples"].is_array() &&
      !r["invalid_examples"].empty()) {
    why += fmt::format(" (first: {})", r["invalid_examples"][0].get<std::string>());
  }
  if (r.contains("skipped_files") && r["skipped_files"].is_array())
    why += fmt::format("{}{} file(s) skipped", why.empty() ? "" : ", ", r["skipped_files"].size());
  fail_input("{}: kept 0 of {} documents{}{}; nothing was recorded: {}", ctx.what, in,
             why.empty() ? "" : ": ", why, advice(ctx, request));
}

}  // namespace

StepResult run_step(const StepRequest& request) {
  const StepEntry* entry = nullptr;
  for (const auto& s : kSteps) {
    if (s.name == request.step) entry = &s;
  }
  if (entry == nullptr) {
    fail_input("unknown data step '{}' (expected {})", request.step, fmt::join(step_names(), ", "));
  }
  const std::string what = fmt::format("data {}", request.step);
  if (request.output.empty()) fail_input("{}: an output dataset name is required (--out)", what);
  const bool needs_input = request.step != "ingest";
  if (needs_input && request.input.empty())
    fail_input("{}: an input dataset is required (--in)", what);
  const nlohmann::json params =
      request.params.is_null() ? nlohmann::json::object() : request.params;

  auto workspace = store::Workspace::open({.workspace = request.workspace});
  std::optional<InputDataset> input;
  if (needs_input) input = open_dataset(*workspace, request.input);

  store::Run run(workspace->root(),
                 {.kind = "data",
                  .name = fmt::format("data {} -> {}", request.step, request.output),
                  .command = request.command,
                  .params = {{"step", request.step},
                             {"input", request.input},
                             {"output", request.output},
                             {"params", params}}});
  try {
    if (input) run.log_input_version(input->version.id, "input");
    const StagingDir staging = StagingDir::scratch(workspace->tmp_dir(), "data");
    WorkerPool pool(request.threads);
    StepContext ctx{params,           what, input ? &*input : nullptr,
                    staging.path(),   pool, request.show_progress,
                    workspace->root()};
    const auto start = std::chrono::steady_clock::now();
    entry->fn(ctx);
    fail_if_nothing_kept(ctx, request);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    nlohmann::json report = {
        {"format", kReportFormat},
        {"format_version", kReportFormatVersion},
        {"step", request.step},
        {"parent", input ? nlohmann::json(input->version.ref()) : nlohmann::json()},
        {"params", ctx.report.contains("params") ? ctx.report["params"] : params},
        {"recipe", request.recipe},
        {"seconds", seconds},
        {"threads", pool.size()},
        {"program_version", program_identity().version},
        {"build_id", program_identity().build_id},
    };
    ctx.report.erase("params");
    report.update(ctx.report);
    write_file_atomic(staging.path() / kReportFile, report.dump(2) + "\n");

    store::VersionInfo version =
        store::register_version(*workspace, {.kind = store::RegistryKind::kDataset,
                                             .name = request.output,
                                             .source = staging.path(),
                                             .from_run = run.id()});
    run.log_output_version(version.id, "output");
    for (const char* key : {"documents_in", "documents_out", "chars_in", "chars_out"}) {
      if (report.contains(key) && report[key].is_number())
        run.log_metric(key, report[key].get<double>(), 0);
    }
    run.log_params({{"report",
                     {{"version", version.ref()},
                      {"documents_out", report.value("documents_out", std::int64_t{0})}}}});
    run.finish(store::RunStatus::kFinished);
    return {version, run.id(), report};
  } catch (const std::exception& e) {
    run.finish(store::RunStatus::kFailed, e.what());
    throw;
  }
}

std::string format_step_summary(const StepResult& r) {
  const auto& j = r.report;
  std::string line =
      fmt::format("{} (run {}, {}): {} -> {} documents", r.version.ref(), r.run_id,
                  j.value("step", std::string()), j.value("documents_in", std::int64_t{0}),
                  j.value("documents_out", std::int64_t{0}));
  auto append = [&](std::string_view key, std::string_view label) {
    if (!j.contains(key) || !j[key].is_object() || j[key].empty()) return;
    std::string parts;
    for (const auto& [k, v] : j[key].items())
      parts += fmt::format("{}{}={}", parts.empty() ? "" : ", ", k, v.dump());
    line += fmt::format("; {} {}", label, parts);
  };
  append("removed", "removed");
  append("pii", "pii");
  append("splits", "splits");
  if (j.contains("skipped_files") && j["skipped_files"].is_array() && !j["skipped_files"].empty()) {
    line += fmt::format("; skipped {} file(s)", j["skipped_files"].size());
  }
  return line;
}

}  // namespace enclave::data
