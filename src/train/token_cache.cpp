#include "train/token_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <thread>

#include "core/error.h"
#include "core/hash.h"
#include "core/staging_dir.h"

namespace enclave::train {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'E', 'N', 'C', 'L', 'S', 'E', 'Q', '1'};
constexpr std::uint64_t kFormatVersion = 1;
constexpr std::size_t kTrailerWords = 8;  // magic, version, n, index offset, 3 stats, reserved
constexpr std::size_t kTrailerBytes = kTrailerWords * 8;
// A batch of records tokenised together: enough to keep every core busy,
// small enough that memory stays flat whatever the file's size.
constexpr std::size_t kBatchRecords = 128;
constexpr std::size_t kBatchTextBytes = std::size_t{512} << 10;

// Writes sequences in the cache layout to sink. The index waits in an
// unnamed temp file, not in memory, so memory stays flat however many
// sequences there are.
class SequenceWriter {
 public:
  explicit SequenceWriter(std::function<void(const void*, std::size_t)> sink)
      : sink_(std::move(sink)), index_(std::tmpfile()) {
    if (index_ == nullptr)
      fail(ErrorKind::kIo, "cannot create a temp file for the token cache index: {}",
           std::strerror(errno));
  }
  ~SequenceWriter() { std::fclose(index_); }
  SequenceWriter(const SequenceWriter&) = delete;
  SequenceWriter& operator=(const SequenceWriter&) = delete;

  void add(const SequenceExample& e) {
    const std::uint64_t entry[2] = {offset_, e.ids.size()};
    if (std::fwrite(entry, sizeof(entry), 1, index_) != 1)
      fail(ErrorKind::kIo, "token cache index: write failed: {}", std::strerror(errno));
    ++n_;
    put(e.ids.data(), e.ids.size() * sizeof(TokenId));
    put(e.targets.data(), e.targets.size());
    pad(4);
  }

  void finish(const BuildStats& stats) {
    pad(8);
    const std::uint64_t index_offset = offset_;
    std::rewind(index_);
    std::vector<char> buf(1 << 16);
    for (std::size_t got; (got = std::fread(buf.data(), 1, buf.size(), index_)) > 0;)
      put(buf.data(), got);
    if (std::ferror(index_) || offset_ - index_offset != n_ * 16)
      fail(ErrorKind::kIo, "token cache index: read back failed");
    std::uint64_t trailer[kTrailerWords] = {};
    std::memcpy(&trailer[0], kMagic, 8);
    trailer[1] = kFormatVersion;
    trailer[2] = n_;
    trailer[3] = index_offset;
    trailer[4] = static_cast<std::uint64_t>(stats.n_records);
    trailer[5] = static_cast<std::uint64_t>(stats.n_tokens);
    trailer[6] = static_cast<std::uint64_t>(stats.n_truncated);
    put(trailer, sizeof(trailer));
    flush();
  }

 private:
  // The sink gets large pieces (a write per sequence would be three system calls).
  static constexpr std::size_t kBufferBytes = std::size_t{1} << 20;

  void put(const void* data, std::size_t n) {
    if (n == 0) return;
    const auto* p = static_cast<const char*>(data);
    buffer_.insert(buffer_.end(), p, p + n);
    offset_ += n;
    if (buffer_.size() >= kBufferBytes) flush();
  }
  void flush() {
    if (!buffer_.empty()) sink_(buffer_.data(), buffer_.size());
    buffer_.clear();
  }
  void pad(std::size_t to) {
    static constexpr char kZeros[8] = {};
    put(kZeros, (to - offset_ % to) % to);
  }

  std::function<void(const void*, std::size_t)> sink_;
  std::vector<char> buffer_;
  std::FILE* index_;
  std::uint64_t offset_ = 0;
  std::uint64_t n_ = 0;
};

