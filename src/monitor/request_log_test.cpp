#include "monitor/request_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"
#include "monitor/feedback_export.h"
#include "store/clock.h"
#include "store/db.h"
#include "store/registry.h"
#include "store/run_query.h"
#include "store/workspace.h"

namespace enclave::monitor {
namespace {

class RequestLogTest : public ::testing::Test {
 protected:
  void SetUp() override { store::init_workspace(root_); }

  static RequestRecord record(const std::string& id, const std::string& prompt,
                              const std::string& completion, double age_days = 0) {
    RequestRecord r;
    r.id = id;
    r.created_at = store::now_unix() - age_days * 86400;
    r.key_id = "app";
    r.endpoint = "completions";
    r.model = "tiny";
    r.model_version = "tiny@1";
    r.prompt = prompt;
    r.completion = completion;
    r.prompt_tokens = 3;
    r.completion_tokens = 2;
    r.finish_reason = "stop";
    return r;
  }
  const testing::ScratchDir scratch_{"request-log"};
  const std::filesystem::path root_ = scratch_.path();
};

// Chat prompts are stored as JSON; values at line starts (after an escaped
// "\n") and inside strings are redacted, and the row stays valid JSON.
TEST_F(RequestLogTest, ChatPromptsAreRedactedBeforeTheyAreSerialised) {
  const std::string content =
      "kim@example.com\n4111 1111 1111 1111\n010-1234-5678\n900101-1234568\n"
      "220-81-62517\n192.168.0.1\n\"lee@example.org\"\n성명: 홍길동\npassword=hunter2024\n"
      "주소: 서울특별시 강남구 테헤란로 123";
  RequestRecord r = record("chatcmpl-1", "", "reply to\npark@example.com");
  r.endpoint = "chat.completions";
  r.prompt = nlohmann::json::array({{{"role", "user"}, {"content", content}}}).dump();
  {
    RequestLog log(root_, {.redactor = pii_redactor()});
    log.record(r);
    log.flush();
  }
  std::vector<RequestRecord> all = query_requests(root_, {});
  ASSERT_EQ(all.size(), 1u);
  const nlohmann::json stored = nlohmann::json::parse(all[0].prompt);  // throws if not JSON
  EXPECT_EQ(stored[0]["content"],
            "<EMAIL>\n<CARD>\n<PHONE>\n<RRN>\n<BRN>\n<IP>\n\"<EMAIL>\"\n성명: <PERSON_NAME>\n"
            "password=<SECRET>\n주소: <ADDRESS>");
  EXPECT_EQ(stored[0]["role"], "user");
  EXPECT_EQ(all[0].completion, "reply to\n<EMAIL>");
}

// A write that fails (here a trigger refusing inserts, as a full disk
// would) is retried: the log recovers and keeps the records meanwhile.
TEST_F(RequestLogTest, AFailedWriteRecovers) {
  RequestLog log(root_, {});
  log.record(record("cmpl-1", "a", "b"));
  log.flush();
  auto db = std::make_unique<store::Db>(RequestLog::db_path(root_), store::DbOptions{});
  db->exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON requests BEGIN SELECT RAISE(ABORT, 'disk full'); "
      "END;");
  log.record(record("cmpl-2", "a", "b"));
  EXPECT_THROW(log.flush(), Error);
  db->exec("DROP TRIGGER refuse");
  log.record(record("cmpl-3", "a", "b"));
  for (int i = 0; i < 50; ++i) {
    try {
      log.flush();
      break;
    } catch (const Error&) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  EXPECT_NO_THROW(log.flush());
  EXPECT_EQ(query_requests(root_, {}).size(), 3u);
}

TEST_F(RequestLogTest, StoresRedactedRecordsAndFiltersThem) {
  {
    RequestLog log(root_, {.redactor = pii_redactor()});
    log.record(record("cmpl-1", "mail kim@example.com please", "done"));
    RequestRecord other = record("cmpl-2", "hi", "there");
    other.key_id = "ops";
    other.status = 500;
    other.finish_reason = "error";
    log.record(other);
    log.flush();
  }
  std::vector<RequestRecord> all = query_requests(root_, {});
  ASSERT_EQ(all.size(), 2u);
  const RequestRecord& first = all[0].id == "cmpl-1" ? all[0] : all[1];
  EXPECT_EQ(first.prompt, "mail <EMAIL> please");
  EXPECT_EQ(first.model_version, "tiny@1");
  EXPECT_EQ(query_requests(root_, {.key_id = "ops"}).size(), 1u);
  EXPECT_EQ(query_requests(root_, {.status = 500}).size(), 1u);
  EXPECT_EQ(query_requests(root_, {.model = "tiny@1"}).size(), 2u);
  EXPECT_EQ(query_requests(root_, {.finish_reason = "length"}).size(), 0u);
  EXPECT_EQ(query_requests(root_, {.limit = 1}).size(), 1u);
  EXPECT_NE(format_requests(all).find("cmpl-2"), std::string::npos);
}

TEST_F(RequestLogTest, DropsRecordsPastTheRetentionPeriod) {
  RequestLog log(root_, {.retention_days = 30});
  log.record(record("old", "a", "b", /*age_days=*/40));
  log.record(record("new", "a", "b", /*age_days=*/1));
  log.flush();
  EXPECT_EQ(log.purge_expired(), 1);
  std::vector<RequestRecord> left = query_requests(root_, {});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].id, "new");
}

