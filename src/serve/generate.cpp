// The completion endpoints (POST /v1/completions, /v1/chat/completions),
// one function per step: parse and validate, admit to the scheduler, then
// respond whole or stream, and log how the request ended.
#include <cstdio>
#include <random>

#include "core/error.h"
#include "core/json.h"
#include "serve/api_error.h"
#include "serve/server_impl.h"
#include "serve/token_grammar.h"
#include "store/clock.h"

namespace enclave::serve {
namespace {

constexpr auto kStreamPoll = std::chrono::milliseconds(100);
constexpr double kKeepAliveSeconds = 1.0;  // SSE comment while nothing happens: finds gone clients

std::string random_id(std::string_view prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kAlphabet[] =
      "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  std::string id(prefix);
  for (int i = 0; i < 24; ++i) id += kAlphabet[rng() % 62];
  return id;
}

std::uint64_t random_seed() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// The status a request log row keeps for how a generation ended. A stream
// sent 200 with its first byte; the log keeps what became of the request, so
// `monitor requests --status` finds failed streams (499: the client went
// away, as nginx logs it).
int logged_status(FinishReason reason) {
  switch (reason) {
    case FinishReason::kTimeout:
      return 504;
    case FinishReason::kError:
      return 500;
    case FinishReason::kCancelled:
      return 499;
    default:
      return 200;
  }
}

// Ids for the calls of a reply; with parallel_tool_calls false, only the
// first call is returned.
void name_calls(std::vector<ToolCall>& calls, const CompletionRequest& request) {
  if (!request.parallel_tool_calls && calls.size() > 1) calls.resize(1);
  for (ToolCall& call : calls) call.id = random_id("call_");
}

// What the model's template renders: the conversation with its keys in the
// order the client sent them (the request is parsed again as ordered JSON),
// tool-call arguments as objects rather than JSON text (as vLLM hands them
// to templates, which print them with tojson), and the tools as given.
std::string render_chat_prompt(const ChatTemplate& tmpl, const httplib::Request& req,
                               const CompletionRequest& request) {
  const nlohmann::ordered_json body = parse_ordered_json(req.body, "request body");
  nlohmann::ordered_json messages = body.at("messages");
  for (nlohmann::ordered_json& m : messages) {
    if (!m.contains("tool_calls") || !m["tool_calls"].is_array()) continue;
    for (nlohmann::ordered_json& call : m["tool_calls"]) {
      if (!call.contains("function")) continue;
      nlohmann::ordered_json& fn = call["function"];
      if (!fn.contains("arguments") || !fn["arguments"].is_string()) continue;
      nlohmann::ordered_json parsed = nlohmann::ordered_json::parse(
          fn["arguments"].get<std::string>(), nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) fn["arguments"] = std::move(parsed);
    }
  }
  ChatRenderOptions options;
  const bool with_tools = !request.tools.empty() && request.tool_choice != ToolChoice::kNone;
  if (with_tools) options.tools = body.at("tools");
  try {
    return render_chat(tmpl, messages, options);
  } catch (const Error& e) {
    // The template's own refusal (roles that do not alternate, a system
    // message it does not take) is the client's to fix.
    throw ApiException(bad_request(e.what(), "messages"));
  }
}

}  // namespace

void Server::Impl::generate(const httplib::Request& req, httplib::Response& res,
                            Endpoint endpoint) {
  const Generation g = parse_generation(req, endpoint);
  std::shared_ptr<Sequence> seq = admit(g);
  ResponseHead head;
  head.id = random_id(endpoint == Endpoint::kChatCompletions ? "chatcmpl-" : "cmpl-");
  head.created = static_cast<std::int64_t>(store::now_unix());
  head.model = g.model->id;
  head.endpoint = endpoint;
  res.set_header("X-Request-Id", head.id);
  monitor::RequestRecord record = start_record(g, head);
  if (g.request.stream) {
    stream(res, g, std::move(seq), head, std::move(record));
  } else {
    respond(req, res, g, *seq, head, std::move(record));
  }
}

// Authorise, parse and validate the body, find the model, tokenize the
// prompt and fit it and max_tokens into the model's context; every failure
// is a 4xx naming the field.
Generation Server::Impl::parse_generation(const httplib::Request& req, Endpoint endpoint) {
  Generation g;
  g.endpoint = endpoint;
  g.arrival = Clock::now();
  g.key = authorize(req, Scope::kInfer);
  g.request = parse_completion_request(parse_body(req.body), endpoint, limits);
  g.model = host->find(g.request.model);
  if (!g.model) {
    throw ApiException(not_found(
        fmt::format("model '{}' does not exist (see GET /v1/models)", g.request.model), "model"));
  }
  check_logit_bias(g.request, static_cast<std::size_t>(g.model->decoder->config().vocab_size));
  g.prompt = tokenize_prompt(req, g);
  choose_grammar(g);
  const int ctx = g.model->decoder->max_len();
  const int n_prompt = static_cast<int>(g.prompt.size());
  if (n_prompt == 0) throw ApiException(bad_request("the prompt is empty", "prompt"));
  if (n_prompt >= ctx) {
    throw ApiException(bad_request(
        fmt::format("this model's maximum context length is {} tokens; the prompt has {}", ctx,
                    n_prompt),
        endpoint == Endpoint::kChatCompletions ? "messages" : "prompt", "context_length_exceeded"));
  }
  g.max_tokens = choose_max_tokens(g);
  return g;
}

std::vector<TokenId> Server::Impl::tokenize_prompt(const httplib::Request& req,
                                                   const Generation& g) const {
  const BatchDecoder& decoder = *g.model->decoder;
  const Tokenizer& tokenizer = decoder.tokenizer();
  if (g.endpoint != Endpoint::kChatCompletions)
    return tokenizer.encode(g.request.prompt, /*add_special=*/true);
  if (!decoder.chat_template()) {
    throw ApiException(
        bad_request("this model has no chat template; use /v1/completions", "messages"));
  }
  return tokenizer.encode(render_chat_prompt(*decoder.chat_template(), req, g.request), false,
                          true);
}

// The reply's tool-call format (when tools may be called) and the grammar
// decoding follows: the response_format's; with tool_choice required or a
// named function, one call in the family's format; with auto and strict
// tools, that grammar from the moment a call begins.
void Server::Impl::choose_grammar(Generation& g) const {
  const CompletionRequest& r = g.request;
  g.grammar = r.response_grammar;
  if (r.tools.empty() || r.tool_choice == ToolChoice::kNone) return;
  const std::optional<ChatTemplate>& tmpl = g.model->decoder->chat_template();
  if (!tmpl) return;  // tokenize_prompt refused the request already
  g.tool_format = tool_call_format(*tmpl);
  const bool forced =
      r.tool_choice == ToolChoice::kRequired || r.tool_choice == ToolChoice::kFunction;
  const bool any_strict =
      std::any_of(r.tools.begin(), r.tools.end(), [](const ToolFunction& f) { return f.strict; });
  // auto with strict tools: a call, once begun, must follow their schemas.
  if (!forced && (!any_strict || g.grammar)) return;
  try {
    g.grammar = tool_call_grammar(*g.tool_format, r.tools,
                                  r.tool_choice == ToolChoice::kFunction ? r.tool_choice_name : "",
                                  /*strict_schemas_only=*/!forced);
    g.lazy_grammar = !forced;
  } catch (const SchemaError& e) {
    throw ApiException(bad_request(fmt::format("'{}': {}", e.path(), e.what()), e.path()));
  }
}

// The request's max_tokens if the context has room for it, else a 400;
// without one, the endpoint's default cut to the room left.
int Server::Impl::choose_max_tokens(const Generation& g) const {
  const int ctx = g.model->decoder->max_len();
  const int n_prompt = static_cast<int>(g.prompt.size());
  if (!g.request.max_tokens) {
    const int fallback = g.endpoint == Endpoint::kCompletions ? 16 : options.default_max_tokens;
    return std::min(fallback, ctx - n_prompt);
  }
  const int max_tokens = *g.request.max_tokens;
  if (n_prompt + max_tokens > ctx) {
    throw ApiException(bad_request(fmt::format("this model's maximum context length is {} "
                                               "tokens; you requested {} ({} in the prompt, {} "
                                               "for the completion)",
                                               ctx, n_prompt + max_tokens, n_prompt, max_tokens),
                                   "max_tokens", "context_length_exceeded"));
  }
  return max_tokens;
}

// Hands the generation to the scheduler (503 when its queue is full).
std::shared_ptr<Sequence> Server::Impl::admit(const Generation& g) {
  SequenceRequest seq_request;
  seq_request.model = g.model;
  seq_request.prompt = g.prompt;
  seq_request.max_tokens = g.max_tokens;
  seq_request.sampling.temperature = g.request.temperature;
  seq_request.sampling.top_p = g.request.top_p;
  seq_request.sampling.seed = g.request.seed ? *g.request.seed : random_seed();
  seq_request.penalties = g.request.penalties;
  if (g.grammar) {
    const BatchDecoder& decoder = *g.model->decoder;
    std::shared_ptr<const VocabTrie> trie = VocabTrie::of(decoder.tokenizer());
    if (g.lazy_grammar) {
      seq_request.constraint = std::make_shared<LazyToolCallConstraint>(
          *g.tool_format, g.grammar, std::move(trie), decoder.stop_ids());
    } else {
      seq_request.constraint =
          std::make_shared<GrammarConstraint>(g.grammar, std::move(trie), decoder.stop_ids());
    }
  }
  seq_request.stop = g.request.stop;
  seq_request.logprobs = g.request.logprobs;
  seq_request.top_logprobs = g.request.top_logprobs;
  seq_request.arrival = g.arrival;
  seq_request.deadline =
      g.arrival + std::chrono::duration_cast<Clock::duration>(
                      std::chrono::duration<double>(options.request_timeout_seconds));
  return scheduler->submit(std::move(seq_request));
}

monitor::RequestRecord Server::Impl::start_record(const Generation& g,
                                                  const ResponseHead& head) const {
  monitor::RequestRecord record;
  record.id = head.id;
  record.created_at = store::now_unix();
  record.key_id = g.key ? g.key->id : "";
  record.endpoint = g.endpoint == Endpoint::kChatCompletions ? "chat.completions" : "completions";
  record.model = g.request.model.empty() ? g.model->id : g.request.model;
  record.model_version = g.model->version;
  record.model_version_id = g.model->version_id;
  record.adapter_version_id = g.model->adapter_version_id;
  record.prompt = prompt_record(g.request);
  record.prompt_tokens = static_cast<int>(g.prompt.size());
  return record;
}

// A whole response: waits for the end (cancelling if the client leaves),
// logs the request, then answers or throws the error its end maps to.
void Server::Impl::respond(const httplib::Request& req, httplib::Response& res, const Generation& g,
                           Sequence& seq, const ResponseHead& head, monitor::RequestRecord record) {
  std::string text;
  std::vector<TokenLogprob> logprobs;
  Sequence::Update u;
  const ClientWatch client = watch_client(req);
  do {
    u = seq.wait(kStreamPoll);
    text += u.text;
    for (TokenLogprob& lp : u.logprobs) logprobs.push_back(std::move(lp));
    if (!u.finished && client.gone()) seq.cancel();  // nobody will read the answer
  } while (!u.finished);
  record.completion = text;
  record.completion_tokens = seq.n_generated();
  record.ttft_seconds = seq.time_to_first_token();
  record.latency_seconds = seconds_since(g.arrival);
  record.finish_reason = std::string(to_string(u.reason));
  record.status = logged_status(u.reason);
  log_request(std::move(record));
  switch (u.reason) {
    case FinishReason::kTimeout: {
      ApiError e = server_error(
          fmt::format("request timed out after {} s", options.request_timeout_seconds));
      e.status = 504;
      e.type = "timeout";
      throw ApiException(e);
    }
    case FinishReason::kCancelled:
      throw ApiException(server_error("cancelled: the client closed the connection"));
    case FinishReason::kError:
      throw ApiException(server_error("generation failed: " + u.error));
    default: {
      ParsedReply reply{text, {}};
      if (g.tool_format) {
        reply = parse_tool_calls(text, *g.tool_format, g.request.tools);
        name_calls(reply.calls, g.request);
      }
      send_json(
          res, 200,
          completion_response(head, reply.content, u.reason, g.request.logprobs, logprobs,
                              static_cast<int>(g.prompt.size()), seq.n_generated(), reply.calls));
    }
  }
}

void Server::Impl::stream(httplib::Response& res, const Generation& g,
                          std::shared_ptr<Sequence> seq, const ResponseHead& head,
                          monitor::RequestRecord record) {
  auto state = std::make_shared<StreamState>(StreamState{
      std::move(seq), head, g.request, std::move(record), g.arrival, Clock::now(), true, false,
      g.tool_format ? std::make_shared<ToolCallStream>(
                          *g.tool_format, g.request.tools,
                          /*forced=*/g.request.tool_choice == ToolChoice::kRequired ||
                              g.request.tool_choice == ToolChoice::kFunction)
                    : nullptr});
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider(
      "text/event-stream",
      guard_stream([this, state](httplib::DataSink& sink) { return stream_step(*state, sink); },
                   [this, state](const ApiError&) {
                     // The client gets the error event; the log keeps a failed generation.
                     state->seq->cancel();
                     finish_stream(*state, FinishReason::kError);
                   }),
      [this, state](bool) {
        // Connection closed or response complete: never leave a generation
        // running for nobody.
        state->seq->cancel();
        if (state->logged) return;
        // httplib calls this after the response, with no handler around it,
        // and the client is gone: a failure can only be reported here.
        try {
          Sequence::Update u = state->seq->wait(std::chrono::milliseconds(0));
          state->record.completion += u.text;
          finish_stream(*state, FinishReason::kCancelled);
        } catch (...) {
          const ApiError e = error_for(std::current_exception());
          std::fprintf(stderr, "enclave serve: %s: logging the ended stream failed: %s\n",
                       state->head.id.c_str(), e.message.c_str());
        }
      });
}

// One turn of the stream: whatever text is ready, a keep-alive comment when
// nothing was written for a while, and at the end the last chunk (or an
// error event) and "data: [DONE]". False drops the connection.
bool Server::Impl::stream_step(StreamState& state, httplib::DataSink& sink) {
  auto write = [&](const std::string& data) {
    if (!sink.write(data.data(), data.size())) {
      state.seq->cancel();  // the client is gone: stop generating for it
      return false;
    }
    state.last_write = Clock::now();
    return true;
  };
  Sequence::Update u = state.seq->wait(kStreamPoll);
  state.record.completion += u.text;
  // Text that may begin a tool call is held back until the end decides.
  std::string text = state.tools ? state.tools->push(u.text) : u.text;
  std::vector<ToolCallDelta> deltas;
  if (state.tools) deltas = state.tools->take_deltas();
  std::vector<ToolCall> calls;
  // A call streamed as it came: its first call's start and this much of
  // its arguments went out already (a cut-off call then ends as "length").
  const bool streamed_call = state.tools && state.tools->streamed_header();
  if (state.tools && u.finished && u.reason != FinishReason::kError &&
      u.reason != FinishReason::kTimeout && u.reason != FinishReason::kCancelled) {
    ParsedReply rest = state.tools->finish();
    if (!streamed_call) text += rest.content;
    calls = std::move(rest.calls);
    name_calls(calls, state.request);
  }
  const bool has_output = !text.empty() || !u.logprobs.empty();
  if (has_output || (state.first && !u.finished)) {
    // A chat stream opens with the role before any text arrives.
    if (has_output || state.head.endpoint == Endpoint::kChatCompletions) {
      if (!write(sse_event(stream_chunk(state.head, text, state.first, state.request.logprobs,
                                        u.logprobs, nullptr)))) {
        return false;
      }
      state.first = false;
    }
  } else if (!u.finished && seconds_since(state.last_write) > kKeepAliveSeconds && deltas.empty()) {
    if (!write(": keep-alive\n\n")) return false;
  }
  for (const ToolCallDelta& d : deltas) {
    if (state.first) {
      if (!write(sse_event(stream_chunk(state.head, "", true, false, {}, nullptr)))) return false;
      state.first = false;
    }
    if (d.header) {
      state.call_id = random_id("call_");
      if (!write(sse_event(tool_call_start_chunk(state.head, 0, state.call_id, d.name))))
        return false;
    }
    if (!d.arguments.empty() &&
        !write(sse_event(tool_call_arguments_chunk(state.head, 0, d.arguments)))) {
      return false;
    }
  }
  if (!u.finished) return true;
  finish_stream(state, u.reason);
  if (u.reason == FinishReason::kError || u.reason == FinishReason::kTimeout ||
      u.reason == FinishReason::kCancelled) {
    ApiError e = server_error(u.reason == FinishReason::kTimeout ? "request timed out"
                                                                 : "generation failed: " + u.error);
    if (!write(sse_event(error_json(e)))) return false;
  } else {
    std::vector<nlohmann::json> chunks;
    if (streamed_call && !calls.empty()) {
      calls[0].id = state.call_id;
      const std::size_t sent =
          std::min(state.tools->streamed_arguments(), calls[0].arguments.size());
      if (sent < calls[0].arguments.size())
        chunks.push_back(tool_call_arguments_chunk(state.head, 0, calls[0].arguments.substr(sent)));
      for (std::size_t i = 1; i < calls.size(); ++i) {
        chunks.push_back(tool_call_start_chunk(state.head, i, calls[i].id, calls[i].name));
        chunks.push_back(tool_call_arguments_chunk(state.head, i, calls[i].arguments));
      }
    } else {
      chunks = tool_call_chunks(state.head, calls);
    }
    for (const nlohmann::json& chunk : chunks) {
      if (!write(sse_event(chunk))) return false;
    }
    const std::string reason(openai_finish_reason(u.reason, !calls.empty()));
    if (!write(sse_event(stream_chunk(state.head, "", state.first, false, {}, reason.c_str()))))
      return false;
    if (state.request.include_usage &&
        !write(sse_event(stream_usage_chunk(state.head, state.record.prompt_tokens,
                                            state.seq->n_generated())))) {
      return false;
    }
  }
  if (!write(std::string(kSseDone))) return false;
  sink.done();
  return true;
}

// Logs a stream once, however it ended.
void Server::Impl::finish_stream(StreamState& state, FinishReason reason) {
  if (state.logged) return;
  state.logged = true;
  state.record.completion_tokens = state.seq->n_generated();
  state.record.ttft_seconds = state.seq->time_to_first_token();
  state.record.latency_seconds = seconds_since(state.arrival);
  state.record.finish_reason = std::string(to_string(reason));
  state.record.status = logged_status(reason);
  log_request(state.record);
}

}  // namespace enclave::serve
