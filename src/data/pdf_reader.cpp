#include "data/pdf_reader.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <poppler-document.h>
#include <poppler-global.h>
#include <poppler-page.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>

#include "data/pdf_rulings.h"

namespace enclave::data {

namespace {

enum ChildExit : int {
  kOk = 0,
  kCannotOpen = 10,
  kEncrypted = 11,
  kTooMuchText = 12,
  kTooManyPages = 13,
  kWriteFailed = 14,
  kCrashed = 15,
};

class ChildWriter {
 public:
  ChildWriter(int fd, std::uint64_t cap) : fd_(fd), cap_(cap) {}
  void bytes(const void* p, std::size_t n) {
    sent_ += n;
    if (sent_ > cap_) _exit(kTooMuchText);
    buffer_.append(static_cast<const char*>(p), n);
    if (buffer_.size() >= (1 << 16)) flush();
  }
  template <typename T>
  void value(T v) {
    bytes(&v, sizeof(v));
  }
  void flush() {
    std::size_t off = 0;
    while (off < buffer_.size()) {
      const ssize_t w = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) _exit(kWriteFailed);
      off += static_cast<std::size_t>(w);
    }
    buffer_.clear();
  }

 private:
  int fd_;
  std::uint64_t cap_;
  std::uint64_t sent_ = 0;
  std::string buffer_;
};

void quiet(const std::string&, void*) {}

[[noreturn]] void child_main(const std::filesystem::path& path, const PdfLimits& limits, int fd) {
  try {
    rlimit cpu{};
    cpu.rlim_cur = cpu.rlim_max = static_cast<rlim_t>(std::ceil(limits.timeout_s)) + 1;
    setrlimit(RLIMIT_CPU, &cpu);
#if !defined(__SANITIZE_ADDRESS__)
    if (limits.max_memory_bytes > 0) {
      rlimit as{};
      as.rlim_cur = as.rlim_max = limits.max_memory_bytes;
      setrlimit(RLIMIT_AS, &as);
    }
#endif
    poppler::set_debug_error_function(quiet, nullptr);
    std::unique_ptr<poppler::document> doc(poppler::document::load_from_file(path.string()));
    if (!doc) _exit(kCannotOpen);
    if (doc->is_locked()) _exit(kEncrypted);
    const int n_pages = doc->pages();
    if (n_pages > limits.max_pages) _exit(kTooManyPages);
    ChildWriter out(fd, limits.max_text_bytes);
    const std::vector<std::vector<PdfRule>> rulings =
        read_pdf_rulings(path.string(), static_cast<std::size_t>(n_pages));
    for (int p = 0; p < n_pages; ++p) {
      std::unique_ptr<poppler::page> page(doc->create_page(p));
      out.value('P');
      if (!page) {
        out.value(0.0);
        out.value(0.0);
        out.value(std::uint32_t{0});
        out.value(std::uint32_t{0});
        continue;
      }
      const poppler::rectf box = page->page_rect();
      out.value(box.width());
      out.value(box.height());
      std::vector<poppler::text_box> words = page->text_list();
      out.value(static_cast<std::uint32_t>(words.size()));
      for (const auto& w : words) {
        const poppler::byte_array utf8 = w.text().to_utf8();
        const poppler::rectf b = w.bbox();
        out.value(static_cast<std::uint32_t>(utf8.size()));
        out.bytes(utf8.data(), utf8.size());
        out.value(b.left());
        out.value(b.top());
        out.value(b.right());
        out.value(b.bottom());
        out.value(static_cast<std::uint8_t>(w.has_space_after()));
      }
      const std::vector<PdfRule> none;
      const auto& rules = rulings.empty() ? none : rulings[static_cast<std::size_t>(p)];
      out.value(static_cast<std::uint32_t>(rules.size()));
      for (const PdfRule& r : rules) {
        out.value(r.x0);
        out.value(r.y0);
        out.value(r.x1);
        out.value(r.y1);
      }
    }
    out.value('E');
    out.flush();
    _exit(kOk);
  } catch (...) {
    _exit(kCrashed);
  }
}

class Decoder {
 public:
  explicit Decoder(std::string_view data) : data_(data) {}
  template <typename T>
  bool value(T& v) {
    if (data_.size() - pos_ < sizeof(T)) return false;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return true;
  }
  bool bytes(std::string& out, std::size_t n) {
    if (data_.size() - pos_ < n) return false;
    out.assign(data_.data() + pos_, n);
    pos_ += n;
    return true;
  }

 private:
  std::string_view data_;
  std::size_t pos_ = 0;
};

std::string exit_reason(int status, const PdfLimits& limits) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    if (sig == SIGXCPU) return fmt::format("CPU time limit exceeded ({}s)", limits.timeout_s);
    return fmt::format("PDF reader crashed (signal {})", sig);
  }
  switch (WEXITSTATUS(status)) {
    case kOk:
      return "";
    case kCannotOpen:
      return "not a readable PDF (corrupt or truncated)";
    case kEncrypted:
      return "encrypted (password required)";
    case kTooMuchText:
      return fmt::format("more than {} bytes of text", limits.max_text_bytes);
    case kTooManyPages:
      return fmt::format("more than {} pages", limits.max_pages);
    case kCrashed:
      return "PDF reader failed (out of memory or malformed objects)";
    default:
      return fmt::format("PDF reader exited with status {}", WEXITSTATUS(status));
  }
}

