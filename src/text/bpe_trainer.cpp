#include "text/bpe_trainer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <queue>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/file.h"
#include "text/byte_level.h"
#include "text/default_corpus.h"
#include "text/split_patterns.h"
#include "text/utf8.h"

namespace enclave {

const char* const kLlama3ChatTemplate =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim "
    "+ "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ "
    "content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ "
    "'<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}";

namespace {

using ordered_json = nlohmann::ordered_json;
using Pair = std::pair<int, int>;

struct Word {
  std::vector<int> symbols;
  std::int64_t count;
};

struct PairHash {
  std::size_t operator()(const Pair& p) const {
    return std::hash<std::uint64_t>{}((static_cast<std::uint64_t>(p.first) << 32) |
                                      static_cast<std::uint32_t>(p.second));
  }
};

struct Candidate {
  std::int64_t count;
  Pair pair;
  bool operator<(
      const Candidate& o) const {  // the queue pops the largest: most frequent, then smallest pair
    return count != o.count ? count < o.count : pair > o.pair;
  }
};

class Trainer {
 public:
  Trainer(const std::vector<std::string>& corpus, std::size_t n_symbols_max,
          std::size_t min_frequency)
      : n_symbols_max_(n_symbols_max), min_frequency_(static_cast<std::int64_t>(min_frequency)) {
    std::map<std::string, std::int64_t> counts;  // ordered: word order must not depend on hashing
    for (const std::string& doc : corpus) {
      const std::string text = sanitize_utf8(doc);
      for (const auto& [first, last] : find_split_matches(SplitPattern::kLlama3, text)) {
        ++counts[text.substr(first, last - first)];
      }
    }
    for (int b = 0; b < 256; ++b) add_piece(byte_level_char(static_cast<std::uint8_t>(b)));
    for (const auto& [text, count] : counts) {
      Word w{{}, count};
      for (char c : text) w.symbols.push_back(static_cast<unsigned char>(c));
      words_.push_back(std::move(w));
    }
    for (std::size_t w = 0; w < words_.size(); ++w) add_pairs(static_cast<int>(w), +1, nullptr);
    for (const auto& [pair, count] : pair_counts_) queue_.push({count, pair});
  }

  void run() {
    while (pieces_.size() < n_symbols_max_ && !queue_.empty()) {
      const Candidate top = queue_.top();
      queue_.pop();
      const std::int64_t current = pair_count(top.pair);
      if (current != top.count) {
        if (current > 0) queue_.push({current, top.pair});
        continue;
      }
      if (current < min_frequency_) break;
      merge(top.pair);
    }
  }

  const std::vector<std::string>& pieces() const { return pieces_; }
  const std::vector<Pair>& merges() const { return merges_; }

 private:
  int add_piece(const std::string& piece) {
    auto [it, inserted] = piece_ids_.emplace(piece, static_cast<int>(pieces_.size()));
    if (inserted) pieces_.push_back(piece);
    return it->second;
  }

  std::int64_t pair_count(const Pair& p) const {
    auto it = pair_counts_.find(p);
    return it == pair_counts_.end() ? 0 : it->second;
  }

  // Adds sign * count of word w to each of its adjacent pairs; pairs that
  // contain `fresh` are collected (they are new and must be queued).
  void add_pairs(int w, int sign, std::set<Pair>* touched, int fresh = -1) {
    const Word& word = words_[static_cast<std::size_t>(w)];
    for (std::size_t i = 0; i + 1 < word.symbols.size(); ++i) {
      const Pair p{word.symbols[i], word.symbols[i + 1]};
      pair_counts_[p] += sign * word.count;
      if (sign > 0) {
        std::vector<int>& where = pair_words_[p];
        if (where.empty() || where.back() != w) where.push_back(w);
      }
      if (touched != nullptr && (p.first == fresh || p.second == fresh)) touched->insert(p);
    }
  }

