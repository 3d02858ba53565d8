#include "eval/prompt.h"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "core/error.h"
#include "eval/rng.h"
#include "eval/template.h"

namespace enclave::eval {

std::vector<std::size_t> select_fewshot(std::size_t pool_size, int k, std::uint64_t seed,
                                        std::size_t doc_index, std::optional<std::size_t> exclude) {
  if (k <= 0) return {};
  const std::size_t n = pool_size - (exclude && *exclude < pool_size ? 1 : 0);
  if (static_cast<std::size_t>(k) > n) {
    fail_input(
        "num_fewshot {} needs at least {} other documents in the few-shot pool, which has {}", k, k,
        n);
  }
  Rng rng(mix_seed(seed, doc_index));
  std::vector<std::size_t> out;
  out.reserve(static_cast<std::size_t>(k));
  if (static_cast<std::size_t>(k) * 2 > n) {
    // Dense: shuffle the candidates partially (Fisher-Yates).
    std::vector<std::size_t> candidates;
    candidates.reserve(n);
    for (std::size_t i = 0; i < pool_size; ++i) {
      if (!exclude || i != *exclude) candidates.push_back(i);
    }
    for (std::size_t i = 0; i < static_cast<std::size_t>(k); ++i) {
      const std::size_t j = i + static_cast<std::size_t>(rng.below(candidates.size() - i));
      std::swap(candidates[i], candidates[j]);
      out.push_back(candidates[i]);
    }
    return out;
  }
  // Sparse: draw and reject repeats, O(k) for a large pool.
  std::unordered_set<std::size_t> seen;
  while (out.size() < static_cast<std::size_t>(k)) {
    const auto i = static_cast<std::size_t>(rng.below(pool_size));
    if ((exclude && i == *exclude) || !seen.insert(i).second) continue;
    out.push_back(i);
  }
  return out;
}

std::size_t gold_index(const TaskSpec& task, const nlohmann::json& doc,
                       const std::vector<std::string>& choices, std::string_view what) {
  // As lm-evaluation-harness: a target of digits is the index of the gold
  // choice, any other text must be one of the choices.
  const std::string target = render_targets(task.doc_to_target, doc, what).front();
  std::size_t index = 0;
  auto [ptr, ec] = std::from_chars(target.data(), target.data() + target.size(), index);
  if (ec == std::errc() && ptr == target.data() + target.size() && !target.empty()) {
    if (index < choices.size()) return index;
    fail_input("{}: doc_to_target is index {} but there are {} choices", what, index,
               choices.size());
  }
  auto it = std::find(choices.begin(), choices.end(), target);
  if (it != choices.end()) return static_cast<std::size_t>(it - choices.begin());
  fail_input("{}: doc_to_target '{}' is neither one of the choices nor a choice index", what,
             target);
}

PromptBuilder::PromptBuilder(const TaskSpec& task, const TaskDocs& docs, const Tokenizer& tokenizer,
                             const std::optional<ChatTemplate>& tmpl, bool chat, int num_fewshot,
                             std::int64_t max_tokens)
    : task_(task),
      docs_(docs),
      tokenizer_(tokenizer),
      template_(tmpl),
      chat_(chat),
      num_fewshot_(num_fewshot),
      max_tokens_(max_tokens),
      answer_delimiter_(chat ? std::string() : task.target_delimiter) {
  if (chat && !tmpl) {
    fail_input(
        "task '{}': chat_template is on but the model has no chat template in "
        "tokenizer_config.json",
        task.name);
  }
  if (num_fewshot > 0 && task.doc_to_target.is_null()) {
    fail_input("task '{}': few-shot examples need doc_to_target", task.name);
  }
}

std::string PromptBuilder::example_target(const nlohmann::json& doc, std::string_view what) const {
  if (task_.output_type == OutputType::kMultipleChoice) {
    std::vector<std::string> choices = render_choices(task_.doc_to_choice, doc, what);
    return choices[gold_index(task_, doc, choices, what)];
  }
  return render_targets(task_.doc_to_target, doc, what).front();
}

std::string PromptBuilder::context(std::size_t i) const {
  if (chat_) return render_chat(*template_, messages(i), /*add_generation_prompt=*/true);
  const nlohmann::json& doc = docs_.docs.at(i);
  const std::string what = fmt::format("task '{}': document {}", task_.name, i);
  const std::string description =
      task_.description.empty() ? ""
                                : render_template(task_.description, doc, what + ": description");
  std::string out;
  if (!description.empty()) out += description + task_.fewshot_delimiter;
  for (std::size_t s : shots(i)) {
    const nlohmann::json& ex = docs_.fewshot_pool[s];
    const std::string ex_what = fmt::format("task '{}': few-shot document {}", task_.name, s);
    out += render_template(task_.doc_to_text, ex, ex_what + ": doc_to_text") +
           task_.target_delimiter + example_target(ex, ex_what) + task_.fewshot_delimiter;
  }
  out += render_template(task_.doc_to_text, doc, what + ": doc_to_text");
  return out;
}

std::vector<ChatMessage> PromptBuilder::messages(std::size_t i) const {
  const nlohmann::json& doc = docs_.docs.at(i);
  const std::string what = fmt::format("task '{}': document {}", task_.name, i);
  std::vector<ChatMessage> messages;
  if (!task_.description.empty())
    messages.push_back({"system", render_template(task_.description, doc, what + ": description")});
  for (std::size_t s : shots(i)) {
    const nlohmann::json& ex = docs_.fewshot_pool[s];
    const std::string ex_what = fmt::format("task '{}': few-shot document {}", task_.name, s);
    messages.push_back({"user", render_template(task_.doc_to_text, ex, ex_what + ": doc_to_text")});
    messages.push_back({"assistant", example_target(ex, ex_what)});
  }
  messages.push_back({"user", render_template(task_.doc_to_text, doc, what + ": doc_to_text")});
  return messages;
}

std::vector<std::size_t> PromptBuilder::shots(std::size_t i) const {
  return select_fewshot(docs_.fewshot_pool.size(), num_fewshot_, task_.fewshot_seed, i,
                        docs_.fewshot_from_docs ? std::optional<std::size_t>(i) : std::nullopt);
}

std::vector<TokenId> PromptBuilder::encode_text(const std::string& text) const {
  // A rendered chat template already carries BOS as text.
  if (chat_) return tokenizer_.encode(text, /*add_special=*/false, /*parse_special=*/true);
  std::vector<TokenId> ids = tokenizer_.encode(text, /*add_special=*/true, /*parse_special=*/false);
  // Post-processors that append EOS (some do) would make EOS part of every
  // continuation; a document's text does not end the sequence.
  const auto eos = tokenizer_.eos_id();
  if (eos && ids.size() > 1 && ids.back() == *eos && !text.empty()) {
    std::vector<TokenId> plain =
        tokenizer_.encode(text, /*add_special=*/false, /*parse_special=*/false);
    if (plain.empty() || plain.back() != *eos) ids.pop_back();
  }
  if (ids.empty()) {
    // Nothing to condition on: start from BOS, else EOS, as lm-eval does.
    if (tokenizer_.bos_id()) return {*tokenizer_.bos_id()};
    if (eos) return {*eos};
    fail_input("task '{}': the tokenizer has neither BOS nor EOS to score the first token from",
               task_.name);
  }
  return ids;
}

std::vector<TokenId> PromptBuilder::truncate_left(std::vector<TokenId> ids,
                                                  std::int64_t limit) const {
  if (limit < 1) limit = 1;
  if (static_cast<std::int64_t>(ids.size()) <= limit) return ids;
  ids.erase(ids.begin(), ids.end() - limit);
  return ids;
}

std::vector<TokenId> PromptBuilder::context_tokens(std::size_t i, std::int64_t reserve) const {
  return truncate_left(encode_text(context(i)), max_tokens_ - reserve);
}

std::vector<TokenId> PromptBuilder::document_tokens(const std::string& text) const {
  std::vector<TokenId> ids;
  if (tokenizer_.bos_id()) {
    ids.push_back(*tokenizer_.bos_id());
  } else if (tokenizer_.eos_id()) {
    ids.push_back(*tokenizer_.eos_id());
  } else {
    fail_input("task '{}': the tokenizer has neither BOS nor EOS to score the first token from",
               task_.name);
  }
  std::vector<TokenId> body =
      tokenizer_.encode(text, /*add_special=*/false, /*parse_special=*/false);
  ids.insert(ids.end(), body.begin(), body.end());
  return ids;
}

ContinuationTokens PromptBuilder::continuation_tokens(const std::string& context,
                                                      const std::string& continuation) const {
  std::string ctx = context;
  std::string cont = continuation;
  std::size_t keep = ctx.find_last_not_of(" \t\n\r\f\v");
  keep = keep == std::string::npos ? 0 : keep + 1;
  if (keep < ctx.size()) {
    cont = ctx.substr(keep) + cont;
    ctx.resize(keep);
  }
  std::vector<TokenId> ctx_ids = encode_text(ctx);
  std::vector<TokenId> whole = encode_text(ctx + cont);
  ContinuationTokens out;
  if (whole.size() > ctx_ids.size()) {
    out.n_continuation = whole.size() - ctx_ids.size();
    out.tokens = std::move(whole);
  } else {
    std::vector<TokenId> cont_ids =
        tokenizer_.encode(cont, /*add_special=*/false, /*parse_special=*/false);
    out.n_continuation = cont_ids.size();
    out.tokens = std::move(ctx_ids);
    out.tokens.insert(out.tokens.end(), cont_ids.begin(), cont_ids.end());
  }
  if (out.n_continuation == 0)
    fail_input("task '{}': continuation '{}' encodes to no tokens", task_.name, continuation);
  if (static_cast<std::int64_t>(out.n_continuation) >= max_tokens_) {
    fail_input("task '{}': continuation of {} tokens does not fit the model's context of {}",
               task_.name, out.n_continuation, max_tokens_);
  }
  if (static_cast<std::int64_t>(out.tokens.size()) > max_tokens_) {
    out.tokens.erase(out.tokens.begin(), out.tokens.end() - max_tokens_);
  }
  return out;
}

}  // namespace enclave::eval