struct Child {
  pid_t pid = -1;
  int fd = -1;
  std::size_t index = 0;
  std::chrono::steady_clock::time_point deadline;
  std::string data;
  std::string error;  // set by the parent (timeout, too much output)
};

}  // namespace

std::string decode_pdf_words(std::string_view data, std::vector<PdfPage>& pages) {
  Decoder in(data);
  for (;;) {
    char tag = 0;
    if (!in.value(tag)) return "truncated output from the PDF reader";
    if (tag == 'E') return "";
    if (tag != 'P') return "corrupt output from the PDF reader";
    PdfPage page;
    std::uint32_t n = 0;
    if (!in.value(page.width) || !in.value(page.height) || !in.value(n))
      return "truncated output from the PDF reader";
    for (std::uint32_t i = 0; i < n; ++i) {
      PdfWord w;
      std::uint32_t len = 0;
      std::uint8_t space = 0;
      if (!in.value(len) || !in.bytes(w.text, len) || !in.value(w.x0) || !in.value(w.y0) ||
          !in.value(w.x1) || !in.value(w.y1) || !in.value(space)) {
        return "truncated output from the PDF reader";
      }
      w.space_after = space != 0;
      page.words.push_back(std::move(w));
    }
    if (!in.value(n)) return "truncated output from the PDF reader";
    for (std::uint32_t i = 0; i < n; ++i) {
      PdfRule r;
      if (!in.value(r.x0) || !in.value(r.y0) || !in.value(r.x1) || !in.value(r.y1))
        return "truncated output from the PDF reader";
      page.rules.push_back(r);
    }
    pages.push_back(std::move(page));
  }
}

std::vector<PdfExtraction> extract_pdf_words(const std::vector<std::filesystem::path>& files,
                                             const PdfLimits& limits, int parallel) {
  std::vector<PdfExtraction> results(files.size());
  std::vector<Child> running;
  std::size_t next = 0;
  const auto timeout = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(limits.timeout_s));
  auto finish = [&](Child& c) {
    close(c.fd);
    int status = 0;
    while (waitpid(c.pid, &status, 0) < 0 && errno == EINTR) {
    }
    PdfExtraction& r = results[c.index];
    r.error = !c.error.empty() ? c.error : exit_reason(status, limits);
    if (r.error.empty()) r.error = decode_pdf_words(c.data, r.pages);
    if (!r.error.empty()) r.pages.clear();
  };
  while (next < files.size() || !running.empty()) {
    while (next < files.size() && static_cast<int>(running.size()) < std::max(1, parallel)) {
      int fds[2];
      if (pipe2(fds, O_CLOEXEC) != 0) {
        results[next++].error =
            fmt::format("cannot start the PDF reader: {}", std::strerror(errno));
        continue;
      }
      const pid_t pid = fork();
      if (pid == 0) {
        close(fds[0]);
        child_main(files[next], limits, fds[1]);
      }
      close(fds[1]);
      if (pid < 0) {
        close(fds[0]);
        results[next++].error =
            fmt::format("cannot start the PDF reader: {}", std::strerror(errno));
        continue;
      }
      running.push_back({pid, fds[0], next++, std::chrono::steady_clock::now() + timeout, {}, {}});
    }
    if (running.empty()) break;
    std::vector<pollfd> polls;
    auto now = std::chrono::steady_clock::now();
    auto soonest = running.front().deadline;
    for (const Child& c : running) {
      polls.push_back({c.fd, POLLIN, 0});
      soonest = std::min(soonest, c.deadline);
    }
    const auto wait_ms = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(soonest - now).count() + 1);
    const int ready =
        poll(polls.data(), polls.size(), static_cast<int>(std::min<std::int64_t>(wait_ms, 1000)));
    if (ready < 0 && errno != EINTR) break;
    now = std::chrono::steady_clock::now();
    std::vector<Child> still;
    for (std::size_t i = 0; i < running.size(); ++i) {
      Child& c = running[i];
      bool done = false;
      if (polls[i].revents & (POLLIN | POLLHUP | POLLERR)) {
        char buf[1 << 16];
        const ssize_t n = read(c.fd, buf, sizeof(buf));
        if (n > 0) {
          c.data.append(buf, static_cast<std::size_t>(n));
          if (c.data.size() > limits.max_text_bytes + (std::uint64_t{64} << 20)) {
            kill(c.pid, SIGKILL);
            c.error = fmt::format("more than {} bytes of text", limits.max_text_bytes);
            done = true;
          }
        } else if (n == 0 || errno != EINTR) {
          done = true;
        }
      }
      if (!done && now >= c.deadline) {
        kill(c.pid, SIGKILL);
        c.error = fmt::format("timed out after {}s", limits.timeout_s);
        done = true;
      }
      if (done) {
        finish(c);
      } else {
        still.push_back(std::move(c));
      }
    }
    running = std::move(still);
  }
  return results;
}

}  // namespace enclave::data
