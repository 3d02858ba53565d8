// The steps that shape the output: split (train/validation/test by hash)
// and format (training record formats, validated).
#include <fmt/format.h>
#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <optional>

#include "core/error.h"
#include "core/json.h"
#include "data/step_context.h"
#include "data/training_format.h"
#include "store/model_ref.h"
#include "text/tokenizer.h"

namespace enclave::data {

namespace {

constexpr std::size_t kInvalidExamples = 20;

class SplitStep : public DocumentStep {
 public:
  SplitStep(std::vector<double> bounds, std::string seed, bool by_text)
      : bounds_(std::move(bounds)), seed_(std::move(seed)), by_text_(by_text) {}
  void process(Document& doc, DocOutcome& out, int) override {
    const std::string_view key = by_text_ ? std::string_view(doc.text) : std::string_view(doc.id);
    const std::uint64_t h =
        XXH3_64bits_withSeed(key.data(), key.size(), XXH3_64bits(seed_.data(), seed_.size()));
    // The top 53 bits as a fraction in [0, 1).
    const double u = static_cast<double>(h >> 11) / 9007199254740992.0;
    std::size_t bucket = 0;
    while (bucket + 1 < bounds_.size() && u >= bounds_[bucket]) ++bucket;
    out.output = static_cast<int>(bucket);
  }

 private:
  std::vector<double> bounds_;  // cumulative fractions
  std::string seed_;
  bool by_text_;
};

class FormatStep : public DocumentStep {
 public:
  explicit FormatStep(FormatOptions options) : options_(options) {}
  void process(Document& doc, DocOutcome& out, int) override {
    FormattedRecord r = format_record(doc, options_);
    if (r.error.empty()) {
      out.line = std::move(r.line);
      out.chars_out = r.chars;
      return;
    }
    out.output = -1;
    out.rule = "invalid";
    nlohmann::json side = {{"id", doc.id}, {"reason", r.error}};
    out.side = side.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    std::lock_guard lock(mutex_);
    ++reasons_[r.error.substr(0, r.error.find(':'))];
    if (examples_.size() < kInvalidExamples) examples_.push_back(doc.id + ": " + r.error);
  }
  std::map<std::string, std::int64_t> reasons() const { return reasons_; }
  std::vector<std::string> examples() const { return examples_; }

 private:
  FormatOptions options_;
  std::mutex mutex_;  // invalid rows are rare; a lock keeps the bookkeeping simple
  std::map<std::string, std::int64_t> reasons_;
  std::vector<std::string> examples_;
};

}  // namespace

void step_split(StepContext& ctx) {
  check_keys(ctx.params, ctx.what, {"train", "validation", "test", "seed", "key"});
  const double train = json_number(ctx.params, "train", ctx.what, 0.9);
  const double validation = json_number(ctx.params, "validation", ctx.what, 0.05);
  const double test = json_number(ctx.params, "test", ctx.what, 0.05);
  const std::string seed = json_string(ctx.params, "seed", ctx.what, "enclave");
  const std::string key = json_string(ctx.params, "key", ctx.what, "id");
  if (key != "id" && key != "text")
    fail_input("{}: 'key' must be id or text, got '{}'", ctx.what, key);
  if (train < 0 || validation < 0 || test < 0 || std::abs(train + validation + test - 1.0) > 1e-6) {
    fail_input("{}: train, validation and test must be >= 0 and add up to 1 (got {}, {}, {})",
               ctx.what, train, validation, test);
  }
  if (ctx.input->splits.size() != 1) {
    fail_input("{}: {} is already split into {} files", ctx.what, ctx.input->version.ref(),
               ctx.input->splits.size());
  }
  std::vector<std::pair<std::string, double>> parts;
  for (auto [name, fraction] :
       {std::pair{"train", train}, {"validation", validation}, {"test", test}}) {
    if (fraction > 0) parts.emplace_back(name, fraction);
  }
  std::vector<double> bounds;
  double cumulative = 0;
  std::vector<std::unique_ptr<OutputFile>> files;
  std::vector<OutputFile*> outputs;
  for (const auto& [name, fraction] : parts) {
    cumulative += fraction;
    bounds.push_back(cumulative);
    files.push_back(std::make_unique<OutputFile>(ctx.out_dir / (name + ".jsonl")));
    outputs.push_back(files.back().get());
  }
  SplitStep step(bounds, seed, key == "text");
  std::uint64_t index = 0;
  StreamStats stats = stream_documents(ctx.input->dir / ctx.input->splits.front(), outputs, nullptr,
                                       step, ctx.pool, nullptr, &index);
  nlohmann::json splits = nlohmann::json::object();
  for (std::size_t i = 0; i < files.size(); ++i) {
    splits[parts[i].first] = files[i]->lines();
    files[i]->close();
  }
  report_stats(ctx, stats);
  ctx.report["splits"] = splits;
  ctx.report["params"] = {
      {"train", train}, {"validation", validation}, {"test", test}, {"seed", seed}, {"key", key}};
}

void step_format(StepContext& ctx) {
  check_keys(ctx.params, ctx.what, {"to", "tokenizer", "max_tokens", "min_tokens"});
  if (!ctx.params.contains("to")) {
    fail_input("{}: 'to' is required (text, messages, prompt/completion or prompt/chosen/rejected)",
               ctx.what);
  }
  FormatOptions options;
  options.to = parse_training_format(json_string(ctx.params, "to", ctx.what));
  options.max_tokens = json_int(ctx.params, "max_tokens", ctx.what, 0);
  options.min_tokens = json_int(ctx.params, "min_tokens", ctx.what, 0);
  const std::string tokenizer_ref = json_string(ctx.params, "tokenizer", ctx.what, "");
  if ((options.max_tokens > 0 || options.min_tokens > 0) && tokenizer_ref.empty()) {
    fail_input("{}: token limits need a tokenizer (a model folder or registered model)", ctx.what);
  }
  std::unique_ptr<Tokenizer> tokenizer;
  std::optional<ChatTemplate> chat_template;
  if (!tokenizer_ref.empty()) {
    // An adapter reference counts with its base's tokenizer and template.
    const std::filesystem::path base =
        store::resolve_model_stack(tokenizer_ref,
                                   {.find = {.workspace = ctx.workspace_root.string()}})
            .base;
    tokenizer = load_tokenizer(base);
    options.tokenizer = tokenizer.get();
    chat_template = load_chat_template(base);
    if (chat_template) options.chat_template = &*chat_template;
  }
  FormatStep step(options);
  stream_splits(ctx, step, "invalid.jsonl");
  ctx.report["invalid"] = step.reasons();
  ctx.report["invalid_examples"] = step.examples();
  ctx.report["params"] = {
      {"to", to_string(options.to)},
      {"tokenizer", tokenizer_ref.empty() ? nlohmann::json() : nlohmann::json(tokenizer_ref)},
      {"max_tokens", options.max_tokens},
      {"min_tokens", options.min_tokens}};
}

}  // namespace enclave::data
