#include "store/lineage.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "store/registry.h"
#include "store/runs.h"
#include "store/store_testing.h"

namespace enclave::store {
namespace {

using testing::ScratchDir;

// raw.jsonl -> run 1 (data) -> dataset docs@1
// docs@1 + model base@1 -> run 2 (train) -> model tuned@1 -> run 3 (eval)
class LineageTest : public ::testing::Test {
 protected:
  LineageTest() {
    init_workspace(dir_ / "ws");
    ws_ = std::make_unique<Workspace>(dir_ / "ws");
    testing::write_text(dir_ / "raw.jsonl", "{\"text\": \"raw\"}\n");
    testing::write_text(dir_ / "clean.jsonl", "{\"text\": \"clean\"}\n");
    testing::write_model_dir(dir_ / "base", "base");
    testing::write_model_dir(dir_ / "tuned", "tuned");
    base_ = register_version(*ws_, {.name = "base", .source = dir_ / "base"});
    {
      store::Run data(ws_->root(), {.kind = "data", .name = "clean"});
      data.log_input(dir_ / "raw.jsonl", "raw");
      data.finish();
      data_run_ = data.id();
    }
    docs_ = register_version(*ws_, {.kind = RegistryKind::kDataset,
                                    .name = "docs",
                                    .source = dir_ / "clean.jsonl",
                                    .from_run = data_run_});
    {
      store::Run train(ws_->root(), {.kind = "train", .name = "sft", .params = {{"lr", 0.001}}});
      train.log_input_version(docs_.id, "train_data");
      train.log_input_version(base_.id, "base_model");
      train.finish();
      train_run_ = train.id();
    }
    tuned_ =
        register_version(*ws_, {.name = "tuned", .source = dir_ / "tuned", .from_run = train_run_});
    {
      store::Run eval(ws_->root(), {.kind = "eval"});
      eval.log_input_version(tuned_.id, "model");
      eval.finish();
      eval_run_ = eval.id();
    }
  }
  ScratchDir dir_;
  std::unique_ptr<Workspace> ws_;
  VersionInfo base_, docs_, tuned_;
  std::int64_t data_run_ = 0, train_run_ = 0, eval_run_ = 0;
};

TEST_F(LineageTest, UpstreamReachesDataRunsAndBaseModel) {
  nlohmann::json g = lineage(ws_->db(), "tuned", {.direction = LineageDirection::kUp});
  EXPECT_FALSE(g.contains("downstream"));
  ASSERT_EQ(g["upstream"].size(), 1u);
  const auto& train = g["upstream"][0];
  EXPECT_EQ(train["type"], "run");
  EXPECT_EQ(train["id"], train_run_);
  EXPECT_EQ(train["params"]["lr"], 0.001);
  ASSERT_EQ(train["children"].size(), 2u);
  EXPECT_EQ(train["children"][0]["ref"], "docs@1");
  EXPECT_EQ(train["children"][0]["role"], "train_data");
  EXPECT_EQ(train["children"][1]["ref"], "base@1");
  const auto& data_run = train["children"][0]["children"][0];
  EXPECT_EQ(data_run["id"], data_run_);
  EXPECT_EQ(data_run["children"][0]["type"], "artifact");
  std::string text = format_lineage(g);
  EXPECT_NE(text.find("dataset docs@1"), std::string::npos) << text;
  EXPECT_NE(text.find("└── "), std::string::npos) << text;
}

TEST_F(LineageTest, DownstreamReachesEverythingDerived) {
  nlohmann::json g = lineage(ws_->db(), "docs@1", {.direction = LineageDirection::kDown});
  ASSERT_EQ(g["downstream"].size(), 1u);
  EXPECT_EQ(g["downstream"][0]["id"], train_run_);
  const auto& tuned = g["downstream"][0]["children"][0];
  EXPECT_EQ(tuned["ref"], "tuned@1");
  EXPECT_EQ(tuned["children"][0]["id"], eval_run_);
  // From the raw file's artifact all the way down.
  nlohmann::json raw = lineage(ws_->db(), "run:" + std::to_string(data_run_),
                               {.direction = LineageDirection::kDown});
  EXPECT_EQ(raw["downstream"][0]["ref"], "docs@1");
}

TEST_F(LineageTest, BothDirectionsAndBadReferences) {
  nlohmann::json g = lineage(ws_->db(), "tuned@1");
  EXPECT_EQ(g["upstream"].size(), 1u);
  EXPECT_EQ(g["downstream"].size(), 1u);
  EXPECT_THROW(lineage(ws_->db(), "nope"), Error);
  EXPECT_THROW(lineage(ws_->db(), "run:999"), Error);
  EXPECT_THROW(lineage(ws_->db(), "sha256:" + std::string(64, 'a')), Error);
  EXPECT_THROW(lineage(ws_->db(), "a/b"), Error);
  EXPECT_THROW(lineage(ws_->db(), "docs", {.kind = "weights"}), Error);
  // A name that is both a model and a dataset needs --kind.
  register_version(*ws_,
                   {.kind = RegistryKind::kDataset, .name = "tuned", .source = dir_ / "raw.jsonl"});
  EXPECT_THROW(lineage(ws_->db(), "tuned"), Error);
  EXPECT_EQ(lineage(ws_->db(), "tuned", {.kind = "model"})["root"]["type"], "model");
}

TEST_F(LineageTest, DepthIsBounded) {
  nlohmann::json g =
      lineage(ws_->db(), "tuned", {.direction = LineageDirection::kUp, .max_depth = 1});
  EXPECT_TRUE(g["upstream"][0].value("truncated", false));
  EXPECT_TRUE(g["upstream"][0]["children"].empty());
}

TEST_F(LineageTest, DeletedVersionStaysInLineageMarkedDeleted) {
  delete_version(*ws_, RegistryKind::kDataset, "docs@1");
  nlohmann::json g = lineage(ws_->db(), "tuned", {.direction = LineageDirection::kUp});
  const auto& docs = g["upstream"][0]["children"][0];
  EXPECT_EQ(docs["ref"], "docs@1");
  EXPECT_TRUE(docs.value("deleted", false));
  EXPECT_TRUE(docs.contains("deleted_at"));
  EXPECT_EQ(docs["children"][0]["id"], data_run_);  // and what made it
  EXPECT_NE(format_lineage(g).find("docs@1"), std::string::npos);
  EXPECT_NE(format_lineage(g).find("(deleted "), std::string::npos) << format_lineage(g);
  // By its explicit name@N it is still a root; "docs" (latest) is gone.
  nlohmann::json down = lineage(ws_->db(), "docs@1", {.direction = LineageDirection::kDown});
  EXPECT_TRUE(down["root"].value("deleted", false));
  EXPECT_EQ(down["downstream"][0]["id"], train_run_);
  EXPECT_THROW(lineage(ws_->db(), "docs"), Error);
  EXPECT_FALSE(g["upstream"][0]["children"][1].contains("deleted"));  // base@1 is untouched
}

}  // namespace
}  // namespace enclave::store
