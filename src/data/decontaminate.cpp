#include "data/decontaminate.h"

#include <xxhash.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "data/line_reader.h"

namespace enclave::data {

std::vector<std::string> contamination_words(std::string_view text) {
  std::vector<std::string> words;
  std::string current;
  auto end_word = [&] {
    if (!current.empty()) words.push_back(std::move(current));
    current.clear();
  };
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c)) {
      end_word();
    } else if (c < 0x80 && std::ispunct(c)) {
      continue;
    } else {
      current += static_cast<char>(std::tolower(c));
    }
  }
  end_word();
  return words;
}

namespace {

std::uint64_t gram_hash(const std::vector<std::string>& words, std::size_t start, std::size_t n) {
  std::uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  for (std::size_t i = start; i < start + n; ++i) {
    h = XXH3_64bits_withSeed(words[i].data(), words[i].size(), h);
  }
  return h;
}

std::string join(const std::vector<std::string>& words, std::size_t start, std::size_t n) {
  std::string out;
  for (std::size_t i = start; i < start + n; ++i) out += (i > start ? " " : "") + words[i];
  return out;
}

void collect_strings(const nlohmann::json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    out.push_back(j.get<std::string>());
  } else if (j.is_array() || j.is_object()) {
    for (const auto& child : j) collect_strings(child, out);
  }
}

}  // namespace

ContaminationIndex::ContaminationIndex(int ngram, int min_short_words)
    : ngram_(ngram), min_short_words_(min_short_words) {
  if (ngram < 1 || ngram > 1000)
    fail_input("decontaminate: 'ngram' must be 1..1000, got {}", ngram);
  if (min_short_words < 1)
    fail_input("decontaminate: 'min_short_words' must be >= 1, got {}", min_short_words);
}

void ContaminationIndex::add_text(std::string_view text) {
  const auto words = contamination_words(text);
  const auto n = static_cast<std::size_t>(ngram_);
  if (words.size() < n) {
    if (static_cast<int>(words.size()) >= min_short_words_) {
      grams_.insert(gram_hash(words, 0, words.size()));
      short_lengths_.insert(words.size());
    }
    return;
  }
  for (std::size_t i = 0; i + n <= words.size(); ++i) grams_.insert(gram_hash(words, i, n));
}

void ContaminationIndex::add_file(const std::filesystem::path& path) {
  const std::string ext = path.extension().string();
  if (ext != ".jsonl" && ext != ".json") {
    add_text(read_file(path, std::uint64_t{1} << 30));
    return;
  }
  LineReader reader(path);
  Line line;
  while (reader.next(line)) {
    if (line.too_long) fail_input("{}: line {}: too long", path.string(), line.number);
    if (line.text.find_first_not_of(" \t") == std::string_view::npos) continue;
    const nlohmann::json record =
        parse_json(line.text, fmt::format("{}: line {}", path.string(), line.number));
    std::vector<std::string> strings;
    collect_strings(record, strings);
    for (const auto& s : strings) add_text(s);
  }
}

std::optional<std::string> ContaminationIndex::find(std::string_view text) const {
  if (grams_.empty()) return std::nullopt;
  const auto words = contamination_words(text);
  const auto n = static_cast<std::size_t>(ngram_);
  for (std::size_t i = 0; i + n <= words.size(); ++i) {
    if (grams_.contains(gram_hash(words, i, n))) return join(words, i, n);
  }
  for (std::size_t len : short_lengths_) {
    for (std::size_t i = 0; i + len <= words.size(); ++i) {
      if (grams_.contains(gram_hash(words, i, len))) return join(words, i, len);
    }
  }
  return std::nullopt;
}

}  // namespace enclave::data
