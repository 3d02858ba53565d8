#include "core/progress.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace enclave {
namespace {

TEST(ProgressFormatTest, Durations) {
  EXPECT_EQ(format_duration(0), "0s");
  EXPECT_EQ(format_duration(59.4), "59s");
  EXPECT_EQ(format_duration(65), "1m05s");
  EXPECT_EQ(format_duration(3599), "59m59s");
  EXPECT_EQ(format_duration(3720), "1h02m");
  EXPECT_EQ(format_duration(-1), "?");
  EXPECT_EQ(format_duration(std::nan("")), "?");
}

TEST(ProgressFormatTest, LineWithTotalShowsPercentRateAndEta) {
  EXPECT_EQ(format_progress({"tokenizing", 50, 100, "items", 2.0, false}),
            "tokenizing 50/100 items (50%) 25.0 items/s ETA 2s");
  EXPECT_EQ(format_progress({"tokenizing", 100, 100, "items", 4.0, true}),
            "tokenizing 100/100 items (100%) 25.0 items/s in 4s");
  // Floored: 999 of 1000 is not yet 100%.
  EXPECT_EQ(format_progress({"h", 999, 1000, "MiB", 1.0, false}),
            "h 999/1000 MiB (99%) 999.0 MiB/s ETA 0s");
  EXPECT_EQ(format_progress({"h", 5000, 10000, "MiB", 2.0, false}),
            "h 5000/10000 MiB (50%) 2500 MiB/s ETA 2s");
}

TEST(ProgressFormatTest, UnknownTotalAndNoTimeYet) {
  EXPECT_EQ(format_progress({"reading", 7, 0, "files", 0.0, false}), "reading 7 files");
  EXPECT_EQ(format_progress({"reading", 7, 0, "files", 2.0, false}), "reading 7 files 3.5 files/s");
  // Nothing done yet: no rate to extrapolate, so no ETA.
  EXPECT_EQ(format_progress({"x", 0, 10, "items", 1.0, false}), "x 0/10 items (0%) 0.0 items/s");
}

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  char buf[4096];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  return out;
}

TEST(ProgressTest, DrawsInPlaceAndFinishesWithANewline) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p({"hashing", 3, "files", std::chrono::milliseconds(0)}, f, /*draw=*/true);
    p.advance();
    p.advance(2);
    p.finish();
    p.finish();   // idempotent
    p.advance();  // after finish: counted, not drawn
    EXPECT_EQ(p.done(), 4u);
  }
  std::string out = contents(f);
  std::fclose(f);
  EXPECT_EQ(out.rfind("\rhashing 1/3 files (33%)", 0), 0u) << out;
  EXPECT_NE(out.find("\rhashing 3/3 files (100%)"), std::string::npos) << out;
  std::regex final_line(R"(\rhashing 3/3 files \(100%\) [0-9.]+ files/s in 0s\x1b\[K\n$)");
  EXPECT_TRUE(std::regex_search(out, final_line)) << out;
  EXPECT_EQ(std::count(out.begin(), out.end(), '\n'), 1);
}

TEST(ProgressTest, SilentWhenNotDrawing) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p({"hashing", 3, "files", std::chrono::milliseconds(0)}, f, /*draw=*/false);
    p.advance(3);
    p.finish();
    EXPECT_FALSE(p.drawing());
  }
  EXPECT_EQ(contents(f), "");
  std::fclose(f);
  // The default sink draws exactly when stderr is a terminal.
  Progress on_stderr({"x"});
  EXPECT_EQ(on_stderr.drawing(), ::isatty(STDERR_FILENO) == 1);
}

TEST(ProgressTest, ThrottlesRedraws) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  {
    Progress p({"steps", 1000, "steps", std::chrono::hours(1)}, f, /*draw=*/true);
    for (int i = 0; i < 1000; ++i) p.advance();
  }
  std::string out = contents(f);
  std::fclose(f);
  // The first update draws; the rest fall inside the redraw interval. The
  // destructor redraws once and ends the line.
  EXPECT_EQ(std::count(out.begin(), out.end(), '\r'), 2) << out;
  EXPECT_NE(out.find("\rsteps 1000/1000 steps"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
}

TEST(ProgressTest, ConcurrentUpdatesCountExactlyAndNeverInterleave) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  constexpr int kThreads = 8, kEach = 20000;
  Progress p({"work", kThreads * kEach, "items", std::chrono::milliseconds(0)}, f, true);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) p.advance();
    });
  }
  for (auto& t : threads) t.join();
  p.finish();
  EXPECT_EQ(p.done(), static_cast<std::uint64_t>(kThreads * kEach));
  std::string out = contents(f);
  std::fclose(f);
  // Every drawn segment is one whole line.
  std::regex segment(
      R"(work [0-9]+/160000 items \([0-9]+%\)( [0-9.]+ items/s)?( ETA \S+| in \S+)?\x1b\[K\n?)");
  std::size_t pos = 0, n_segments = 0;
  while (pos < out.size()) {
    ASSERT_EQ(out[pos], '\r') << out.substr(pos, 80);
    std::size_t next = out.find('\r', pos + 1);
    std::string seg =
        out.substr(pos + 1, next == std::string::npos ? std::string::npos : next - pos - 1);
    EXPECT_TRUE(std::regex_match(seg, segment)) << seg;
    ++n_segments;
    pos = next == std::string::npos ? out.size() : next;
  }
  EXPECT_GE(n_segments, 2u);
  EXPECT_NE(out.find("work 160000/160000 items (100%)"), std::string::npos);
}

}  // namespace
}  // namespace enclave
