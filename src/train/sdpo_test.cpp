#include "train/sdpo.h"

#include <gtest/gtest.h>

#include "core/error.h"

namespace enclave::train {
namespace {

// The records' values of "level", as read_field_values gives them.
std::vector<nlohmann::json> levels(const std::vector<nlohmann::json>& records) {
  std::vector<nlohmann::json> out;
  for (const auto& r : records) {
    auto it = r.find("level");
    out.push_back(it == r.end() ? nlohmann::json(nlohmann::json::value_t::discarded) : *it);
  }
  return out;
}

TEST(SdpoChunks, MarginSplitGoesEasyToHardInNearlyEqualParts) {
  TrainConfig c;
  c.sdpo_split = SdpoSplit::kMargin;
  c.sdpo_chunks = 3;
  // Largest reference margin (the easiest pair) first.
  const std::vector<double> margins = {0.1, 2.0, -1.0, 0.5, 3.0, -0.2, 1.0};
  auto chunks = sdpo_chunks(c, 7, {}, margins, {});
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], (std::vector<std::size_t>{4, 1}));
  EXPECT_EQ(chunks[1], (std::vector<std::size_t>{6, 3}));
  EXPECT_EQ(chunks[2], (std::vector<std::size_t>{0, 5, 2}));
  c.sdpo_chunks = 8;
  EXPECT_THROW(sdpo_chunks(c, 7, {}, margins, {}), Error);
}

TEST(SdpoChunks, FieldSplitOrdersValues) {
  TrainConfig c;
  c.sdpo_split = SdpoSplit::kField;
  c.sdpo_field = "level";
  auto chunks = sdpo_chunks(
      c, 4, levels({{{"level", 3}}, {{"level", 1}}, {{"level", 3}}, {{"level", 2}}}), {}, {});
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[0], (std::vector<std::size_t>{1}));
  EXPECT_EQ(chunks[1], (std::vector<std::size_t>{3}));
  EXPECT_EQ(chunks[2], (std::vector<std::size_t>{0, 2}));
  EXPECT_THROW(sdpo_chunks(c, 2, levels({{{"level", 1}}, {{"other", 1}}}), {}, {}), Error);
  EXPECT_THROW(sdpo_chunks(c, 2, levels({{{"level", 1}}, {{"level", "hard"}}}), {}, {}), Error);
  EXPECT_THROW(sdpo_chunks(c, 1, levels({{{"level", nlohmann::json::array()}}}), {}, {}), Error);
}

TEST(SdpoChunks, FileSplitKeepsTheGivenOrderAndRefusesAnEmptyFile) {
  TrainConfig c;
  c.sdpo_split = SdpoSplit::kFiles;
  c.sdpo_files = {"easy.jsonl", "hard.jsonl"};
  auto chunks = sdpo_chunks(c, 4, {}, {}, {1, 0, 1, 0});
  ASSERT_EQ(chunks.size(), 2u);
  EXPECT_EQ(chunks[0], (std::vector<std::size_t>{1, 3}));
  EXPECT_EQ(chunks[1], (std::vector<std::size_t>{0, 2}));
  try {
    sdpo_chunks(c, 4, {}, {}, {0, 0, 0, 0});
    FAIL() << "an empty chunk file was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("hard.jsonl"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace enclave::train