  void merge(const Pair& pair) {
    const int result = add_piece(pieces_[static_cast<std::size_t>(pair.first)] +
                                 pieces_[static_cast<std::size_t>(pair.second)]);
    merges_.push_back(pair);
    std::vector<int> where = std::move(pair_words_[pair]);
    pair_words_.erase(pair);
    std::sort(where.begin(), where.end());
    where.erase(std::unique(where.begin(), where.end()), where.end());
    std::set<Pair> touched;
    for (int w : where) {
      std::vector<int>& symbols = words_[static_cast<std::size_t>(w)].symbols;
      bool found = false;
      for (std::size_t i = 0; i + 1 < symbols.size(); ++i) {
        found = found || (symbols[i] == pair.first && symbols[i + 1] == pair.second);
      }
      if (!found) continue;  // a stale entry: an earlier merge removed the pair here
      add_pairs(w, -1, nullptr);
      std::vector<int> merged;
      merged.reserve(symbols.size());
      for (std::size_t i = 0; i < symbols.size(); ++i) {
        if (i + 1 < symbols.size() && symbols[i] == pair.first && symbols[i + 1] == pair.second) {
          merged.push_back(result);
          ++i;
        } else {
          merged.push_back(symbols[i]);
        }
      }
      symbols = std::move(merged);
      add_pairs(w, +1, &touched, result);
    }
    pair_counts_.erase(pair);
    for (const Pair& p : touched) {
      if (pair_count(p) > 0) queue_.push({pair_count(p), p});
    }
  }