// fn(i) for i in [0, n) on up to `threads` threads (the caller's among
// them), which take the next few indices as they finish, so a slow record
// does not hold the others. Every i runs; the error of the lowest failing
// i is rethrown, as a loop in order would have thrown first.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& fn) {
  const std::size_t t = std::min<std::size_t>(static_cast<std::size_t>(std::max(threads, 1)), n);
  if (t <= 1) {
    for (std::size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  constexpr std::size_t kChunk = 4;
  std::atomic<std::size_t> next{0};
  struct Failure {
    std::size_t index = SIZE_MAX;
    std::exception_ptr error;
  };
  std::vector<Failure> failures(t);
  auto work = [&](std::size_t k) {
    for (std::size_t begin; (begin = next.fetch_add(kChunk)) < n;) {
      for (std::size_t i = begin; i < std::min(n, begin + kChunk); ++i) {
        try {
          fn(i);
        } catch (...) {
          // A thread's indices only grow: its first failure is its lowest.
          if (!failures[k].error) failures[k] = {i, std::current_exception()};
        }
      }
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(t - 1);
  for (std::size_t k = 1; k < t; ++k) pool.emplace_back(work, k);
  work(0);
  for (std::thread& th : pool) th.join();
  const Failure* first = nullptr;
  for (const Failure& f : failures) {
    if (f.error && (first == nullptr || f.index < first->index)) first = &f;
  }
  if (first != nullptr) std::rethrow_exception(first->error);
}

void add_stats(BuildStats& into, const BuildStats& s) {
  into.n_records += s.n_records;
  into.n_sequences += s.n_sequences;
  into.n_tokens += s.n_tokens;
  into.n_truncated += s.n_truncated;
}

// A preference pair as three sequences (prompt, chosen, rejected; no
// targets): the layout pair_sequences reads.
SequenceExample untargeted(const std::vector<TokenId>& ids) {
  return {ids, std::vector<std::uint8_t>(ids.size(), 0)};
}

void add_pair(SequenceWriter& writer, const PreferenceExample& e) {
  for (const std::vector<TokenId>* part : {&e.prompt, &e.chosen, &e.rejected})
    writer.add(untargeted(*part));
}

// Streams jsonl through the builder into writer, a batch at a time: this
// thread reads the lines, the pool parses and tokenises them, and this
// thread packs and writes the results in file order.
BuildStats tokenize_into(const fs::path& jsonl, const ExampleBuilder& builder, TrainMode mode,
                         std::int64_t max_length, int threads, SequenceWriter& writer) {
  BuildStats total;
  std::size_t first_line = 0;
  SequencePacker packer(max_length, [&](SequenceExample&& e) {
    writer.add(e);
    ++total.n_sequences;
  });
  std::vector<JsonlLine> batch;
  std::size_t batch_bytes = 0;
  auto record = [&](std::size_t i) { return parse_jsonl_line(jsonl, batch[i]); };
  auto flush = [&] {
    if (batch.empty()) return;
    if (mode == TrainMode::kPretrain) {
      std::vector<std::vector<TokenId>> docs(batch.size());
      parallel_for(batch.size(), threads,
                   [&](std::size_t i) { docs[i] = builder.document_ids(record(i)); });
      for (const std::vector<TokenId>& ids : docs) {
        ++total.n_records;
        total.n_tokens += static_cast<std::int64_t>(ids.size());
        packer.add(ids);
      }
    } else if (mode == TrainMode::kDpo || mode == TrainMode::kSdpo) {
      std::vector<PreferenceExample> pairs(batch.size());
      std::vector<BuildStats> stats(batch.size());
      parallel_for(batch.size(), threads, [&](std::size_t i) {
        pairs[i] = builder.preference_example(record(i), stats[i]);
      });
      for (std::size_t i = 0; i < batch.size(); ++i) {
        add_stats(total, stats[i]);
        add_pair(writer, pairs[i]);
      }
    } else {
      std::vector<std::optional<SequenceExample>> examples(batch.size());
      std::vector<BuildStats> stats(batch.size());
      parallel_for(batch.size(), threads,
                   [&](std::size_t i) { examples[i] = builder.sft_example(record(i), stats[i]); });
      for (std::size_t i = 0; i < batch.size(); ++i) {
        add_stats(total, stats[i]);
        if (examples[i]) writer.add(*examples[i]);
      }
    }
    batch.clear();
    batch_bytes = 0;
  };
  for_each_jsonl_line(jsonl, [&](JsonlLine&& line) {
    if (first_line == 0) first_line = line.number;
    batch_bytes += line.text.size();
    batch.push_back(std::move(line));
    if (batch.size() >= kBatchRecords || batch_bytes >= kBatchTextBytes) flush();
  });
  flush();
  if (mode == TrainMode::kPretrain) packer.finish();
  if (total.n_sequences == 0) {
    const std::string first_where = fmt::format("{}:{}", jsonl.string(), first_line);
    if (mode == TrainMode::kDpo || mode == TrainMode::kSdpo)
      fail_input("{}: no preference pairs to train on", jsonl.string());
    if (mode == TrainMode::kPretrain)
      fail_input("{}: the texts hold fewer than 2 tokens", first_where);
    fail_input("{}: no record has a completion within max_length {}", first_where, max_length);
  }
  return total;
}

std::string cache_key(const fs::path& jsonl, TrainMode mode, const TokenCacheOptions& options) {
  // sDPO trains on the same pairs as DPO: one cache serves both.
  const TrainMode tokens_of = mode == TrainMode::kSdpo ? TrainMode::kDpo : mode;
  return sha256_hex(fmt::format(
      "enclave.tokens {}\nmode {}\nmax_length {}\ntokenizer {}\ndata {}\n", kFormatVersion,
      to_string(tokens_of), options.max_length, options.tokenizer_key, sha256_file_hex(jsonl)));
}

}  // namespace

PackedSequences::PackedSequences(const std::vector<SequenceExample>& examples) {
  SequenceWriter writer([this](const void* data, std::size_t n) {
    const auto* p = static_cast<const std::uint8_t*>(data);
    owned_.insert(owned_.end(), p, p + n);
  });
  BuildStats stats;
  for (const SequenceExample& e : examples) {
    ENCLAVE_CHECK(e.ids.size() == e.targets.size());
    writer.add(e);
    stats.n_tokens += static_cast<std::int64_t>(e.ids.size());
  }
  stats.n_records = static_cast<std::int64_t>(examples.size());
  writer.finish(stats);
  parse(owned_, "in-memory sequences");
}

PackedSequences::PackedSequences(const fs::path& file)
    : mapped_(std::make_unique<MappedFile>(file, MappedFile::Mapping::kAlways)) {
  parse(mapped_->bytes(), file.string());
}

PackedSequences::PackedSequences(std::vector<std::shared_ptr<const PackedSequences>> parts)
    : parts_(std::move(parts)) {
  for (const auto& part : parts_) {
    part_starts_.push_back(n_);
    n_ += part->size();
    stats_.n_records += part->stats().n_records;
    stats_.n_sequences += part->stats().n_sequences;
    stats_.n_tokens += part->stats().n_tokens;
    stats_.n_truncated += part->stats().n_truncated;
  }
}

std::pair<const PackedSequences*, std::size_t> PackedSequences::locate(std::size_t i) const {
  ENCLAVE_CHECK(i < n_);
  const auto after = std::upper_bound(part_starts_.begin(), part_starts_.end(), i);
  const auto p = static_cast<std::size_t>(after - part_starts_.begin()) - 1;
  return {parts_[p].get(), i - part_starts_[p]};
}

void PackedSequences::parse(std::span<const std::uint8_t> bytes, const std::string& what) {
  if (bytes.size() < kTrailerBytes)
    fail_input("{}: not a token cache file ({} bytes, shorter than its trailer)", what,
               bytes.size());
  std::uint64_t trailer[kTrailerWords];
  std::memcpy(trailer, bytes.data() + bytes.size() - kTrailerBytes, kTrailerBytes);
  if (std::memcmp(&trailer[0], kMagic, 8) != 0) fail_input("{}: not a token cache file", what);
  if (trailer[1] != kFormatVersion)
    fail_input("{}: token cache format {} (this program reads {})", what, trailer[1],
               kFormatVersion);
  const std::uint64_t n = trailer[2];
  const std::uint64_t index_offset = trailer[3];
  const std::uint64_t body = bytes.size() - kTrailerBytes;
  if (index_offset % 8 != 0 || index_offset > body || (body - index_offset) / 16 != n ||
      (body - index_offset) % 16 != 0)
    fail_input("{}: token cache index does not fit the file", what);
  base_ = bytes.data();
  index_ = reinterpret_cast<const std::uint64_t*>(bytes.data() + index_offset);
  n_ = static_cast<std::size_t>(n);
  data_end_ = index_offset;
  what_ = what;
  stats_.n_records = static_cast<std::int64_t>(trailer[4]);
  stats_.n_sequences = static_cast<std::int64_t>(n);
  stats_.n_tokens = static_cast<std::int64_t>(trailer[5]);
  stats_.n_truncated = static_cast<std::int64_t>(trailer[6]);
}

std::pair<std::uint64_t, std::uint64_t> PackedSequences::entry(std::size_t i) const {
  ENCLAVE_CHECK(i < n_);
  // Checked here rather than all at open, which would read the whole index.
  const std::uint64_t offset = index_[2 * i];
  const std::uint64_t length = index_[2 * i + 1];
  if (offset % 4 != 0 || length > data_end_ / 5 || offset > data_end_ - 5 * length)
    fail_input("{}: token cache sequence {} lies outside the file", what_, i);
  return {offset, length};
}

std::span<const TokenId> PackedSequences::ids(std::size_t i) const {
  if (!parts_.empty()) {
    const auto [part, j] = locate(i);
    return part->ids(j);
  }
  const auto [offset, length] = entry(i);
  return {reinterpret_cast<const TokenId*>(base_ + offset), static_cast<std::size_t>(length)};
}

std::span<const std::uint8_t> PackedSequences::targets(std::size_t i) const {
  if (!parts_.empty()) {
    const auto [part, j] = locate(i);
    return part->targets(j);
  }
  const auto [offset, length] = entry(i);
  return {base_ + offset + length * sizeof(TokenId), static_cast<std::size_t>(length)};
}

std::int64_t PackedSequences::n_targets(std::size_t i) const {
  std::int64_t n = 0;
  for (std::uint8_t t : targets(i)) n += t != 0;
  return n;
}

void PackedSequences::release(std::size_t i) const {
  if (!parts_.empty()) {
    const auto [part, j] = locate(i);
    return part->release(j);
  }
  if (!mapped_) return;
  const auto [offset, length] = entry(i);
  mapped_->release(static_cast<std::size_t>(offset), static_cast<std::size_t>(length) * 5);
  mapped_->release(static_cast<std::size_t>(data_end_ + 16 * i), 16);
}

std::shared_ptr<const PackedSequences> pack_pairs(const std::vector<PreferenceExample>& pairs) {
  std::vector<SequenceExample> parts;
  parts.reserve(3 * pairs.size());
  for (const PreferenceExample& e : pairs) {
    for (const std::vector<TokenId>* part : {&e.prompt, &e.chosen, &e.rejected})
      parts.push_back(untargeted(*part));
  }
  return std::make_shared<const PackedSequences>(parts);
}

std::string tokenizer_key(const fs::path& model_dir) {
  std::string text;
  for (const char* name :
       {"tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "generation_config.json", "chat_template.jinja"}) {
    std::error_code ec;
    if (fs::is_regular_file(model_dir / name, ec))
      text += fmt::format("{} {}\n", name, sha256_file_hex(model_dir / name));
  }
  return sha256_hex(text);
}

TokenizedData tokenize_cached(const fs::path& jsonl, const ExampleBuilder& builder, TrainMode mode,
                              const TokenCacheOptions& options) {
  if (options.cache_dir.empty()) {
    // Written to a scratch folder, mapped, and removed with the folder on
    // return: the mapping outlives the name.
    const StagingDir scratch = StagingDir::scratch(fs::temp_directory_path(), "enclave-tokens");
    TokenCacheOptions in_scratch = options;
    in_scratch.cache_dir = scratch.path();
    TokenizedData out = tokenize_cached(jsonl, builder, mode, in_scratch);
    out.cache_hit = false;
    return out;
  }
  TokenizedData out;
  out.key = cache_key(jsonl, mode, options);
  std::error_code ec;
  fs::create_directories(options.cache_dir, ec);
  if (ec)
    fail(ErrorKind::kIo, "{}: cannot create the token cache folder: {}", options.cache_dir.string(),
         ec.message());
  const fs::path file = options.cache_dir / ("tokens-" + out.key);
  if (fs::is_regular_file(file, ec)) {
    try {
      out.sequences = std::make_shared<const PackedSequences>(file);
      out.cache_hit = true;
      return out;
    } catch (const Error&) {
      // Not a cache file we can read (another version, damaged): build it again.
    }
  }
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  {
    AtomicFile atomic(file);
    SequenceWriter writer([&atomic](const void* data, std::size_t n) { atomic.write(data, n); });
    const BuildStats stats =
        tokenize_into(jsonl, builder, mode, options.max_length, threads, writer);
    writer.finish(stats);
    atomic.commit();
  }
  out.sequences = std::make_shared<const PackedSequences>(file);
  return out;
}

}  // namespace enclave::train
