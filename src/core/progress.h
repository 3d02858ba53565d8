// Progress: items done / total, rate and ETA on one terminal line, redrawn in
// place, for long work (hashing, tokenizing, training steps). It draws on
// stderr only when stderr is a terminal and stays silent in logs and CI, so
// output captured to files holds no carriage returns or escape codes.
// Thread safety: advance(), set(), done() and finish() may be called from
// many threads at once; lines are never interleaved.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>

namespace enclave {

struct ProgressOptions {
  std::string label;        // what is happening: "hashing", "tokenizing"
  std::uint64_t total = 0;  // 0 when unknown: no percentage and no ETA
  std::string unit = "items";
  // Redraws closer together than this are skipped, so a hot loop calling
  // advance() per item costs an atomic add, not a write.
  std::chrono::milliseconds min_redraw{100};
};

// What one status line shows; format_progress turns it into text.
struct ProgressLine {
  std::string_view label;
  std::uint64_t done = 0;
  std::uint64_t total = 0;
  std::string_view unit;
  double elapsed_s = 0;
  bool finished = false;  // show the total time instead of an ETA
};

// "tokenizing 50/100 items (50%) 25.0 items/s ETA 2s", or with finished
// "tokenizing 100/100 items (100%) 25.0 items/s in 4s". No control characters.
std::string format_progress(const ProgressLine& line);
// "42s", "3m05s", "1h02m".
std::string format_duration(double seconds);

class Progress {
 public:
  // Draws on stderr when it is a terminal (isatty), otherwise is silent.
  explicit Progress(ProgressOptions options);
  // Draws on `out` when `draw` is true; for tests and callers that decide.
  // `out` must outlive this object.
  Progress(ProgressOptions options, std::FILE* out, bool draw);
  // Ends the drawn line if finish() was not called, so the next output does
  // not start mid-line.
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void advance(std::uint64_t n = 1);
  void set(std::uint64_t done);
  // Draws the final line with the total time and a newline (on a terminal).
  // Later calls, and later advance()/set() redraws, do nothing.
  void finish();

  std::uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  bool drawing() const { return draw_; }

 private:
  void maybe_draw();
  void draw_locked(bool finished);
  double elapsed_s() const;

  const ProgressOptions options_;
  std::FILE* const out_;
  const bool draw_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<std::uint64_t> done_{0};
  // Nanoseconds since start_ before which no redraw happens.
  std::atomic<std::int64_t> next_draw_ns_{0};
  std::mutex mutex_;  // guards drawing and finished_
  bool finished_ = false;
  bool drew_ = false;
};

}  // namespace enclave
