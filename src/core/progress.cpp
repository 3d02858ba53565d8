#include "core/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cmath>

namespace enclave {

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  auto s = static_cast<std::uint64_t>(std::llround(seconds));
  if (s < 60) return fmt::format("{}s", s);
  if (s < 3600) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}h{:02}m", s / 3600, (s % 3600) / 60);
}

std::string format_progress(const ProgressLine& line) {
  std::string out = fmt::format("{} {}", line.label, line.done);
  if (line.total > 0) out += fmt::format("/{}", line.total);
  out += fmt::format(" {}", line.unit);
  if (line.total > 0) {
    // Integer percent, floored, so 99.9% never reads as 100%.
    std::uint64_t pct = line.done >= line.total
                            ? 100
                            : static_cast<std::uint64_t>(static_cast<double>(line.done) * 100.0 /
                                                         static_cast<double>(line.total));
    out += fmt::format(" ({}%)", pct);
  }
  double rate = line.elapsed_s > 0 ? static_cast<double>(line.done) / line.elapsed_s : 0;
  if (line.elapsed_s > 0) {
    out += rate >= 1000 ? fmt::format(" {:.0f} {}/s", rate, line.unit)
                        : fmt::format(" {:.1f} {}/s", rate, line.unit);
  }
  if (line.finished) {
    out += fmt::format(" in {}", format_duration(line.elapsed_s));
  } else if (line.total > line.done && rate > 0) {
    out +=
        fmt::format(" ETA {}", format_duration(static_cast<double>(line.total - line.done) / rate));
  }
  return out;
}

Progress::Progress(ProgressOptions options)
    : Progress(std::move(options), stderr, ::isatty(STDERR_FILENO) == 1) {}

Progress::Progress(ProgressOptions options, std::FILE* out, bool draw)
    : options_(std::move(options)),
      out_(out),
      draw_(draw && out != nullptr),
      start_(std::chrono::steady_clock::now()) {}

Progress::~Progress() {
  if (!draw_) return;
  std::lock_guard lock(mutex_);
  if (finished_ || !drew_) return;
  draw_locked(/*finished=*/false);
  std::fputc('\n', out_);
  std::fflush(out_);
}

void Progress::advance(std::uint64_t n) {
  done_.fetch_add(n, std::memory_order_relaxed);
  maybe_draw();
}

void Progress::set(std::uint64_t done) {
  done_.store(done, std::memory_order_relaxed);
  maybe_draw();
}

void Progress::finish() {
  if (!draw_) return;
  std::lock_guard lock(mutex_);
  if (finished_) return;
  finished_ = true;
  draw_locked(/*finished=*/true);
  std::fputc('\n', out_);
  std::fflush(out_);
}

double Progress::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::maybe_draw() {
  if (!draw_) return;
  auto now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                    std::chrono::steady_clock::now() - start_)
                    .count();
  if (now_ns < next_draw_ns_.load(std::memory_order_relaxed)) return;
  // One thread draws; the others skip rather than queue behind the write.
  std::unique_lock lock(mutex_, std::try_to_lock);
  if (!lock.owns_lock() || finished_) return;
  next_draw_ns_.store(
      now_ns + std::chrono::duration_cast<std::chrono::nanoseconds>(options_.min_redraw).count(),
      std::memory_order_relaxed);
  draw_locked(/*finished=*/false);
}

void Progress::draw_locked(bool finished) {
  ProgressLine line{options_.label, done(), options_.total, options_.unit, elapsed_s(), finished};
  // \r returns to the line start; ESC[K clears what a longer line left.
  std::string text = "\r" + format_progress(line) + "\x1b[K";
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
  drew_ = true;
}

}  // namespace enclave
