#include "monitor/drift.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "store/lineage.h"
#include "store/registry.h"
#include "text/unicode_class.h"
#include "text/utf8.h"

namespace enclave::monitor {
namespace {

// Reading stops here: a profile of this many texts is stable, and a huge
// pretraining corpus must not make `monitor report` slow.
constexpr std::int64_t kMaxReferenceTexts = 200000;

double total(const std::vector<double>& counts) {
  double sum = 0;
  for (double c : counts) sum += c;
  return sum;
}

void add_user_turns(const nlohmann::json& messages, std::string& out) {
  for (const nlohmann::json& m : messages) {
    if (!m.is_object() || m.value("role", "") != "user") continue;
    auto content = m.find("content");
    if (content == m.end()) continue;
    if (content->is_string()) {
      if (!out.empty()) out += '\n';
      out += content->get<std::string>();
    } else if (content->is_array()) {  // OpenAI content parts
      for (const nlohmann::json& part : *content) {
        if (part.is_object() && part.value("type", "") == "text" && part.contains("text") &&
            part["text"].is_string()) {
          if (!out.empty()) out += '\n';
          out += part["text"].get<std::string>();
        }
      }
    }
  }
}

// The text of one training example, "" when the line holds none we know.
std::string example_text(const nlohmann::json& j) {
  if (!j.is_object()) return "";
  std::string out;
  if (auto m = j.find("messages"); m != j.end() && m->is_array()) {
    add_user_turns(*m, out);
    return out;
  }
  if (auto p = j.find("prompt"); p != j.end()) {
    if (p->is_string()) return p->get<std::string>();
    if (p->is_array()) add_user_turns(*p, out);
    return out;
  }
  if (auto t = j.find("text"); t != j.end() && t->is_string()) return t->get<std::string>();
  return "";
}

void read_dataset_file(const std::filesystem::path& path, TextProfile& profile) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kIo, "{}: cannot be read", path.string());
  const bool jsonl = path.extension() == ".jsonl";
  std::string line;
  while (profile.n_texts < kMaxReferenceTexts && std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!jsonl) {
      profile.add(line);
      continue;
    }
    // Datasets in the store were checked when they were made; a line that is
    // not JSON here is skipped rather than failing the whole report.
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string text = j.is_discarded() ? std::string() : example_text(j);
    if (!text.empty()) profile.add(text);
  }
}

void read_dataset(const std::filesystem::path& path, TextProfile& profile) {
  auto wanted = [](const std::filesystem::path& p) {
    const std::string ext = p.extension().string();
    return ext == ".jsonl" || ext == ".txt" || ext == ".md";
  };
  if (std::filesystem::is_regular_file(path)) {
    if (wanted(path)) read_dataset_file(path, profile);
    return;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
    if (entry.is_regular_file() && wanted(entry.path())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());  // the same profile on every machine
  for (const auto& f : files) read_dataset_file(f, profile);
}

// The dataset inputs of one run node of a lineage graph; the runs behind its
// input models go to next_runs.
void collect_datasets(const nlohmann::json& run, std::vector<const nlohmann::json*>& datasets,
                      std::vector<const nlohmann::json*>& next_runs) {
  if (run.value("type", "") != "run" || !run.contains("children")) return;
  for (const nlohmann::json& input : run["children"]) {
    const std::string type = input.value("type", "");
    if (type == "dataset") {
      datasets.push_back(&input);
    } else if (type == "model" && input.contains("children")) {
      for (const nlohmann::json& r : input["children"]) next_runs.push_back(&r);
    }
  }
}

}  // namespace

std::vector<std::string> words(std::string_view text) {
  const std::string clean = sanitize_utf8(text);
  std::vector<std::string> out;
  std::string word;
  std::size_t pos = 0;
  while (pos < clean.size()) {
    const std::size_t start = pos;
    const char32_t cp = next_code_point(clean, pos);
    if (is_letter(cp) || is_number(cp)) {
      if (cp >= 'A' && cp <= 'Z') {
        word += static_cast<char>(cp - 'A' + 'a');
      } else {
        word.append(clean, start, pos - start);
      }
    } else if (!word.empty()) {
      out.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) out.push_back(std::move(word));
  return out;
}

std::size_t length_bin(std::size_t n_words) {
  // Edges 0, 1, 2, 4, ..., 1024: bin 0 holds empty prompts, bin k (1..10)
  // holds [2^(k-1), 2^k), bin 11 everything from 1024 words on.
  if (n_words == 0) return 0;
  std::size_t bin = 1;
  std::size_t upper = 2;
  while (n_words >= upper && bin < kLengthBins - 1) {
    ++bin;
    upper *= 2;
  }
  return bin;
}

double psi(const std::vector<double>& expected, const std::vector<double>& actual) {
  ENCLAVE_CHECK(expected.size() == actual.size());
  const double e_total = total(expected);
  const double a_total = total(actual);
  if (e_total <= 0 || a_total <= 0) return 0;
  double sum = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double e = std::max(expected[i] / e_total, kPsiFloor);
    const double a = std::max(actual[i] / a_total, kPsiFloor);
    sum += (a - e) * std::log(a / e);
  }
  return sum;
}

