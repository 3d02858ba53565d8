// The data steps end to end on a scratch workspace: every step writes a new
// dataset version with its parent, params and report.
#include "data/steps.h"

#include <gtest/gtest.h>

#include <fstream>
#include <memory>

#include "core/error.h"
#include "core/json.h"
#include "data/dataset_store.h"
#include "data/test_documents.h"
#include "data/training_format.h"
#include "store/registry.h"
#include "store/workspace.h"
#include "text/bpe_trainer.h"

namespace enclave::data {
namespace {

std::vector<std::string> read_lines(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class StepsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scratch_ = std::make_unique<testing::ScratchDir>("steps");
    root_ = scratch_->path();
    store::init_workspace(root_);
  }
  void TearDown() override { scratch_.reset(); }

  StepResult run(const std::string& step, const std::string& in, nlohmann::json params) {
    return run_step({.step = step,
                     .params = std::move(params),
                     .input = in,
                     .output = "corpus",
                     .workspace = root_.string(),
                     .threads = 2});
  }
  std::filesystem::path version_dir(const std::string& ref) {
    store::Workspace ws(root_);
    return store::version_path(ws, store::RegistryKind::kDataset, ref);
  }

  std::unique_ptr<testing::ScratchDir> scratch_;
  std::filesystem::path root_;
};

const std::string kGood =
    "The committee reviewed the quarterly budget and approved funding for three new projects this "
    "year.";

TEST_F(StepsTest, ChainWritesVersionsWithParentsAndReports) {
  const auto docs = root_ / "docs";
  testing::write_bytes(docs / "a.txt",
                       "ＦＵＬＬ width  text about the annual hiring plan and new office space.");
  testing::write_bytes(docs / "b.txt", kGood);
  testing::write_bytes(docs / "e.txt",
                       "The committee reviewed the quarterly budget and approved funding for "
                       "three new projects this spring.");  // near duplicate of b.txt
  testing::write_bytes(docs / "c.txt", "buy now buy now buy now buy now buy now buy now");
  testing::write_bytes(docs / "d.jsonl", "{\"text\":\"" + kGood +
                                             "\"}\n"
                                             "{\"text\":\"Contact kim@example.com or 010-1234-5678 "
                                             "about the quarterly budget review.\"}\n"
                                             "{\"text\":\"What is the capital of France? The "
                                             "answer everyone knows is Paris of course.\"}\n");
  testing::write_bytes(docs / "bad.docx", "not a zip");

  StepResult ingest = run("ingest", "", {{"paths", {docs.string()}}});
  EXPECT_EQ(ingest.version.ref(), "corpus@1");
  EXPECT_EQ(ingest.report["documents_out"], 7);
  EXPECT_EQ(ingest.report["skipped_files"].size(), 1u);
  EXPECT_TRUE(ingest.report["parent"].is_null());

  StepResult norm = run("normalize", "corpus@1", nlohmann::json::object());
  EXPECT_EQ(norm.report["parent"], "corpus@1");
  EXPECT_EQ(norm.report["documents_changed"], 1);
  EXPECT_EQ(norm.report["params"]["form"], "safe");
  auto lines = read_lines(version_dir("corpus@2") / "data.jsonl");
  ASSERT_EQ(lines.size(), 7u);
  EXPECT_NE(lines[0].find("FULL width text about"), std::string::npos);

  StepResult filtered = run("filter", "corpus@2", {{"keep_rejected", true}});
  EXPECT_EQ(filtered.report["removed"]["top_ngram:2"], 1);
  EXPECT_EQ(filtered.report["documents_out"], 6);
  auto rejected = read_lines(version_dir("corpus@3") / "rejected.jsonl");
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_NE(rejected[0].find("\"rejected_by\":\"top_ngram:2\""), std::string::npos);

  StepResult dedup = run("dedup", "corpus@3", {{"threshold", 0.7}});
  EXPECT_EQ(dedup.report["duplicates"]["exact"], 1);  // the first JSONL record repeats b.txt
  EXPECT_EQ(dedup.report["duplicates"]["near"], 1);   // e.txt
  EXPECT_EQ(dedup.report["duplicates"]["clusters"], 1);
  EXPECT_EQ(dedup.report["duplicates"]["largest_cluster"], 3);
  EXPECT_EQ(dedup.report["documents_out"], 4);
  auto dups = read_lines(version_dir("corpus@4") / "duplicates.jsonl");
  ASSERT_EQ(dups.size(), 2u);
  EXPECT_NE(dups[0].find("\"kind\":\"exact\""), std::string::npos);
  EXPECT_NE(dups[1].find("\"kind\":\"near\""), std::string::npos);

  StepResult pii = run("pii", "corpus@4", {{"mode", "redact"}});
  EXPECT_EQ(pii.report["pii"]["EMAIL"], 1);
  EXPECT_EQ(pii.report["pii"]["PHONE"], 1);
  lines = read_lines(version_dir("corpus@5") / "data.jsonl");
  const std::string all = [&] {
    std::string s;
    for (const auto& l : lines) s += l;
    return s;
  }();
  EXPECT_NE(all.find("<EMAIL> or <PHONE>"), std::string::npos);
  EXPECT_EQ(all.find("kim@example.com"), std::string::npos);

  testing::write_bytes(root_ / "eval.jsonl",
                       "{\"question\":\"What is the capital of France?\",\"answer\":\"Paris\"}\n");
  StepResult decon =
      run("decontaminate", "corpus@5", {{"eval", {(root_ / "eval.jsonl").string()}}, {"ngram", 5}});
  EXPECT_EQ(decon.report["removed"]["contaminated"], 1);

  StepResult split = run("split", "corpus@6", {{"train", 0.5}, {"validation", 0.5}, {"test", 0}});
  EXPECT_EQ(
      split.report["splits"]["train"].get<int>() + split.report["splits"]["validation"].get<int>(),
      3);
  EXPECT_FALSE(std::filesystem::exists(version_dir("corpus@7") / "test.jsonl"));
  // Deterministic: the same split again puts every record in the same place.
  StepResult again = run("split", "corpus@6", {{"train", 0.5}, {"validation", 0.5}, {"test", 0}});
  EXPECT_EQ(read_lines(version_dir("corpus@7") / "train.jsonl"),
            read_lines(version_dir("corpus@8") / "train.jsonl"));

  StepResult formatted = run("format", "corpus@7", {{"to", "text"}});
  EXPECT_EQ(formatted.report["documents_out"], 3);
  for (const auto& l : read_lines(version_dir("corpus@9") / "train.jsonl")) {
    EXPECT_EQ(parse_json(l, "train.jsonl").size(), 1u) << l;
  }

  // The report travels in the version and the lineage in the run.
  store::Workspace ws(root_);
  auto report = read_dataset_report(ws, "corpus@3");
  ASSERT_TRUE(report);
  EXPECT_EQ((*report)["step"], "filter");
  EXPECT_EQ((*report)["parent"], "corpus@2");
  EXPECT_EQ((*report)["params"]["keep_rejected"], true);
  auto v3 = store::resolve_version(ws.db(), store::RegistryKind::kDataset, "corpus@3");
  EXPECT_EQ(v3.run_id, filtered.run_id);
  const std::string shown = format_dataset_report(*report);
  EXPECT_NE(shown.find("removed     top_ngram:2=1"), std::string::npos) << shown;
}

TEST_F(StepsTest, FormatValidatesRecordsAndTokenLengths) {
  std::filesystem::create_directories(root_ / "tok");
  write_default_tokenizer(root_ / "tok", 300);
  testing::write_bytes(
      root_ / "chat.jsonl",
      R"({"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello there"}]})"
      "\n"
      R"({"messages":[{"role":"user","content":"hi"},{"role":"user","content":"again"}]})"
      "\n"
      R"({"messages":[{"role":"user","content":"  "},{"role":"assistant","content":"x"}]})"
      "\n"
      R"({"messages":[{"role":"robot","content":"beep"},{"role":"assistant","content":"x"}]})"
      "\n"
      R"({"prompt":"Translate: cat","completion":"고양이"})"
      "\n"
      R"({"messages":[{"role":"user","content":"long"},{"role":"assistant","content":")" +
          std::string(400, 'z') +
          R"("}]})"
          "\n");
  run("ingest", "", {{"paths", {(root_ / "chat.jsonl").string()}}});
  StepResult r =
      run("format", "corpus@1",
          {{"to", "messages"}, {"tokenizer", (root_ / "tok").string()}, {"max_tokens", 100}});
  EXPECT_EQ(r.report["documents_out"], 2);
  EXPECT_EQ(r.report["removed"]["invalid"], 4);
  auto invalid = read_lines(version_dir("corpus@2") / "invalid.jsonl");
  ASSERT_EQ(invalid.size(), 4u);
  EXPECT_NE(invalid[0].find("two 'user' turns in a row"), std::string::npos);
  EXPECT_NE(invalid[1].find("empty turn"), std::string::npos);
  EXPECT_NE(invalid[2].find("unknown role 'robot'"), std::string::npos);
  EXPECT_NE(invalid[3].find("over the limit of 100"), std::string::npos);
  auto out = read_lines(version_dir("corpus@2") / "data.jsonl");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(
      out[1],
      R"({"messages":[{"content":"Translate: cat","role":"user"},{"content":"고양이","role":"assistant"}]})");

  // Keeping nothing fails with the reasons, and records no version.
  try {
    run("format", "corpus@1", {{"to", "prompt/chosen/rejected"}});
    FAIL() << "a format that kept nothing succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("kept 0 of"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("missing 'prompt'"), std::string::npos) << e.what();
  }
  store::Workspace ws(root_);
  EXPECT_THROW(store::resolve_version(ws.db(), store::RegistryKind::kDataset, "corpus@3"), Error);
}

