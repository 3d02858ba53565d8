// Server::Impl: the state of a running `enclave serve` and its handlers,
// shared by server.cpp (construction, routes, authorisation, feedback,
// reload) and generate.cpp (the completion endpoints, step by step).
// Internal to src/serve.
// Thread safety: handlers run concurrently on the HTTP worker pool; the
// members they share (Metrics, RateLimiter, ModelHost, Scheduler,
// RequestLog) are thread-safe, the rest is set in the constructor.
#pragma once

#include <httplib.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "monitor/request_log.h"
#include "serve/auth.h"
#include "serve/http_transport.h"
#include "serve/metrics.h"
#include "serve/model_host.h"
#include "serve/openai_request.h"
#include "serve/openai_response.h"
#include "serve/scheduler.h"
#include "serve/server.h"

namespace enclave::serve {

// A generation request once parsed and checked against the model: what the
// scheduler runs and what the response and the log are made of.
struct Generation {
  Endpoint endpoint = Endpoint::kCompletions;
  Clock::time_point arrival;
  const ApiKey* key = nullptr;
  CompletionRequest request;
  std::shared_ptr<LoadedModel> model;
  std::vector<TokenId> prompt;
  int max_tokens = 0;
  std::shared_ptr<const JsonGrammar> grammar;  // constrained decoding, or null
  std::optional<ToolCallFormat> tool_format;   // set: the reply may hold tool calls
  bool lazy_grammar = false;                   // grammar applies only once a tool call begins
};

// One streamed response: the provider runs on the connection's thread and
// only ever waits on this sequence, so a slow client holds nobody else up.
struct StreamState {
  std::shared_ptr<Sequence> seq;
  ResponseHead head;
  CompletionRequest request;
  monitor::RequestRecord record;
  Clock::time_point arrival;
  Clock::time_point last_write;
  bool first = true;
  bool logged = false;
  std::shared_ptr<ToolCallStream> tools;  // set when the reply may hold tool calls
  std::string call_id;                    // of a call streamed as it is generated
};

struct Server::Impl {
  ServeOptions options;
  Metrics metrics;
  std::unique_ptr<KeyFile> keys;  // null: no --api-keys
  RateLimiter limiter;
  std::unique_ptr<ModelHost> host;
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<monitor::RequestLog> log;
  RequestLimits limits;
  std::unique_ptr<HttpTransport> http;
  double started_at = 0;  // unix seconds

  explicit Impl(ServeOptions o);
  void open_request_log();
  void routes();
  // The key allowed to call this path, or nullptr without keys; throws
  // ApiException 401/403/429.
  // The key of the request if it may use `scope` (or `alternative`); throws
  // the ApiException to answer otherwise. Keys from another machine over
  // plain HTTP are refused (403) before they are looked at.
  const ApiKey* authorize(const httplib::Request& req, Scope scope,
                          std::optional<Scope> alternative = std::nullopt);

  // POST /v1/completions and /v1/chat/completions, in the order of its steps.
  void generate(const httplib::Request& req, httplib::Response& res, Endpoint endpoint);
  Generation parse_generation(const httplib::Request& req, Endpoint endpoint);
  std::vector<TokenId> tokenize_prompt(const httplib::Request& req, const Generation& g) const;
  int choose_max_tokens(const Generation& g) const;
  void choose_grammar(Generation& g) const;
  std::shared_ptr<Sequence> admit(const Generation& g);
  monitor::RequestRecord start_record(const Generation& g, const ResponseHead& head) const;
  void respond(const httplib::Request& req, httplib::Response& res, const Generation& g,
               Sequence& seq, const ResponseHead& head, monitor::RequestRecord record);
  void stream(httplib::Response& res, const Generation& g, std::shared_ptr<Sequence> seq,
              const ResponseHead& head, monitor::RequestRecord record);
  bool stream_step(StreamState& state, httplib::DataSink& sink);
  void finish_stream(StreamState& state, FinishReason reason);
  void log_request(monitor::RequestRecord record);
  // A refused request (4xx) in the request log: status, endpoint, key id.
  void log_refusal(const httplib::Request& req, int status);

  // Appends to the workspace's audit log (a server without a workspace
  // has none: then only stderr says so). Never throws.
  void audit(std::string_view action, const std::string& object, const nlohmann::json& details);
  void feedback(const httplib::Request& req, httplib::Response& res);
  void reload(const httplib::Request& req, httplib::Response& res);
  void models(httplib::Response& res);
};

}  // namespace enclave::serve
