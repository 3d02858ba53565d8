// The steps that read files or clean documents one at a time: ingest,
// normalize, filter and pii.
#include <fmt/format.h>

#include <atomic>

#include "core/error.h"
#include "core/json.h"
#include "data/ingest.h"
#include "data/normalize.h"
#include "data/quality_filter.h"
#include "data/step_context.h"
#include "text/pii.h"

namespace enclave::data {

void step_ingest(StepContext& ctx) {
  check_keys(ctx.params, ctx.what,
             {"paths", "field", "max_file_mb", "pdf_timeout_s", "pdf_memory_mb"});
  IngestOptions options;
  if (!ctx.params.contains("paths") || !ctx.params["paths"].is_array() ||
      ctx.params["paths"].empty()) {
    fail_input("{}: 'paths' must list at least one file or folder", ctx.what);
  }
  for (const auto& p : ctx.params["paths"]) {
    if (!p.is_string()) fail_input("{}: 'paths' must hold strings", ctx.what);
    options.paths.emplace_back(p.get<std::string>());
  }
  options.jsonl_field = json_string(ctx.params, "field", ctx.what, "text");
  options.max_file_bytes =
      static_cast<std::uint64_t>(json_int(ctx.params, "max_file_mb", ctx.what, 1024)) << 20;
  options.pdf.timeout_s = json_number(ctx.params, "pdf_timeout_s", ctx.what, 60);
  options.pdf.max_memory_bytes =
      static_cast<std::uint64_t>(json_int(ctx.params, "pdf_memory_mb", ctx.what, 4096)) << 20;
  if (options.max_file_bytes == 0 || options.pdf.timeout_s <= 0)
    fail_input("{}: limits must be positive", ctx.what);
  options.threads = ctx.pool.size();
  options.show_progress = ctx.show_progress;
  OutputFile out(ctx.out_dir / "data.jsonl");
  std::int64_t chars = 0;
  IngestReport report = ingest(options, [&](Document&& doc) {
    chars += count_code_points(doc.text);
    out.write_line(to_jsonl(doc));
  });
  out.close();
  nlohmann::json j = to_json(report);
  ctx.report.update(j);
  ctx.report["documents_in"] = report.documents;
  ctx.report["documents_out"] = report.documents;
  ctx.report["chars_in"] = chars;
  ctx.report["chars_out"] = chars;
  ctx.report["removed"] = nlohmann::json::object();
  ctx.report["params"] = {{"paths", ctx.params["paths"]},
                          {"field", options.jsonl_field},
                          {"max_file_mb", options.max_file_bytes >> 20},
                          {"pdf_timeout_s", options.pdf.timeout_s},
                          {"pdf_memory_mb", options.pdf.max_memory_bytes >> 20}};
}

namespace {

class NormalizeStep : public DocumentStep {
 public:
  explicit NormalizeStep(NormalizeOptions options) : options_(options) {}
  void process(Document& doc, DocOutcome& out, int) override {
    std::string text = normalize_text(doc.text, options_);
    if (!doc.extra.empty()) {
      doc.extra = map_json_strings(doc.extra,
                                   [&](std::string_view s) { return normalize_text(s, options_); });
    }
    if (text != doc.text) changed_.fetch_add(1, std::memory_order_relaxed);
    doc.text = std::move(text);
    if (doc.text.empty()) {
      out.output = -1;
      out.rule = "empty_after_normalize";
    }
  }
  std::int64_t changed() const { return changed_.load(); }

 private:
  NormalizeOptions options_;
  std::atomic<std::int64_t> changed_{0};
};

class FilterStep : public DocumentStep {
 public:
  FilterStep(FilterConfig config, bool keep_rejected)
      : config_(std::move(config)), keep_rejected_(keep_rejected) {}
  void process(Document& doc, DocOutcome& out, int) override {
    std::string rule = check_quality(doc.text, config_);
    if (rule.empty()) return;
    out.output = -1;
    if (keep_rejected_) out.side = with_member(to_jsonl(doc), "rejected_by", rule);
    out.rule = std::move(rule);
  }

 private:
  FilterConfig config_;
  bool keep_rejected_;
};

enum class PiiMode { kRedact, kDrop, kReport };

class PiiStep : public DocumentStep {
 public:
  PiiStep(PiiOptions options, PiiMode mode, int workers)
      : options_(options),
        mode_(mode),
        counts_(static_cast<std::size_t>(workers)),
        docs_with_pii_(static_cast<std::size_t>(workers), 0) {}
  void process(Document& doc, DocOutcome& out, int worker) override {
    PiiCounts found;
    auto scrub = [&](std::string_view s) {
      Redaction r = redact_pii(s, options_);
      found += r.counts;
      return mode_ == PiiMode::kRedact ? std::move(r.text) : std::string(s);
    };
    std::string text = scrub(doc.text);
    if (!doc.extra.empty()) doc.extra = map_json_strings(doc.extra, scrub);
    if (mode_ == PiiMode::kRedact) doc.text = std::move(text);
    counts_[worker] += found;
    if (found.total() > 0) {
      ++docs_with_pii_[worker];
      if (mode_ == PiiMode::kDrop) {
        out.output = -1;
        out.rule = "pii";
      }
    }
  }
  PiiCounts counts() const {
    PiiCounts total;
    for (const auto& c : counts_) total += c;
    return total;
  }
  std::int64_t docs_with_pii() const {
    std::int64_t n = 0;
    for (auto v : docs_with_pii_) n += v;
    return n;
  }

