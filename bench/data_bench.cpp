// data_bench: throughput of the data steps' hot loops on a generated corpus,
// and the quality of near-duplicate detection on planted pairs.
//
//   normalize+filter  documents/s and MB/s, on 1 thread and on every core
//                     (per core = total / threads)
//   MinHash dedup     fingerprints on every core, decisions in order; docs/s,
//                     MB/s, and precision/recall of finding the planted
//                     near-duplicate pairs (recall also over the pairs whose
//                     exact Jaccard is >= the threshold)
//   reference         exact all-pairs Jaccard on a sample, same run, so the
//                     LSH speed is read against the brute force it replaces
//   pii               recall and precision per PII type on a generated Korean
//                     corpus with planted spans (data_bench_pii.h)
//
// Build and run: cmake --build build --target data_bench && build/bench/data_bench
//   [--docs 200000] [--dup-fraction 0.1] [--threads N] [--threshold 0.8] [--seed 1]
//   [--pii-docs 5000] [--pii-errors 1] [--only pii]
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "data/dedup.h"
#include "data/normalize.h"
#include "data/quality_filter.h"
#include "data/worker_pool.h"
#include "data_bench_pii.h"

namespace {

using Clock = std::chrono::steady_clock;
using enclave::data::DedupConfig;
using enclave::data::Deduplicator;
using enclave::data::Fingerprint;
using enclave::data::WorkerPool;

struct Args {
  std::size_t docs = 200000;
  double dup_fraction = 0.1;
  int threads = 0;
  double threshold = 0.8;
  std::uint64_t seed = 1;
  std::size_t pii_docs = 5000;
  std::string only;  // "pii": that section alone
  bool pii_errors = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const char* v = argv[i + 1];
    if (flag == "--docs")
      a.docs = std::strtoull(v, nullptr, 10);
    else if (flag == "--dup-fraction")
      a.dup_fraction = std::atof(v);
    else if (flag == "--threads")
      a.threads = std::atoi(v);
    else if (flag == "--threshold")
      a.threshold = std::atof(v);
    else if (flag == "--seed")
      a.seed = std::strtoull(v, nullptr, 10);
    else if (flag == "--pii-docs")
      a.pii_docs = std::strtoull(v, nullptr, 10);
    else if (flag == "--only" && std::strcmp(v, "pii") == 0)
      a.only = v;
    else if (flag == "--pii-errors")
      a.pii_errors = std::strcmp(v, "0") != 0;
    else {
      fmt::print(stderr, "data_bench: unknown flag {}\n", flag);
      std::exit(64);
    }
  }
  return a;
}

// A mixed Korean/English vocabulary of made-up but word-like tokens.
std::vector<std::string> make_vocab(std::mt19937_64& rng) {
  static const char* kSyllables[] = {"가", "나", "다", "라", "마", "바", "사", "아", "자",
                                     "차", "카", "타", "파", "하", "회", "의", "는", "을",
                                     "에", "서", "고", "로", "한", "국", "연", "구"};
  static const char* kLetters = "abcdefghijklmnopqrstuvwxyz";
  std::vector<std::string> vocab;
  for (int i = 0; i < 20000; ++i) {
    std::string w;
    const int len = 2 + static_cast<int>(rng() % 6);
    const bool korean = i % 3 == 0;
    for (int k = 0; k < (korean ? len / 2 + 1 : len); ++k) {
      w +=
          korean ? kSyllables[rng() % std::size(kSyllables)] : std::string(1, kLetters[rng() % 26]);
    }
    vocab.push_back(w);
  }
  return vocab;
}

struct Corpus {
  std::vector<std::string> docs;
  std::vector<std::int64_t> original;  // planted copy -> index of its original, else -1
  std::size_t bytes = 0;
};