TEST_F(RequestLogTest, FeedbackWaitsForRequestsBeingLogged) {
  // The server logs requests from its writer while feedback arrives on
  // another connection: feedback must wait for the lock, never fail busy.
  RequestLog log(root_, {});
  log.record(record("cmpl-0", "p", "c"));
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    RequestLog other(root_, {});
    for (int i = 1; !stop; ++i) other.record(record("cmpl-w" + std::to_string(i), "p", "c"));
  });
  std::string failure;
  for (int i = 0; i < 40 && failure.empty(); ++i) {
    try {
      log.add_feedback({.request_id = "cmpl-0", .rating = 1.0});
    } catch (const Error& e) {
      failure = e.what();
    }
  }
  stop = true;
  writer.join();
  EXPECT_EQ(failure, "");
}

TEST_F(RequestLogTest, FeedbackNeedsAKnownRequestAndAValidRating) {
  RequestLog log(root_, {});
  log.record(record("cmpl-1", "p", "c"));
  try {
    log.add_feedback({.request_id = "cmpl-missing", .rating = 1.0});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  EXPECT_THROW(log.add_feedback({.request_id = "cmpl-1", .rating = 2.0}), Error);
  EXPECT_THROW(log.add_feedback({.request_id = "cmpl-1", .rating = std::nan("")}), Error);
  EXPECT_THROW(log.add_feedback({.request_id = "cmpl-1"}), Error);
  log.add_feedback({.request_id = "cmpl-1", .rating = -0.5});
  log.add_feedback({.request_id = "cmpl-1", .correction = "better"});
  auto rows = requests_with_feedback(root_);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].second.size(), 2u);
}

TEST_F(RequestLogTest, ExportTurnsFeedbackIntoADatasetVersionWithLineage) {
  {
    RequestLog log(root_, {});
    RequestRecord chat =
        record("chatcmpl-1", R"([{"role":"user","content":"capital of France?"}])", "Lyon");
    chat.endpoint = "chat.completions";
    log.record(chat);
    log.record(record("cmpl-a", "2+2=", "4"));
    log.record(record("cmpl-b", "2+2=", "5"));
    log.record(record("cmpl-c", "unrated", "x"));
    log.add_feedback({.request_id = "chatcmpl-1", .rating = -1.0, .correction = "Paris"});
    log.add_feedback({.request_id = "cmpl-a", .rating = 1.0});
    log.add_feedback({.request_id = "cmpl-b", .rating = -1.0});
  }
  FeedbackExportResult r =
      export_feedback(root_, {.name = "feedback", .command = {"enclave", "feedback"}});
  EXPECT_EQ(r.dataset_ref, "feedback@1");
  EXPECT_EQ(r.n_sft, 1);
  EXPECT_EQ(r.n_preference, 2);  // Paris over Lyon, "4" over "5"
  store::Workspace ws(root_);
  const std::filesystem::path dir =
      store::version_path(ws, store::RegistryKind::kDataset, "feedback@1");
  const std::string sft = read_file(dir / "sft.jsonl");
  EXPECT_NE(sft.find(R"({"content":"Paris","role":"assistant"})"), std::string::npos) << sft;
  const std::string pref = read_file(dir / "preference.jsonl");
  EXPECT_NE(pref.find(R"("chosen":"4","prompt":"2+2=","rejected":"5")"), std::string::npos) << pref;
  EXPECT_NE(pref.find(R"("chosen":[{"content":"Paris","role":"assistant"}])"), std::string::npos)
      << pref;
  EXPECT_THROW(export_feedback(root_, {.name = "../bad"}), Error);
}