// prompt/completion and prompt/chosen/rejected records, as strings and as
// conversations (TRL's conversational form: the completion, chosen and
// rejected turns are the assistant's), come out as rows of their format.
TEST_F(StepsTest, FormatWritesPromptCompletionAndPreferenceRows) {
  testing::write_bytes(
      root_ / "pairs.jsonl",
      R"({"prompt":"Translate to Korean: cat","completion":"고양이"})"
      "\n"
      R"({"prompt":"Capital of France?","chosen":"Paris.","rejected":"London."})"
      "\n"
      R"({"prompt":[{"role":"user","content":"Say hi"}],"completion":[{"role":"assistant","content":"Hi!"}]})"
      "\n"
      R"({"prompt":[{"role":"user","content":"2+2?"}],"chosen":[{"role":"assistant","content":"4"}],)"
      R"("rejected":[{"role":"assistant","content":"5"}]})"
      "\n"
      R"({"prompt":"Same?","chosen":"yes","rejected":"yes"})"
      "\n"
      R"({"prompt":"Answer me","completion":"   "})"
      "\n"
      R"({"prompt":[{"role":"user","content":"Hi"}],"completion":[{"role":"user","content":"Hi again"}]})"
      "\n");
  run("ingest", "", {{"paths", {(root_ / "pairs.jsonl").string()}}});

  StepResult pc = run("format", "corpus@1", {{"to", "prompt/completion"}});
  EXPECT_EQ(pc.report["documents_out"], 2);
  EXPECT_EQ(pc.report["removed"]["invalid"], 5);
  auto rows = read_lines(version_dir("corpus@2") / "data.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], R"({"completion":"고양이","prompt":"Translate to Korean: cat"})");
  EXPECT_EQ(rows[1], R"({"completion":[{"content":"Hi!","role":"assistant"}],)"
                     R"("prompt":[{"content":"Say hi","role":"user"}]})");
  auto invalid = read_lines(version_dir("corpus@2") / "invalid.jsonl");
  ASSERT_EQ(invalid.size(), 5u);
  EXPECT_NE(invalid[0].find("missing 'completion'"), std::string::npos) << invalid[0];
  EXPECT_NE(invalid[3].find("empty 'completion'"), std::string::npos) << invalid[3];
  EXPECT_NE(invalid[4].find("completion[0]"), std::string::npos) << invalid[4];

  StepResult pref = run("format", "corpus@1", {{"to", "prompt/chosen/rejected"}});
  EXPECT_EQ(pref.report["documents_out"], 2);
  rows = read_lines(version_dir("corpus@3") / "data.jsonl");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0], R"({"chosen":"Paris.","prompt":"Capital of France?","rejected":"London."})");
  EXPECT_EQ(
      rows[1],
      R"({"chosen":[{"content":"4","role":"assistant"}],"prompt":[{"content":"2+2?","role":"user"}],)"
      R"("rejected":[{"content":"5","role":"assistant"}]})");
  invalid = read_lines(version_dir("corpus@3") / "invalid.jsonl");
  ASSERT_EQ(invalid.size(), 5u);
  EXPECT_NE(invalid[1].find("missing 'chosen'"), std::string::npos) << invalid[1];
  EXPECT_NE(invalid[2].find("'chosen' and 'rejected' are the same"), std::string::npos)
      << invalid[2];
}

