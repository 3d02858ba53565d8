// Drift: how far the prompts a served model receives have moved from the
// data it was trained on. Two views, each a distance between a reference
// (training) distribution and a live one:
//   - prompt length in units, binned at fixed edges (0, 1, 2, 4, 8, ...,
//     1024, more), compared by the population stability index (PSI);
//   - unit unigrams: PSI over the reference's 100 most frequent units plus
//     one "other" bin, and the Jensen-Shannon divergence (base 2, so in
//     [0, 1]) over the union of both vocabularies.
// The units are the model's own tokens when its version holds a tokenizer
// (what the model sees: a prompt in a script the tokenizer splits into many
// pieces drifts in length even when its word count does not), else words:
// maximal runs of Unicode letters and numbers (\p{L}, \p{N}), ASCII letters
// lower-cased. PSI = sum over bins of (live - ref) * ln(live / ref), with a
// proportion of zero raised to 1e-4 (the usual convention, which keeps an
// empty bin finite).
// Thread safety: free functions over values; no shared state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "monitor/request_log.h"
#include "store/workspace.h"
#include "text/tokenizer.h"

namespace enclave::monitor {

inline constexpr double kPsiFloor = 1e-4;
inline constexpr std::size_t kUnigramBins = 100;

// The words of text, as described above. Invalid UTF-8 is replaced first.
std::vector<std::string> words(std::string_view text);

// Index of the fixed length bin that n words fall into (0 .. 11).
std::size_t length_bin(std::size_t n_words);
inline constexpr std::size_t kLengthBins = 12;

// PSI of actual against expected; both are counts over the same bins (not
// necessarily normalised). 0 when either has no mass.
double psi(const std::vector<double>& expected, const std::vector<double>& actual);
// Jensen-Shannon divergence (log base 2) of two count maps.
double js_divergence(const std::map<std::string, double>& a,
                     const std::map<std::string, double>& b);

// A distribution of texts: per-length-bin counts and unit counts. The units
// are the tokens of `tokenizer` (keyed by id, no special tokens added), or
// words when it is null; a reference and a live profile must share it.
struct TextProfile {
  std::vector<double> lengths = std::vector<double>(kLengthBins, 0.0);
  std::map<std::string, double> unigrams;
  std::int64_t n_texts = 0;
  const Tokenizer* tokenizer = nullptr;
  void add(std::string_view text);
};

struct DriftFigures {
  double length_psi = 0;
  double unigram_psi = 0;
  double unigram_js = 0;
};
// Undefined (nullopt) when either profile holds no text.
std::optional<DriftFigures> drift(const TextProfile& reference, const TextProfile& live);

// The prompt a user wrote: the user turns of a chat request (joined by
// newlines), or a completion request's prompt.
std::string prompt_text(const RequestRecord& record);

// The reference for a model version ("name@3"): the dataset versions its
// lineage names as inputs of the run that produced it (or, when that run read
// no dataset, of the runs that produced its input models, nearest first).
// Each dataset's *.jsonl files contribute one text per line (the user turns
// of "messages", "prompt", or "text"), its *.txt and *.md files one per
// non-empty line. sources lists the dataset refs used (empty: none found).
// The profile counts the tokens of the model version's tokenizer when it has
// one (unit "tokens"), else words (unit "words").
struct DriftReference {
  std::vector<std::string> sources;
  std::vector<std::int64_t> source_version_ids;
  std::unique_ptr<Tokenizer> tokenizer;
  std::string unit = "words";
  TextProfile profile;
};
DriftReference training_reference(store::Workspace& workspace, std::string_view model_ref);

}  // namespace enclave::monitor