Corpus make_corpus(const Args& args) {
  std::mt19937_64 rng(args.seed);
  const auto vocab = make_vocab(rng);
  Corpus c;
  std::vector<std::vector<std::uint32_t>> words;  // kept for originals so copies can be edited
  c.docs.reserve(args.docs);
  for (std::size_t i = 0; i < args.docs; ++i) {
    std::vector<std::uint32_t> w;
    std::int64_t from = -1;
    if (i > 100 && std::uniform_real_distribution<>(0, 1)(rng) < args.dup_fraction) {
      from = static_cast<std::int64_t>(rng() % i);
      while (c.original[from] >= 0) from = c.original[from];  // copy an original, not a copy
      w = words[from];
      // 1 to 3 word substitutions per 100 words: Jaccard of char 5-grams ~0.85-0.95.
      const std::size_t edits = 1 + rng() % std::max<std::size_t>(1, w.size() * 3 / 100);
      for (std::size_t e = 0; e < edits; ++e)
        w[rng() % w.size()] = static_cast<std::uint32_t>(rng() % vocab.size());
    } else {
      const std::size_t n = 60 + rng() % 120;
      for (std::size_t k = 0; k < n; ++k)
        w.push_back(static_cast<std::uint32_t>(rng() % vocab.size()));
    }
    std::string text;
    for (std::size_t k = 0; k < w.size(); ++k) {
      text += vocab[w[k]];
      text += (k % 17 == 16) ? ".\n" : " ";
    }
    c.bytes += text.size();
    c.docs.push_back(std::move(text));
    c.original.push_back(from);
    words.push_back(std::move(w));
  }
  return c;
}

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void bench_normalize_filter(const Corpus& c, int threads) {
  WorkerPool pool(threads);
  enclave::data::FilterConfig config;
  std::vector<char> kept(c.docs.size());
  const auto start = Clock::now();
  pool.for_each(c.docs.size(), [&](std::size_t i, int) {
    const std::string text = enclave::data::normalize_text(c.docs[i]);
    kept[i] = enclave::data::check_quality(text, config).empty();
  });
  const double s = seconds_since(start);
  const double docs_s = static_cast<double>(c.docs.size()) / s;
  const double mb_s = static_cast<double>(c.bytes) / 1e6 / s;
  fmt::print(
      "normalize+filter  threads {:>2}  {:>9.0f} docs/s  {:>7.1f} MB/s  per core {:>9.0f} docs/s "
      "{:>6.1f} MB/s  "
      "kept {:.1f}%\n",
      pool.size(), docs_s, mb_s, docs_s / pool.size(), mb_s / pool.size(),
      100.0 * static_cast<double>(std::count(kept.begin(), kept.end(), 1)) /
          static_cast<double>(kept.size()));
}

double exact_jaccard(const std::string& a, const std::string& b, const DedupConfig& config) {
  auto x = enclave::data::shingle_hashes(a, config.minhash.shingle, config.minhash.ngram);
  auto y = enclave::data::shingle_hashes(b, config.minhash.shingle, config.minhash.ngram);
  std::vector<std::uint64_t> both;
  std::set_intersection(x.begin(), x.end(), y.begin(), y.end(), std::back_inserter(both));
  return static_cast<double>(both.size()) / static_cast<double>(x.size() + y.size() - both.size());
}

