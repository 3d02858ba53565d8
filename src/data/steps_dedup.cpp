// The steps that remove documents by comparing them with others: dedup
// (against earlier documents) and decontaminate (against evaluation sets).
#include <fmt/format.h>

#include <algorithm>
#include <unordered_map>

#include "core/error.h"
#include "core/json.h"
#include "data/decontaminate.h"
#include "data/dedup.h"
#include "data/step_context.h"

namespace enclave::data {

namespace {

constexpr std::size_t kClusterSamples = 20;

class DedupStep : public DocumentStep {
 public:
  explicit DedupStep(const DedupConfig& config) : dedup_(config) {}

  void process(Document& doc, DocOutcome& out, int) override {
    out.scratch = dedup_.fingerprint(doc.text);
  }

  void decide(std::uint64_t index, Document& doc, DocOutcome& out) override {
    const auto& fp = std::any_cast<const Fingerprint&>(out.scratch);
    const auto match = dedup_.add(index, fp);
    out.scratch.reset();
    if (!match) {
      kept_ids_.emplace(index, doc.id);
      return;
    }
    const bool exact = match->kind == DuplicateKind::kExact;
    out.output = -1;
    out.rule = exact ? "exact_duplicate" : "near_duplicate";
    const std::string& kept_id = kept_ids_.at(match->kept);
    nlohmann::json side = {{"id", doc.id},
                           {"duplicate_of", kept_id},
                           {"kind", exact ? "exact" : "near"},
                           {"similarity", match->similarity}};
    out.side = side.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    auto& cluster = clusters_[match->kept];
    if (cluster.empty()) cluster.push_back(kept_id);
    if (cluster.size() <= kClusterSamples) cluster.push_back(doc.id);
    ++cluster_sizes_[match->kept];
  }

  nlohmann::json clusters_report() const {
    std::int64_t largest = 0;
    std::vector<std::pair<std::int64_t, std::uint64_t>> by_size;
    for (const auto& [kept, n] : cluster_sizes_) {
      largest = std::max(largest, n + 1);
      by_size.emplace_back(n, kept);
    }
    std::sort(by_size.begin(), by_size.end(), [](auto& a, auto& b) {
      return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    nlohmann::json samples = nlohmann::json::array();
    for (std::size_t i = 0; i < by_size.size() && i < kClusterSamples; ++i) {
      const auto& members = clusters_.at(by_size[i].second);
      samples.push_back(
          {{"kept", members.front()},
           {"size", by_size[i].first + 1},
           {"removed", std::vector<std::string>(members.begin() + 1, members.end())}});
    }
    return {{"clusters", cluster_sizes_.size()},
            {"largest_cluster", largest},
            {"largest_clusters", samples}};
  }

 private:
  Deduplicator dedup_;
  std::unordered_map<std::uint64_t, std::string> kept_ids_;
  std::unordered_map<std::uint64_t, std::vector<std::string>>
      clusters_;  // kept index -> kept id, sample of removed
  std::unordered_map<std::uint64_t, std::int64_t> cluster_sizes_;  // kept index -> removed count
};

class DecontaminateStep : public DocumentStep {
 public:
  explicit DecontaminateStep(const ContaminationIndex& index) : index_(index) {}
  void process(Document& doc, DocOutcome& out, int) override {
    auto match = index_.find(doc.text);
    if (!match) return;
    out.output = -1;
    out.rule = "contaminated";
    nlohmann::json side = {{"id", doc.id}, {"ngram", *match}};
    out.side = side.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }

 private:
  const ContaminationIndex& index_;
};

}  // namespace

void step_dedup(StepContext& ctx) {
  const DedupConfig config = dedup_config_from_json(ctx.params, ctx.what);
  DedupStep step(config);
  StreamStats stats = stream_splits(ctx, step, "duplicates.jsonl");
  nlohmann::json dup = step.clusters_report();
  dup["exact"] = stats.removed["exact_duplicate"];
  dup["near"] = stats.removed["near_duplicate"];
  ctx.report["duplicates"] = dup;
  ctx.report["params"] = to_json(config);
}

void step_decontaminate(StepContext& ctx) {
  check_keys(ctx.params, ctx.what, {"eval", "ngram", "min_short_words"});
  const int ngram = static_cast<int>(json_int(ctx.params, "ngram", ctx.what, 13));
  const int min_short = static_cast<int>(json_int(ctx.params, "min_short_words", ctx.what, 8));
  if (!ctx.params.contains("eval") || !ctx.params["eval"].is_array() ||
      ctx.params["eval"].empty()) {
    fail_input("{}: 'eval' must list at least one evaluation file", ctx.what);
  }
  ContaminationIndex index(ngram, min_short);
  nlohmann::json eval = nlohmann::json::array();
  for (const auto& f : ctx.params["eval"]) {
    if (!f.is_string()) fail_input("{}: 'eval' must hold file paths", ctx.what);
    const std::filesystem::path path = f.get<std::string>();
    index.add_file(path);
    eval.push_back(std::filesystem::absolute(path).lexically_normal().string());
  }
  DecontaminateStep step(index);
  stream_splits(ctx, step, "contaminated.jsonl");
  ctx.report["eval_ngrams"] = index.size();
  ctx.report["params"] = {{"eval", eval}, {"ngram", ngram}, {"min_short_words", min_short}};
}

}  // namespace enclave::data