 private:
  PiiOptions options_;
  PiiMode mode_;
  std::vector<PiiCounts> counts_;  // per worker: no locks on the hot path
  std::vector<std::int64_t> docs_with_pii_;
};

}  // namespace

void step_normalize(StepContext& ctx) {
  check_keys(ctx.params, ctx.what, {"form", "nfkc", "controls", "whitespace"});
  NormalizeOptions options{.controls = json_bool(ctx.params, "controls", ctx.what, true),
                           .whitespace = json_bool(ctx.params, "whitespace", ctx.what, true)};
  // "nfkc" (a bool, and the --no-nfkc flag) is the setting before "form",
  // still read so older recipes run: true is nfkc; false, which skipped
  // Unicode normalisation, is now nfc (composition only, no folds).
  if (ctx.params.contains("nfkc")) {
    if (ctx.params.contains("form"))
      fail_input("{}: give 'form' only ('nfkc' is its deprecated older spelling)", ctx.what);
    options.form =
        json_bool(ctx.params, "nfkc", ctx.what, true) ? NormalForm::kNfkc : NormalForm::kNfc;
  } else {
    const std::string form = json_string(ctx.params, "form", ctx.what, "safe");
    try {
      options.form = parse_normal_form(form);
    } catch (const Error& e) {
      fail_input("{}: 'form': {}", ctx.what, e.what());
    }
  }
  NormalizeStep step(options);
  stream_splits(ctx, step);
  ctx.report["documents_changed"] = step.changed();
  ctx.report["params"] = {{"form", to_string(options.form)},
                          {"controls", options.controls},
                          {"whitespace", options.whitespace}};
}

void step_filter(StepContext& ctx) {
  nlohmann::json settings = ctx.params;
  bool keep_rejected = false;
  if (settings.is_object() && settings.contains("keep_rejected")) {
    keep_rejected = json_bool(settings, "keep_rejected", ctx.what, false);
    settings.erase("keep_rejected");
  }
  FilterConfig config = filter_config_from_json(settings, ctx.what);
  FilterStep step(config, keep_rejected);
  stream_splits(ctx, step, keep_rejected ? "rejected.jsonl" : "");
  ctx.report["params"] = to_json(config);
  ctx.report["params"]["keep_rejected"] = keep_rejected;
}

void step_pii(StepContext& ctx) {
  check_keys(ctx.params, ctx.what, {"mode", "types", "min_confidence"});
  const std::string mode_name = json_string(ctx.params, "mode", ctx.what, "redact");
  PiiMode mode = PiiMode::kRedact;
  if (mode_name == "drop") {
    mode = PiiMode::kDrop;
  } else if (mode_name == "report") {
    mode = PiiMode::kReport;
  } else if (mode_name != "redact") {
    fail_input("{}: 'mode' must be redact, drop or report, got '{}'", ctx.what, mode_name);
  }
  PiiOptions options;
  options.min_confidence = json_number(ctx.params, "min_confidence", ctx.what, 0.5);
  if (ctx.params.contains("types")) {
    const auto& types = ctx.params["types"];
    if (!types.is_array()) fail_input("{}: 'types' must be a list such as [email, rrn]", ctx.what);
    options.enabled.fill(false);
    for (const auto& t : types) {
      if (!t.is_string()) fail_input("{}: 'types' must hold strings", ctx.what);
      options.enabled[static_cast<int>(parse_pii_type(t.get<std::string>()))] = true;
    }
  }
  PiiStep step(options, mode, ctx.pool.size());
  stream_splits(ctx, step);
  nlohmann::json counts = nlohmann::json::object();
  nlohmann::json types = nlohmann::json::array();
  const PiiCounts total = step.counts();
  for (PiiType t : kAllPiiTypes) {
    counts[std::string(to_string(t))] = total[t];
    if (options.enabled[static_cast<int>(t)]) types.push_back(to_string(t));
  }
  ctx.report["pii"] = counts;
  ctx.report["documents_with_pii"] = step.docs_with_pii();
  ctx.report["params"] = {
      {"mode", mode_name}, {"types", types}, {"min_confidence", options.min_confidence}};
}

}  // namespace enclave::data