void bench_dedup(const Corpus& c, int threads, double threshold) {
  DedupConfig config;
  config.exact = true;
  config.near = true;
  config.minhash.threshold = threshold;
  Deduplicator dedup(config);
  WorkerPool pool(threads);
  const std::size_t batch = 8192;
  std::vector<Fingerprint> fps(batch);
  std::vector<std::int64_t> removed_as(c.docs.size(),
                                       -2);  // -2 kept, else index of the kept document
  const auto start = Clock::now();
  double fingerprint_s = 0;
  for (std::size_t begin = 0; begin < c.docs.size(); begin += batch) {
    const std::size_t n = std::min(batch, c.docs.size() - begin);
    const auto t = Clock::now();
    pool.for_each(n, [&](std::size_t i, int) { fps[i] = dedup.fingerprint(c.docs[begin + i]); });
    fingerprint_s += seconds_since(t);
    for (std::size_t i = 0; i < n; ++i) {
      if (auto m = dedup.add(begin + i, fps[i]))
        removed_as[begin + i] = static_cast<std::int64_t>(m->kept);
    }
  }
  const double s = seconds_since(start);
  // Ground truth: a planted copy is a true duplicate of its original.
  std::size_t planted = 0, planted_above = 0, found = 0, found_above = 0, removed = 0,
              true_removed = 0;
  std::vector<double> planted_j;
  for (std::size_t i = 0; i < c.docs.size(); ++i) {
    const bool is_copy = c.original[i] >= 0;
    const bool was_removed = removed_as[i] != -2;
    removed += was_removed;
    if (was_removed) {
      // Right if it is a copy matched to its original or to another copy of it.
      const std::int64_t root =
          c.original[removed_as[i]] >= 0 ? c.original[removed_as[i]] : removed_as[i];
      true_removed += is_copy && root == c.original[i];
    }
    if (!is_copy) continue;
    ++planted;
    const double j = exact_jaccard(c.docs[i], c.docs[c.original[i]], config);
    planted_j.push_back(j);
    const bool above = j >= threshold;
    planted_above += above;
    found += was_removed;
    found_above += was_removed && above;
  }
  std::sort(planted_j.begin(), planted_j.end());
  const double docs_s = static_cast<double>(c.docs.size()) / s;
  const double mb_s = static_cast<double>(c.bytes) / 1e6 / s;
  fmt::print(
      "minhash dedup     threads {:>2}  {:>9.0f} docs/s  {:>7.1f} MB/s  per core {:>9.0f} docs/s "
      "{:>6.1f} MB/s  "
      "(fingerprints {:.0f}% of the time)\n",
      pool.size(), docs_s, mb_s, docs_s / pool.size(), mb_s / pool.size(), 100 * fingerprint_s / s);
  {
    const double precision =
        removed ? static_cast<double>(true_removed) / static_cast<double>(removed) : 1.0;
    const double recall = planted ? static_cast<double>(found) / static_cast<double>(planted) : 1.0;
    const double recall_above =
        planted_above ? static_cast<double>(found_above) / static_cast<double>(planted_above) : 1.0;
    fmt::print(
        "  planted pairs {}, exact Jaccard min {:.3f} median {:.3f}; {} at or above {:.2f}\n",
        planted, planted_j.empty() ? 0 : planted_j.front(),
        planted_j.empty() ? 0 : planted_j[planted_j.size() / 2], planted_above, threshold);
    fmt::print(
        "  removed {}: precision {:.4f}, recall {:.4f} (all planted), {:.4f} (planted with J >= "
        "{:.2f})\n",
        removed, precision, recall, recall_above, threshold);
    fmt::print(
        "  LSH {} bands x {} rows: candidate probability {:.4f} at J=0.85, {:.4f} at J=0.5\n",
        config.minhash.bands, config.minhash.rows(),
        enclave::data::lsh_candidate_probability(0.85, config.minhash.bands, config.minhash.rows()),
        enclave::data::lsh_candidate_probability(0.5, config.minhash.bands, config.minhash.rows()));
  }
}

void bench_reference(const Corpus& c, double threshold) {
  // Exact all-pairs Jaccard on a sample: what MinHash + LSH replaces.
  DedupConfig config;
  const std::size_t n = std::min<std::size_t>(1500, c.docs.size());
  std::vector<std::vector<std::uint64_t>> sets(n);
  const auto start = Clock::now();
  for (std::size_t i = 0; i < n; ++i) {
    sets[i] =
        enclave::data::shingle_hashes(c.docs[i], config.minhash.shingle, config.minhash.ngram);
  }
  std::size_t pairs = 0, similar = 0;
  std::vector<std::uint64_t> both;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      both.clear();
      std::set_intersection(sets[i].begin(), sets[i].end(), sets[j].begin(), sets[j].end(),
                            std::back_inserter(both));
      const double jac = static_cast<double>(both.size()) /
                         static_cast<double>(sets[i].size() + sets[j].size() - both.size());
      similar += jac >= threshold;
      ++pairs;
    }
  }
  const double s = seconds_since(start);
  const double docs_s = static_cast<double>(n) / s;
  fmt::print(
      "reference: exact all-pairs Jaccard, 1 thread, {} docs ({} pairs, {} similar): {:.1f} s, "
      "{:.0f} docs/s; "
      "at {} docs it would take ~{:.0f} h\n",
      n, pairs, similar, s, docs_s, c.docs.size(),
      s * (static_cast<double>(c.docs.size()) / n) * (static_cast<double>(c.docs.size()) / n) /
          3600);
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  if (args.only == "pii") {
    enclave::bench::bench_pii(args.pii_docs, args.seed, args.pii_errors);
    return 0;
  }
  const int all = enclave::data::resolve_threads(args.threads);
  const auto t = Clock::now();
  const Corpus corpus = make_corpus(args);
  fmt::print(
      "corpus: {} documents, {:.1f} MB, {:.0f}% planted near-duplicates, generated in {:.1f} s; {} "
      "threads\n",
      corpus.docs.size(), static_cast<double>(corpus.bytes) / 1e6, args.dup_fraction * 100,
      seconds_since(t), all);
  bench_normalize_filter(corpus, 1);
  if (all > 1) bench_normalize_filter(corpus, all);
  if (all > 1) bench_dedup(corpus, 1, args.threshold);
  bench_dedup(corpus, all, args.threshold);
  bench_reference(corpus, args.threshold);
  enclave::bench::bench_pii(args.pii_docs, args.seed, args.pii_errors);
  return 0;
}
