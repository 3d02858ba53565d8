// Decontamination: finds training documents that share a long word n-gram
// with an evaluation set, the test GPT-3 (Brown et al. 2020, appendix C) and
// Llama use, so benchmark questions and answers do not leak into training.
// Words are whitespace-separated, lowercased (ASCII) and stripped of ASCII
// punctuation, so spacing, case and quote style do not hide a match.
// Thread safety: build the index on one thread; find() is const and safe
// from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

namespace enclave::data {

class ContaminationIndex {
 public:
  // Texts shorter than ngram words add their whole word sequence as one
  // shorter gram when it has at least min_short_words words (short
  // questions and answers would otherwise never match).
  explicit ContaminationIndex(int ngram = 13, int min_short_words = 8);

  // Adds the n-grams of an evaluation text.
  void add_text(std::string_view text);
  // Adds every string in an evaluation file: JSONL (all string values of
  // each record, e.g. question, choices, answer) or plain text (.txt, .md:
  // the whole file). Throws Error(kNotFound)/Error(kInvalidInput) naming the
  // file and line.
  void add_file(const std::filesystem::path& path);

  // The first shared n-gram found in text (as words joined by spaces), or nullopt.
  std::optional<std::string> find(std::string_view text) const;

  int ngram() const { return ngram_; }
  std::size_t size() const { return grams_.size(); }

 private:
  int ngram_;
  int min_short_words_;
  std::unordered_set<std::uint64_t> grams_;
  std::unordered_set<std::size_t> short_lengths_;  // lengths of the shorter grams added
};

// The normalised words of text (see above).
std::vector<std::string> contamination_words(std::string_view text);

}  // namespace enclave::data
