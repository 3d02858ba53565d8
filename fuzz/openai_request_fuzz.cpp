// Fuzz target: HTTP request bodies of the OpenAI-compatible server
// (serve/openai_request.h): the body text parsed as the server parses it,
// then read as a completions and as a chat completions request (schemas in
// response_format and strict tools are compiled into grammars), and what
// the server does next with a request it accepted: the logit_bias check
// against a vocabulary and the prompt as the request log records it.
// A refused body is ApiException (a 400 naming the field), never a crash.
#include "fuzz_target.h"
#include "serve/api_error.h"
#include "serve/openai_request.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using enclave::serve::ApiException;
  using enclave::serve::Endpoint;
  nlohmann::json body;
  try {
    body = enclave::serve::parse_body(enclave::fuzz::as_text(data, size));
  } catch (const ApiException&) {
    return 0;
  }
  for (const Endpoint endpoint : {Endpoint::kCompletions, Endpoint::kChatCompletions}) {
    enclave::fuzz::expect_clean([&] {
      try {
        const enclave::serve::CompletionRequest request =
            enclave::serve::parse_completion_request(body, endpoint, {});
        enclave::serve::check_logit_bias(request, 1000);
        enclave::serve::prompt_record(request);
      } catch (const ApiException& e) {
        if (e.error().status >= 500) {
          std::fprintf(stderr, "fuzz: a request body gave a server error: %s\n", e.what());
          std::abort();
        }
      }
    });
  }
  return 0;
}
