#include "data/line_reader.h"

#include <cerrno>
#include <cstring>

#include "core/error.h"

namespace enclave::data {

namespace {
constexpr std::size_t kChunk = std::size_t{1} << 20;
}

LineReader::LineReader(const std::filesystem::path& path, std::size_t max_line_bytes)
    : path_(path), max_line_bytes_(max_line_bytes) {
  file_ = std::fopen(path.c_str(), "rb");
  if (file_ == nullptr) {
    if (errno == ENOENT) fail(ErrorKind::kNotFound, "{}: no such file", path.string());
    fail(ErrorKind::kIo, "{}: cannot open: {}", path.string(), std::strerror(errno));
  }
  buffer_.resize(kChunk);
}

LineReader::~LineReader() {
  if (file_ != nullptr) std::fclose(file_);
}

// Moves unread bytes to the front and reads more; false if nothing was added.
bool LineReader::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buffer_.size()) buffer_.resize(buffer_.size() * 2);
  const std::size_t n = std::fread(buffer_.data() + end_, 1, buffer_.size() - end_, file_);
  if (n == 0) {
    if (std::ferror(file_))
      fail(ErrorKind::kIo, "{}: read failed: {}", path_.string(), std::strerror(errno));
    eof_ = true;
    return false;
  }
  end_ += n;
  bytes_read_ += n;
  return true;
}

bool LineReader::next(Line& line) {
  std::size_t scanned = 0;  // bytes after begin_ known to hold no newline
  for (;;) {
    const char* start = buffer_.data() + begin_;
    const auto* nl =
        static_cast<const char*>(std::memchr(start + scanned, '\n', end_ - begin_ - scanned));
    if (nl != nullptr || (eof_ && end_ > begin_)) {
      std::size_t len = nl != nullptr ? static_cast<std::size_t>(nl - start) : end_ - begin_;
      begin_ += len + (nl != nullptr ? 1 : 0);
      std::string_view text(start, len);
      if (first_) {
        first_ = false;
        if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
      }
      if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
      if (text.size() > max_line_bytes_) {
        line = Line{{}, ++number_, true};
      } else {
        line = Line{text, ++number_, false};
      }
      return true;
    }
    if (eof_) return false;
    scanned = end_ - begin_;
    if (scanned > max_line_bytes_) {
      // Too long: drop what we have and skip to the next newline.
      first_ = false;
      begin_ = end_ = 0;
      for (;;) {
        if (!fill()) break;
        const auto* skip_nl = static_cast<const char*>(std::memchr(buffer_.data(), '\n', end_));
        if (skip_nl != nullptr) {
          begin_ = static_cast<std::size_t>(skip_nl - buffer_.data()) + 1;
          break;
        }
        end_ = 0;
      }
      line = Line{{}, ++number_, true};
      return true;
    }
    fill();
  }
}

}  // namespace enclave::data