// Bug: answers given as lists of turns were checked like whole
// conversations, so a completion opening with the assistant was rejected
// ("must start with the user") and one opening with the user accepted.
TEST(TrainingFormat, ConversationalAnswersStartWithTheAssistant) {
  auto format = [](TrainingFormat to, std::string extra) {
    Document doc;
    doc.text = "unused";
    doc.extra = std::move(extra);
    return format_record(doc, {.to = to});
  };
  const std::string prompt =
      R"("prompt":[{"role":"system","content":"Be brief"},{"role":"user","content":"Hi"}])";
  auto ok = format(TrainingFormat::kPromptCompletion,
                   prompt + R"(,"completion":[{"role":"assistant","content":"Hello"}])");
  EXPECT_EQ(ok.error, "");
  EXPECT_FALSE(ok.line.empty());
  auto user_answer = format(TrainingFormat::kPromptCompletion,
                            prompt + R"(,"completion":[{"role":"user","content":"Hello"}])");
  EXPECT_EQ(user_answer.error, "completion[0]: an answer must start with the assistant");
  auto system_answer = format(TrainingFormat::kPromptCompletion,
                              prompt + R"(,"completion":[{"role":"system","content":"x"}])");
  EXPECT_EQ(system_answer.error, "completion[0]: system turn in an answer");
  auto assistant_prompt =
      format(TrainingFormat::kPromptCompletion,
             R"("prompt":[{"role":"assistant","content":"Hi"}],"completion":"Hello")");
  EXPECT_EQ(assistant_prompt.error, "prompt[0]: the conversation must start with the user");
  auto pref = format(TrainingFormat::kPreference,
                     prompt + R"(,"chosen":[{"role":"assistant","content":"Hello"}],)"
                              R"("rejected":[{"role":"assistant","content":"Go away"}])");
  EXPECT_EQ(pref.error, "");
  auto pref_user = format(TrainingFormat::kPreference,
                          prompt + R"(,"chosen":[{"role":"assistant","content":"Hello"}],)"
                                   R"("rejected":[{"role":"user","content":"Go away"}])");
  EXPECT_EQ(pref_user.error, "rejected[0]: an answer must start with the assistant");
}

