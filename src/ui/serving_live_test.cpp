#include "ui/serving_live.h"

#include <gtest/gtest.h>

#include "core/scratch_dir_testing.h"
#include "monitor/request_log.h"
#include "store/workspace.h"

namespace enclave::ui {
namespace {

class ServingLiveTest : public ::testing::Test {
 protected:
  void SetUp() override { store::init_workspace(root_.path()); }

  void log_request(double created_at) {
    monitor::RequestLog log(root_.path(), {});
    monitor::RequestRecord r;
    r.id = "chatcmpl-1";
    r.created_at = created_at;
    r.endpoint = "chat.completions";
    r.model = "assistant";
    r.model_version = "assistant@2";
    log.record(r);
    log.flush();
  }

  testing::ScratchDir root_{"ui-serving-live"};
};

TEST_F(ServingLiveTest, WithoutServerOrLogTheStateIsUnknown) {
  const nlohmann::json live = serving_live(root_.path(), nullptr, 1.0e9);
  EXPECT_EQ(live["state"], "unknown");
  EXPECT_EQ(live["source"], "request_log");
  EXPECT_TRUE(live["last_request"].is_null());
  EXPECT_TRUE(live["server"].is_null());
  EXPECT_EQ(live["refresh_s"], kServingRefreshSeconds);
}

TEST_F(ServingLiveTest, WithoutServerTheLastRequestDecidesUnknownOrStale) {
  log_request(1.0e9);
  nlohmann::json live = serving_live(root_.path(), nullptr, 1.0e9 + 60);
  EXPECT_EQ(live["state"], "unknown");
  EXPECT_EQ(live["last_request"]["model"], "assistant");
  EXPECT_EQ(live["last_request"]["model_version"], "assistant@2");
  EXPECT_DOUBLE_EQ(live["last_request"]["age_s"].get<double>(), 60.0);
  live = serving_live(root_.path(), nullptr, 1.0e9 + kServingStaleSeconds + 1);
  EXPECT_EQ(live["state"], "stale");
}

TEST_F(ServingLiveTest, TheServerItselfSaysUpWithItsLoadedVersions) {
  log_request(1.0e9);  // long ago: the server's own word counts, not the log's
  const serve::ServerStatus status{.models = {{"assistant", "assistant@3"}, {"fr", "fr@1"}},
                                   .started_at = 2.0e9,
                                   .generations = 7,
                                   .running = 1,
                                   .queued = 2};
  const nlohmann::json live = serving_live(root_.path(), &status, 2.0e9 + 30);
  EXPECT_EQ(live["state"], "up");
  EXPECT_EQ(live["source"], "server");
  ASSERT_EQ(live["server"]["models"].size(), 2u);
  EXPECT_EQ(live["server"]["models"][0]["id"], "assistant");
  EXPECT_EQ(live["server"]["models"][0]["version"], "assistant@3");
  EXPECT_DOUBLE_EQ(live["server"]["uptime_s"].get<double>(), 30.0);
  EXPECT_EQ(live["server"]["generations"], 7);
  EXPECT_EQ(live["server"]["queued"], 2);
  EXPECT_EQ(live["last_request"]["id"], "chatcmpl-1");
}

}  // namespace
}  // namespace enclave::ui
