// Streaming a dataset file through a step: lines are read in batches, parsed
// and processed on every core (DocumentStep::process), then decided in input
// order on one thread (DocumentStep::decide, for steps such as dedup whose
// verdict depends on earlier documents), and written in input order. Memory
// stays bounded by the batch, whatever the file size.
// Thread safety: stream_documents drives the pool itself; process() runs on
// many threads at once (one worker index per thread), decide() on one.
#pragma once

#include <any>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/progress.h"
#include "data/document.h"
#include "data/worker_pool.h"

namespace enclave::data {

// What becomes of one document.
struct DocOutcome {
  int output = 0;    // index of the output file it goes to; -1 drops it
  std::string rule;  // why it was dropped (counted in StreamStats::removed)
  std::string line;  // written instead of the document's own JSONL when non-empty
  std::string side;  // a line for the side file (rejects, duplicates, ...) when non-empty
  std::int64_t chars_out = -1;  // characters of the written text; -1: count doc.text
  std::any scratch;             // what process() leaves for decide() (dedup: the fingerprint)
};

class DocumentStep {
 public:
  virtual ~DocumentStep() = default;
  // Runs on worker `worker` (0..pool size-1); may rewrite doc.
  virtual void process(Document& doc, DocOutcome& outcome, int worker) = 0;
  // Runs in input order on one thread after process(); index counts the
  // documents of the whole step (across files) from 0.
  virtual void decide(std::uint64_t /*index*/, Document& /*doc*/, DocOutcome& /*outcome*/) {}
};

struct StreamStats {
  std::int64_t documents_in = 0;
  std::int64_t documents_out = 0;
  std::int64_t chars_in = 0;
  std::int64_t chars_out = 0;
  std::map<std::string, std::int64_t> removed;  // by rule
  std::uint64_t bytes_in = 0;
  StreamStats& operator+=(const StreamStats& other);
};

class OutputFile;

// Streams input through step into outputs (side receives DocOutcome::side
// lines; may be null). *index is the running document index passed to
// decide() and is advanced. Throws Error(kInvalidInput) naming file and line
// for a record that is not a valid document.
StreamStats stream_documents(const std::filesystem::path& input,
                             const std::vector<OutputFile*>& outputs, OutputFile* side,
                             DocumentStep& step, WorkerPool& pool, Progress* progress,
                             std::uint64_t* index);

// A JSONL file written through a buffer and published atomically by close();
// destroyed unclosed, it leaves nothing behind.
class OutputFile {
 public:
  explicit OutputFile(std::filesystem::path path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;
  void write_line(std::string_view line);
  void close();
  std::int64_t lines() const { return lines_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  AtomicFile file_;
  std::string buffer_;
  std::int64_t lines_ = 0;
};

// Code points in s (for character counts in reports).
std::int64_t count_code_points(std::string_view s);

}  // namespace enclave::data