// A request served through a registered adapter names the base version and
// the adapter version; the export's run links to both, so the lineage of a
// model trained on the feedback reaches the exact adapter that answered.
TEST_F(RequestLogTest, AdapterVersionsAreKeptAndLinkedByTheExport) {
  std::int64_t base_id = 0, adapter_id = 0;
  {
    store::Workspace ws(root_);
    std::filesystem::create_directories(root_ / "base");
    std::filesystem::create_directories(root_ / "chat");
    write_file_atomic(root_ / "base" / "config.json", "{}");
    write_file_atomic(root_ / "chat" / "adapter_config.json", "{}");
    base_id =
        store::register_version(
            ws, {.kind = store::RegistryKind::kModel, .name = "tiny", .source = root_ / "base"})
            .id;
    adapter_id =
        store::register_version(
            ws, {.kind = store::RegistryKind::kModel, .name = "chat", .source = root_ / "chat"})
            .id;
  }
  {
    RequestLog log(root_, {});
    RequestRecord r = record("cmpl-1", "2+2=", "5");
    r.model = "chat";
    r.model_version = "tiny@1+chat@1";
    r.model_version_id = base_id;
    r.adapter_version_id = adapter_id;
    log.record(r);
    log.add_feedback({.request_id = "cmpl-1", .rating = -1.0, .correction = "4"});
  }
  const std::vector<RequestRecord> all = query_requests(root_, {});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].adapter_version_id, adapter_id);
  EXPECT_EQ(requests_with_feedback(root_).at(0).first.adapter_version_id, adapter_id);
  const FeedbackExportResult e = export_feedback(root_, {.name = "feedback"});
  store::Workspace ws(root_);
  const nlohmann::json run = store::show_run(ws.db(), e.run_id);
  std::map<std::string, std::int64_t> inputs;  // role -> version id
  for (const nlohmann::json& i : run["inputs"])
    inputs[i["role"].get<std::string>()] = i["version"]["id"].get<std::int64_t>();
  EXPECT_EQ(inputs, (std::map<std::string, std::int64_t>{{"served_model", base_id},
                                                         {"served_adapter", adapter_id}}))
      << run["inputs"].dump();
}

// A log written before adapters were linked gains the column when opened.
TEST_F(RequestLogTest, OlderLogsGainTheAdapterColumn) {
  std::filesystem::create_directories(RequestLog::db_path(root_).parent_path());
  {
    store::Db db(RequestLog::db_path(root_), store::DbOptions{.create = true});
    db.exec(
        "CREATE TABLE requests (id TEXT PRIMARY KEY, created_at REAL NOT NULL, key_id TEXT NOT "
        "NULL, endpoint TEXT NOT NULL, model TEXT NOT NULL, model_version TEXT NOT NULL, "
        "model_version_id INTEGER, prompt TEXT NOT NULL, completion TEXT NOT NULL, prompt_tokens "
        "INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, ttft REAL NOT NULL, latency REAL "
        "NOT "
        "NULL, finish_reason TEXT NOT NULL, status INTEGER NOT NULL);"
        "INSERT INTO requests VALUES ('old', 1e9, '', 'completions', 'm', 'm@1', NULL, 'p', 'c', "
        "1, 1, 0, 0, 'stop', 200);");
  }
  const std::vector<RequestRecord> all = query_requests(root_, {});
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].id, "old");
  EXPECT_FALSE(all[0].adapter_version_id);
}

TEST_F(RequestLogTest, ExportWithoutUsableFeedbackFails) {
  {
    RequestLog log(root_, {});
    log.record(record("cmpl-1", "p", "c"));
  }
  EXPECT_THROW(export_feedback(root_, {.name = "feedback"}), Error);
  std::filesystem::remove_all(root_ / ".enclave" / "serve");
  try {
    query_requests(root_, {});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

}  // namespace
}  // namespace enclave::monitor
