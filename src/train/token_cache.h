// Tokenised training data on disk. A JSONL file is read as a stream, its
// records tokenised on every core a batch at a time, and the sequences
// written to a cache file named by a key over everything that decides them:
// the data's sha256, the tokenizer and chat template files, the mode,
// max_length and this format's version. Training maps the file and touches
// only the sequences of each step, so a data set larger than memory trains
// in bounded memory, and a later run with the same key (a resume, a sweep
// over learning rates) reads the file instead of tokenising again.
//
// File format (little-endian): the sequences back to back, each its ids
// (int32) then its targets (uint8), padded to 4 bytes; then the index, two
// uint64 (offset, length) per sequence; then a 64-byte trailer: magic
// "ENCLSEQ1", format version (uint64), n_sequences, index offset,
// n_records, n_tokens, n_truncated. Files are published by rename, so a
// cache file is whole or absent.
// Torch-free. Thread safety: PackedSequences is immutable once built and may
// be read from any thread. A damaged index entry is reported (Error
// kInvalidInput naming the file) when its sequence is read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/file.h"
#include "train/dataset.h"
#include "train/train_config.h"

namespace enclave::train {

class PackedSequences {
 public:
  // In memory, in the file's layout.
  explicit PackedSequences(const std::vector<SequenceExample>& examples);
  // Maps a cache file. Throws Error(kInvalidInput) naming it when it is not
  // one (truncated, another format version, an index outside the file).
  explicit PackedSequences(const std::filesystem::path& file);
  // The sequences of parts one after the other (sDPO's chunk files, each
  // its own cache file), their stats summed; parts stay as they are held.
  explicit PackedSequences(std::vector<std::shared_ptr<const PackedSequences>> parts);
  PackedSequences(const PackedSequences&) = delete;
  PackedSequences& operator=(const PackedSequences&) = delete;

  std::size_t size() const { return n_; }
  std::span<const TokenId> ids(std::size_t i) const;
  std::span<const std::uint8_t> targets(std::size_t i) const;
  std::int64_t n_targets(std::size_t i) const;
  // Gives back the memory that reading sequence i paged in from a mapped
  // file (its ids, targets and index entry; MappedFile::release), once its
  // tokens are copied out: a run that reads the whole file, a batch at a
  // time, stays at the size of a batch instead of growing to the file's.
  // Spans of i stay valid (they page in again when read). Nothing to give
  // back for in-memory sequences.
  void release(std::size_t i) const;
  // Counts the file records for the sequences (as ExampleBuilder counted them).
  const BuildStats& stats() const { return stats_; }

 private:
  void parse(std::span<const std::uint8_t> bytes, const std::string& what);
  // Sequence i's (offset, length), checked to lie in the file.
  std::pair<std::uint64_t, std::uint64_t> entry(std::size_t i) const;

  // Concatenated: the part that holds sequence i, and i's index in it.
  std::pair<const PackedSequences*, std::size_t> locate(std::size_t i) const;

  std::vector<std::shared_ptr<const PackedSequences>> parts_;
  std::vector<std::size_t> part_starts_;  // first sequence of each part
  std::unique_ptr<MappedFile> mapped_;
  std::vector<std::uint8_t> owned_;
  const std::uint8_t* base_ = nullptr;
  const std::uint64_t* index_ = nullptr;  // (offset, length) per sequence
  std::size_t n_ = 0;
  std::uint64_t data_end_ = 0;  // where the index starts
  std::string what_;            // the file, for errors
  BuildStats stats_;
};

// Preference pairs in memory, in the layout a DPO token cache has: three
// sequences per pair (prompt, chosen, rejected), without targets.
std::shared_ptr<const PackedSequences> pack_pairs(const std::vector<PreferenceExample>& pairs);

// sha256 over the files of model_dir that decide tokenisation (tokenizer,
// its config, special tokens, chat template): part of a cache key.
std::string tokenizer_key(const std::filesystem::path& model_dir);

struct TokenCacheOptions {
  // Where tokens-<key> files live (created if missing); empty: nothing is
  // cached (the file is written to a scratch folder, mapped, and removed).
  std::filesystem::path cache_dir;
  std::string tokenizer_key;    // tokenizer_key() of the model
  std::int64_t max_length = 0;  // the builder's
  int threads = 0;              // tokenising threads; <= 0: every core
};

struct TokenizedData {
  std::shared_ptr<const PackedSequences> sequences;
  std::string key;         // sha256 hex
  bool cache_hit = false;  // read from an existing cache file, nothing tokenised
};

// The sequences of a pretrain or sft JSONL file (mode kPretrain or kSft),
// or the pairs of a preference file (kDpo, kSdpo: three sequences per pair,
// as pack_pairs lays them out; stats count pairs as records), from the cache when it holds them,
// else tokenised (streaming, on options.threads threads, in file order) into it. Throws what
// read_jsonl and the builder throw, naming the record; Error(kIo) when the cache file cannot be
// written.
TokenizedData tokenize_cached(const std::filesystem::path& jsonl, const ExampleBuilder& builder,
                              TrainMode mode, const TokenCacheOptions& options);

}  // namespace enclave::train
