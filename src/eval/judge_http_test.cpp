// The OpenAI-compatible judge against a local HTTP server on 127.0.0.1 that
// answers chat completions the way an OpenAI server does (the replies are
// fixed, so the outcome is known), and the local-model judge on the tiny model.
#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <cstdlib>
#include <thread>

#include "core/error.h"
#include "eval/eval_testing.h"
#include "eval/harness.h"
#include "eval/judge.h"

namespace enclave::eval {
namespace {

using store::testing::ScratchDir;

class FakeOpenAi {
 public:
  // reply(message) gives the assistant's content for a user message.
  explicit FakeOpenAi(std::function<std::string(const std::string&)> reply, int status = 200)
      : reply_(std::move(reply)), status_(status) {
    server_.Post(
        "/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
          ++requests_;
          last_auth_ = req.get_header_value("Authorization");
          nlohmann::json body = nlohmann::json::parse(req.body);
          last_body_ = body;
          if (status_ != 200) {
            res.status = status_;
            res.set_content(R"({"error": {"message": "overloaded"}})", "application/json");
            return;
          }
          const std::string content = reply_(body["messages"][0]["content"].get<std::string>());
          nlohmann::json out = {{"id", "chatcmpl-1"},
                                {"object", "chat.completion"},
                                {"choices",
                                 {{{"index", 0},
                                   {"message", {{"role", "assistant"}, {"content", content}}},
                                   {"finish_reason", "stop"}}}}};
          res.set_content(out.dump(), "application/json");
        });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeOpenAi() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int requests() const { return requests_; }
  std::string last_auth() const { return last_auth_; }
  nlohmann::json last_body() const { return last_body_; }

