#include "model/stop_strings.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace enclave {
namespace {

TEST(StopStringsTest, PassesTextThroughWithoutStops) {
  StopStringFilter f({});
  EXPECT_EQ(f.push("hello"), "hello");
  EXPECT_EQ(f.flush(), "");
  EXPECT_FALSE(f.stopped());
}

TEST(StopStringsTest, HoldsBackAPossibleStartThenReleasesIt) {
  StopStringFilter f({"</s>"});
  EXPECT_EQ(f.push("abc<"), "abc");
  EXPECT_EQ(f.push("/x"), "</x");
  EXPECT_FALSE(f.stopped());
  EXPECT_EQ(f.push("y</"), "y");
  EXPECT_EQ(f.flush(), "</");
}

TEST(StopStringsTest, StopSplitAcrossPiecesIsNotEmitted) {
  StopStringFilter f({"STOP"});
  std::string out;
  for (const char* piece : {"one S", "T", "OP two"}) out += f.push(piece);
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(out, "one ");
  EXPECT_EQ(f.push("more"), "");
  EXPECT_EQ(f.flush(), "");
}

TEST(StopStringsTest, EarliestOfSeveralStopsWins) {
  StopStringFilter f({"world", "lo"});
  EXPECT_EQ(f.push("hello world"), "hel");
  EXPECT_TRUE(f.stopped());
}

TEST(StopStringsTest, EmptyStopRejected) { EXPECT_THROW(StopStringFilter({"a", ""}), Error); }

}  // namespace
}  // namespace enclave
