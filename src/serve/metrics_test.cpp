#include "serve/metrics.h"

#include <gtest/gtest.h>

namespace enclave::serve {
namespace {

TEST(Histogram, RendersCumulativeBuckets) {
  Histogram h({0.1, 1});
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const std::string text = h.render("x");
  EXPECT_NE(text.find("x_bucket{le=\"0.1\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_bucket{le=\"1\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_bucket{le=\"+Inf\"} 3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_sum 5.55\n"), std::string::npos) << text;
  EXPECT_NE(text.find("x_count 3\n"), std::string::npos) << text;
}

TEST(Metrics, RendersEverySeries) {
  Metrics m;
  m.count_request("completions", 200);
  m.count_request("completions", 200);
  m.count_request("completions", 429);
  m.add_tokens(10, 4);
  m.observe_time_to_first_token(0.02);
  m.set_queue_depth(3);
  m.set_active_sequences(2);
  const std::string text = m.render();
  for (const char* line :
       {"enclave_requests_total{endpoint=\"completions\",status=\"200\"} 2",
        "enclave_requests_total{endpoint=\"completions\",status=\"429\"} 1",
        "enclave_prompt_tokens_total 10", "enclave_completion_tokens_total 4",
        "enclave_time_to_first_token_seconds_count 1", "enclave_queue_depth 3",
        "enclave_active_sequences 2", "# TYPE enclave_time_per_output_token_seconds histogram"}) {
    EXPECT_NE(text.find(line), std::string::npos) << line;
  }
  EXPECT_EQ(m.requests_with_status(200), 2u);
  EXPECT_EQ(m.requests_to("completions"), 3u);
  EXPECT_EQ(m.requests_to("chat.completions"), 0u);
  EXPECT_EQ(m.queue_depth(), 3);
  EXPECT_EQ(m.active_sequences(), 2);
}

}  // namespace
}  // namespace enclave::serve