 private:
  httplib::Server server_;
  std::function<std::string(const std::string&)> reply_;
  int status_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::string last_auth_;
  nlohmann::json last_body_;
};

class JudgeHttpTest : public ::testing::Test {
 protected:
  TaskSpec judge_task(JudgeSpec judge) {
    testing::write_jsonl(dir_ / "q.jsonl", {{{"q", "What is 2+2?"}, {"ref", "4"}},
                                            {{"q", "Name a colour."}, {"ref", "Blue."}},
                                            {{"q", "Say hi."}, {"ref", "Hi!"}}});
    TaskSpec t;
    t.name = "judged";
    t.output_type = OutputType::kJudge;
    t.dataset.path = dir_ / "q.jsonl";
    t.doc_to_text = "{{q}}";
    t.generation.max_gen_toks = 6;
    t.judge = std::move(judge);
    return t;
  }
  ScratchDir dir_;
};

TEST_F(JudgeHttpTest, SingleScoresThroughTheServer) {
  FakeOpenAi server([](const std::string& msg) {
    // The rubric carries the question: grade the arithmetic one higher.
    return msg.find("2+2") != std::string::npos ? "Correct. Rating: [[9]]" : "Fine. Rating: [[5]]";
  });
  ::setenv("ENCLAVE_TEST_JUDGE_KEY", "sk-local-test", 1);
  TaskSpec t = judge_task(
      {.url = server.url(), .api_model = "judge-1", .api_key_env = "ENCLAVE_TEST_JUDGE_KEY"});
  TaskResult r = run_task(testing::tiny_engine(), t, {.keep_samples = true});
  EXPECT_EQ(server.requests(), 3);
  EXPECT_EQ(server.last_auth(), "Bearer sk-local-test");
  EXPECT_EQ(server.last_body()["model"], "judge-1");
  EXPECT_EQ(server.last_body()["temperature"], 0);
  EXPECT_DOUBLE_EQ(aggregate(*r.find("score")), (9.0 + 5 + 5) / 3);
  EXPECT_DOUBLE_EQ(aggregate(*r.find("score_norm")), ((8.0 + 4 + 4) / 9) / 3);
  EXPECT_DOUBLE_EQ(aggregate(*r.find("judge_invalid")), 0.0);
  EXPECT_EQ(r.find("score_norm"), &r.metrics[0]);  // the primary metric
}

TEST_F(JudgeHttpTest, PairwiseSwapsPositions) {
  // A judge that always prefers the first answer: every comparison
  // contradicts itself once swapped, so every outcome is a tie.
  FakeOpenAi biased([](const std::string&) { return "The first is better. [[A]]"; });
  TaskSpec t = judge_task({.url = biased.url(), .pairwise = true, .reference = "{{ref}}"});
  TaskResult r = run_task(testing::tiny_engine(), t, {.keep_samples = true});
  EXPECT_EQ(biased.requests(), 6);  // two orders per document
  EXPECT_DOUBLE_EQ(aggregate(*r.find("win_rate")), 0.5);
  // A judge that always prefers the reference text: the model loses every time.
  FakeOpenAi fair([](const std::string& msg) {
    const std::size_t a = msg.find("Assistant A's Answer]\n");
    const std::string first = msg.substr(a + 22, msg.find('\n', a + 22) - a - 22);
    const bool a_is_reference = first == "4" || first == "Blue." || first == "Hi!";
    return a_is_reference ? "[[A]]" : "[[B]]";
  });
  t.judge.url = fair.url();
  TaskResult lost = run_task(testing::tiny_engine(), t, {});
  EXPECT_DOUBLE_EQ(aggregate(*lost.find("win_rate")), 0.0);
  EXPECT_DOUBLE_EQ(aggregate(*lost.find("judge_invalid")), 0.0);
}

TEST_F(JudgeHttpTest, UnreadableRepliesAndServerErrors) {
  FakeOpenAi vague([](const std::string&) { return "It is quite good."; });
  TaskResult r = run_task(testing::tiny_engine(), judge_task({.url = vague.url()}), {});
  EXPECT_DOUBLE_EQ(aggregate(*r.find("judge_invalid")), 1.0);
  EXPECT_DOUBLE_EQ(aggregate(*r.find("score")), 1.0);  // counted as the lowest rating
  FakeOpenAi down([](const std::string&) { return ""; }, 503);
  try {
    run_task(testing::tiny_engine(), judge_task({.url = down.url()}), {});
    FAIL() << "HTTP 503 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kIo);
    EXPECT_NE(std::string(e.what()).find("HTTP 503"), std::string::npos) << e.what();
  }
  JudgeSpec closed{.url = "http://127.0.0.1:1/v1", .timeout_s = 2};
  EXPECT_THROW(make_judge_backend(closed, {})->complete("hi"), Error);
}

// A task file names the judge url; only loopback and the operator's
// --allow-judge-host hosts may receive prompts (and the api_key_env secret).
TEST_F(JudgeHttpTest, JudgeHostsOnlyFromTheAllowList) {
  for (const char* url :
       {"http://evil.example/v1", "https://10.0.0.5:8443/v1", "http://127.0.0.1.evil.example/v1",
        "http://127.0.0.1@evil.example/v1", "http://[2001:db8::1]:80/v1"}) {
    try {
      make_judge_backend({.url = url}, {});
      FAIL() << url << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      EXPECT_NE(std::string(e.what()).find("--allow-judge-host"), std::string::npos) << e.what();
    }
  }
  EXPECT_NO_THROW(
      make_judge_backend({.url = "http://evil.example/v1"}, {.allowed_hosts = {"evil.example"}}));
  for (const char* url : {"http://localhost:8080/v1", "http://[::1]:80/v1", "http://127.0.0.1/v1"})
    EXPECT_NO_THROW(make_judge_backend({.url = url}, {})) << url;
}

TEST_F(JudgeHttpTest, LocalModelJudge) {
  // The tiny random model as its own judge: its replies are noise, so the
  // ratings are mostly unreadable, but every document is judged and scored.
  TaskSpec t = judge_task({.model = testing::tiny_model_dir().string(), .max_tokens = 8});
  TaskResult r = run_task(testing::tiny_engine(), t, {.keep_samples = true});
  ASSERT_EQ(r.samples.size(), 3u);
  for (const auto& s : r.samples) EXPECT_TRUE(s.contains("judge_reply"));
  const double norm = aggregate(*r.find("score_norm"));
  EXPECT_GE(norm, 0.0);
  EXPECT_LE(norm, 1.0);
  EXPECT_THROW(
      run_task(testing::tiny_engine(), judge_task({.model = (dir_ / "nope").string()}), {}), Error);
}

}  // namespace
}  // namespace enclave::eval
