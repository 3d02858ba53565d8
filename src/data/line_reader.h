// LineReader: streams the lines of a (possibly larger than RAM) text file
// with bounded memory. A UTF-8 byte-order mark at the start and the "\r" of
// CRLF endings are dropped. A line longer than max_line_bytes is not held in
// memory: it is skipped to its end and reported as too long, so one 2 GB line
// costs a per-line error, not the batch (RELIABILITY.md #19).
// Thread safety: one reader per thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace enclave::data {

struct Line {
  std::string_view text;     // valid until the next call to next()
  std::uint64_t number = 0;  // 1-based
  bool too_long = false;     // text is empty; the line had more than max_line_bytes
};

class LineReader {
 public:
  // Throws Error(kNotFound) if the file is missing, Error(kIo) if unreadable.
  explicit LineReader(const std::filesystem::path& path,
                      std::size_t max_line_bytes = std::size_t{64} << 20);
  ~LineReader();
  LineReader(const LineReader&) = delete;
  LineReader& operator=(const LineReader&) = delete;

  // The next line; false at the end of the file. Throws Error(kIo) on a read
  // failure. A final line without a newline is returned like the others.
  bool next(Line& line);

  // Bytes consumed so far (for progress and MB/s).
  std::uint64_t bytes_read() const { return bytes_read_; }
  const std::filesystem::path& path() const { return path_; }

 private:
  bool fill();

  std::filesystem::path path_;
  std::FILE* file_ = nullptr;
  std::size_t max_line_bytes_;
  std::string buffer_;
  std::size_t begin_ = 0;  // start of unread data in buffer_
  std::size_t end_ = 0;    // end of valid data in buffer_
  bool eof_ = false;
  bool first_ = true;
  std::uint64_t number_ = 0;
  std::uint64_t bytes_read_ = 0;
};

}  // namespace enclave::data