TEST_F(StepsTest, BadRequestsFailWithoutWritingAVersion) {
  testing::write_bytes(root_ / "a.txt", kGood);
  run("ingest", "", {{"paths", {(root_ / "a.txt").string()}}});
  EXPECT_THROW(run("filter", "corpus@1", {{"min_wordz", 3}}), Error);
  EXPECT_THROW(run("split", "corpus@1", {{"train", 0.9}, {"validation", 0.9}}), Error);
  EXPECT_THROW(run("pii", "corpus@1", {{"mode", "shred"}}), Error);
  EXPECT_THROW(run("pii", "corpus@1", {{"types", {"email", "ssn"}}}), Error);
  EXPECT_THROW(run("normalize", "corpus@1", {{"form", "nfkd"}}), Error);
  EXPECT_THROW(run("normalize", "corpus@1", {{"form", "nfc"}, {"nfkc", false}}), Error);
  EXPECT_THROW(run("frobnicate", "corpus@1", {}), Error);
  EXPECT_THROW(run("dedup", "missing@1", {}), Error);
  EXPECT_THROW(run("ingest", "", {{"paths", {(root_ / "nope").string()}}}), Error);
  store::Workspace ws(root_);
  EXPECT_THROW(store::resolve_version(ws.db(), store::RegistryKind::kDataset, "corpus@2"), Error);
}

}  // namespace
}  // namespace enclave::data