double js_divergence(const std::map<std::string, double>& a,
                     const std::map<std::string, double>& b) {
  double a_total = 0, b_total = 0;
  for (const auto& [w, c] : a) a_total += c;
  for (const auto& [w, c] : b) b_total += c;
  if (a_total <= 0 || b_total <= 0) return 0;
  std::set<std::string> vocabulary;
  for (const auto& [w, c] : a) vocabulary.insert(w);
  for (const auto& [w, c] : b) vocabulary.insert(w);
  double sum = 0;
  for (const std::string& w : vocabulary) {
    auto ia = a.find(w);
    auto ib = b.find(w);
    const double p = ia == a.end() ? 0.0 : ia->second / a_total;
    const double q = ib == b.end() ? 0.0 : ib->second / b_total;
    const double m = (p + q) / 2;
    if (p > 0) sum += 0.5 * p * std::log2(p / m);
    if (q > 0) sum += 0.5 * q * std::log2(q / m);
  }
  return sum;
}

void TextProfile::add(std::string_view text) {
  if (tokenizer != nullptr) {
    const std::vector<TokenId> ids =
        tokenizer->encode(sanitize_utf8(text), /*add_special=*/false, /*parse_special=*/false);
    lengths[length_bin(ids.size())] += 1;
    for (TokenId id : ids) unigrams[std::to_string(id)] += 1;
  } else {
    const std::vector<std::string> ws = words(text);
    lengths[length_bin(ws.size())] += 1;
    for (const std::string& w : ws) unigrams[w] += 1;
  }
  ++n_texts;
}

std::optional<DriftFigures> drift(const TextProfile& reference, const TextProfile& live) {
  if (reference.n_texts == 0 || live.n_texts == 0) return std::nullopt;
  DriftFigures f;
  f.length_psi = psi(reference.lengths, live.lengths);
  // The reference's most frequent words (ties by the word, so the bins are
  // the same on every run), then one bin for every other word.
  std::vector<std::pair<std::string, double>> ranked(reference.unigrams.begin(),
                                                     reference.unigrams.end());
  std::sort(ranked.begin(), ranked.end(), [](const auto& x, const auto& y) {
    return x.second != y.second ? x.second > y.second : x.first < y.first;
  });
  if (ranked.size() > kUnigramBins) ranked.resize(kUnigramBins);
  std::map<std::string, std::size_t> bin_of;
  for (std::size_t i = 0; i < ranked.size(); ++i) bin_of[ranked[i].first] = i;
  const std::size_t other = ranked.size();
  std::vector<double> ref_bins(other + 1, 0.0), live_bins(other + 1, 0.0);
  for (const auto& [w, c] : reference.unigrams) {
    auto it = bin_of.find(w);
    ref_bins[it == bin_of.end() ? other : it->second] += c;
  }
  for (const auto& [w, c] : live.unigrams) {
    auto it = bin_of.find(w);
    live_bins[it == bin_of.end() ? other : it->second] += c;
  }
  f.unigram_psi = psi(ref_bins, live_bins);
  f.unigram_js = js_divergence(reference.unigrams, live.unigrams);
  return f;
}

std::string prompt_text(const RequestRecord& record) {
  if (record.endpoint == "chat.completions") {
    const nlohmann::json messages =
        nlohmann::json::parse(record.prompt, nullptr, /*allow_exceptions=*/false);
    if (messages.is_array()) {
      std::string out;
      add_user_turns(messages, out);
      return out;
    }
  }
  return record.prompt;
}

DriftReference training_reference(store::Workspace& workspace, std::string_view model_ref) {
  DriftReference ref;
  try {
    ref.tokenizer = load_tokenizer(
        store::version_path(workspace, store::RegistryKind::kModel, model_ref, /*verify=*/false));
    ref.profile.tokenizer = ref.tokenizer.get();
    ref.unit = "tokens";
  } catch (const Error& e) {
    // A model without tokenizer files (e.g. one registered as bare weights)
    // is measured in words; a malformed tokenizer is the user's to fix.
    if (e.kind() != ErrorKind::kNotFound) throw;
  }
  const nlohmann::json graph =
      store::lineage(workspace.db(), model_ref,
                     {.direction = store::LineageDirection::kUp, .kind = "model", .max_depth = 16});
  // Level by level up the graph: the runs that made the model, then the runs
  // that made their input models, until one level names datasets.
  const nlohmann::json upstream = graph.value("upstream", nlohmann::json::array());
  std::vector<const nlohmann::json*> runs;
  for (const nlohmann::json& n : upstream) runs.push_back(&n);
  std::vector<const nlohmann::json*> datasets;
  while (!runs.empty() && datasets.empty()) {
    std::vector<const nlohmann::json*> next;
    for (const nlohmann::json* run : runs) collect_datasets(*run, datasets, next);
    runs = std::move(next);
  }
  std::set<std::int64_t> seen;
  for (const nlohmann::json* d : datasets) {
    const std::int64_t id = d->value("id", std::int64_t{0});
    if (d->value("deleted", false) || !seen.insert(id).second) continue;
    const std::string dataset_ref = d->value("ref", "");
    read_dataset(store::version_path(workspace, store::RegistryKind::kDataset, dataset_ref),
                 ref.profile);
    ref.sources.push_back(dataset_ref);
    ref.source_version_ids.push_back(id);
  }
  return ref;
}

}  // namespace enclave::monitor
