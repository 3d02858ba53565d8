#include "train/sdpo.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace enclave::train {
namespace {

std::vector<PreferenceExample> examples_with(const std::vector<nlohmann::json>& records) {
  std::vector<PreferenceExample> out;
  for (const auto& r : records)
    out.push_back({.prompt = {1}, .chosen = {2}, .rejected = {3}, .record = r});
  return out;
}

TEST(SdpoChunks, MarginSplitGoesEasyToHardInNearlyEqualParts) {
  TrainConfig c;
  c.sdpo_split = SdpoSplit::kMargin;
  c.sdpo_chunks = 3;
  const auto ex = examples_with(std::vector<nlohmann::json>(7, nlohmann::json::object()));
  // Largest reference margin (the easiest pair) first.
  const std::vector<double> margins = {0.1, 2.0, -1.0, 0.5, 3.0, -0.2, 1.0};
  auto chunks = sdpo_chunks(c, ex, margins, {});
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], (std::vector<std::size_t>{4, 1}));
  EXPECT_EQ(chunks[1], (std::vector<std::size_t>{6, 3}));
  EXPECT_EQ(chunks[2], (std::vector<std::size_t>{0, 5, 2}));
  c.sdpo_chunks = 8;
  EXPECT_THROW(sdpo_chunks(c, ex, margins, {}), Error);
}

TEST(SdpoChunks, FieldSplitOrdersValues) {
  TrainConfig c;
  c.sdpo_split = SdpoSplit::kField;
  c.sdpo_field = "level";
  auto chunks = sdpo_chunks(
      c, examples_with({{{"level", 3}}, {{"level", 1}}, {{"level", 3}}, {{"level", 2}}}), {}, {});
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], (std::vector<std::size_t>{1}));
  EXPECT_EQ(chunks[1], (std::vector<std::size_t>{3}));
  EXPECT_EQ(chunks[2], (std::vector<std::size_t>{0, 2}));
  EXPECT_THROW(sdpo_chunks(c, examples_with({{{"level", 1}}, {{"other", 1}}}), {}, {}), Error);
  EXPECT_THROW(sdpo_chunks(c, examples_with({{{"level", 1}}, {{"level", "hard"}}}), {}, {}), Error);
  EXPECT_THROW(sdpo_chunks(c, examples_with({{{"level", nlohmann::json::array()}}}), {}, {}),
               Error);
}

TEST(SdpoChunks, FileSplitKeepsTheGivenOrderAndRefusesAnEmptyFile) {
  TrainConfig c;
  c.sdpo_split = SdpoSplit::kFiles;
  c.sdpo_files = {"easy.jsonl", "hard.jsonl"};
  const auto ex = examples_with(std::vector<nlohmann::json>(4, nlohmann::json::object()));
  auto chunks = sdpo_chunks(c, ex, {}, {1, 0, 1, 0});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(chunks[1], (std::vector<std::size_t>{0, 2}));
  try {
    sdpo_chunks(c, ex, {}, {0, 0, 0, 0});
    FAIL() << "an empty chunk file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hard.jsonl"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace enclave::train