  std::size_t n_symbols_max_;
  std::int64_t min_frequency_;
  std::vector<Word> words_;
  std::vector<std::string> pieces_;
  std::unordered_map<std::string, int> piece_ids_;
  std::vector<Pair> merges_;
  std::unordered_map<Pair, std::int64_t, PairHash> pair_counts_;
  std::unordered_map<Pair, std::vector<int>, PairHash> pair_words_;
  std::priority_queue<Candidate> queue_;
};

ordered_json added_token_json(int id, const std::string& content) {
  return {{"id", id},        {"content", content},  {"single_word", false}, {"lstrip", false},
          {"rstrip", false}, {"normalized", false}, {"special", true}};
}

}  // namespace

std::string train_byte_level_bpe(const std::vector<std::string>& corpus,
                                 const BpeTrainOptions& opts) {
  const std::size_t n_special = opts.special_tokens.size();
  if (opts.vocab_size < 256 + n_special) {
    fail_input("BPE training: vocab_size {} cannot hold 256 byte symbols and {} special tokens",
               opts.vocab_size, n_special);
  }
  std::set<std::string> seen;
  for (const std::string& t : opts.special_tokens) {
    if (t.empty() || !seen.insert(t).second)
      fail_input("BPE training: special token '{}' is empty or repeated", t);
  }
  if (!opts.bos_token.empty() && seen.count(opts.bos_token) == 0) {
    fail_input("BPE training: bos_token '{}' is not one of the special tokens", opts.bos_token);
  }

  Trainer trainer(corpus, opts.vocab_size - n_special, opts.min_frequency);
  trainer.run();
  const std::vector<std::string>& pieces = trainer.pieces();

  ordered_json vocab = ordered_json::object();
  for (std::size_t id = 0; id < pieces.size(); ++id) vocab[pieces[id]] = id;
  ordered_json merges = ordered_json::array();
  for (const Pair& m : trainer.merges()) {
    merges.push_back(pieces[static_cast<std::size_t>(m.first)] + " " +
                     pieces[static_cast<std::size_t>(m.second)]);
  }
  ordered_json added = ordered_json::array();
  int bos_id = -1;
  for (std::size_t i = 0; i < n_special; ++i) {
    const int id = static_cast<int>(pieces.size() + i);
    added.push_back(added_token_json(id, opts.special_tokens[i]));
    if (opts.special_tokens[i] == opts.bos_token) bos_id = id;
  }

  ordered_json post = nullptr;
  if (bos_id >= 0) {
    const ordered_json bos_item = {{"SpecialToken", {{"id", opts.bos_token}, {"type_id", 0}}}};
    post = {
        {"type", "TemplateProcessing"},
        {"single", ordered_json::array({bos_item, {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"pair", ordered_json::array({bos_item,
                                      {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                      {{"SpecialToken", {{"id", opts.bos_token}, {"type_id", 1}}}},
                                      {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
        {"special_tokens",
         {{opts.bos_token,
           {{"id", opts.bos_token},
            {"ids", ordered_json::array({bos_id})},
            {"tokens", ordered_json::array({opts.bos_token})}}}}}};
  }

  const ordered_json doc = byte_level_bpe_json(
      vocab, merges, added, split_byte_level_pre_tokenizer(SplitPattern::kLlama3), post,
      /*ignore_merges=*/true);
  return doc.dump(1) + "\n";
}

ordered_json split_byte_level_pre_tokenizer(SplitPattern pattern) {
  return {
      {"type", "Sequence"},
      {"pretokenizers",
       ordered_json::array({{{"type", "Split"},
                             {"pattern", {{"Regex", std::string(split_pattern_regex(pattern))}}},
                             {"behavior", "Isolated"},
                             {"invert", false}},
                            {{"type", "ByteLevel"},
                             {"add_prefix_space", false},
                             {"trim_offsets", true},
                             {"use_regex", false}}})}};
}

ordered_json byte_level_bpe_json(ordered_json vocab, ordered_json merges, ordered_json added,
                                 ordered_json pre_tokenizer, ordered_json post_processor,
                                 bool ignore_merges) {
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", std::move(added)},
          {"normalizer", nullptr},
          {"pre_tokenizer", std::move(pre_tokenizer)},
          {"post_processor", std::move(post_processor)},
          {"decoder",
           {{"type", "ByteLevel"},
            {"add_prefix_space", true},
            {"trim_offsets", true},
            {"use_regex", true}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", nullptr},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", false},
            {"byte_fallback", false},
            {"ignore_merges", ignore_merges},
            {"vocab", std::move(vocab)},
            {"merges", std::move(merges)}}}};
}

void write_default_tokenizer(const std::filesystem::path& dir, std::size_t vocab_size) {
  BpeTrainOptions opts;
  opts.vocab_size = vocab_size;
  const std::string tokenizer_json = train_byte_level_bpe(default_corpus(), opts);
  const std::string bos = "<|begin_of_text|>";
  const std::string eos = "<|end_of_text|>";

  // added_tokens_decoder, as transformers writes it, keyed by id.
  const nlohmann::json parsed = nlohmann::json::parse(tokenizer_json);
  ordered_json decoder = ordered_json::object();
  for (const nlohmann::json& t : parsed["added_tokens"]) {
    decoder[std::to_string(t["id"].get<int>())] = {{"content", t["content"]}, {"lstrip", false},
                                                   {"normalized", false},     {"rstrip", false},
                                                   {"single_word", false},    {"special", true}};
  }
  const ordered_json config = {
      {"added_tokens_decoder", decoder},
      {"bos_token", bos},
      {"chat_template", kLlama3ChatTemplate},
      {"clean_up_tokenization_spaces", false},
      {"eos_token", eos},
      {"model_input_names", ordered_json::array({"input_ids", "attention_mask"})},
      {"tokenizer_class", "PreTrainedTokenizerFast"}};
  const ordered_json special_map = {{"bos_token", bos}, {"eos_token", eos}};

  write_file_atomic(dir / "tokenizer.json", tokenizer_json);
  write_file_atomic(dir / "tokenizer_config.json", config.dump(2) + "\n");
  write_file_atomic(dir / "special_tokens_map.json", special_map.dump(2) + "\n");
}

}  // namespace enclave
