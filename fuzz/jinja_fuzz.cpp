// Fuzz target: Jinja templates (jinja/jinja.h), as chat templates and eval
// task files bring them. The first byte picks the environment settings
// (its bits: trim_blocks, lstrip_blocks, keep_trailing_newline,
// strict_undefined, transformers_globals, lm_eval_filters; 0xff: exactly
// chat_template_options()); the rest is the template, parsed and rendered
// with a small chat context. The render bounds are lowered so that a
// template looping to the limit stays well under libFuzzer's timeout; the
// bounds themselves are unit-tested (jinja_test.cpp).
#include "fuzz_target.h"
#include "jinja/jinja.h"

namespace {

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json kContext = nlohmann::ordered_json::parse(R"({
    "messages": [
      {"role": "system", "content": "Be brief."},
      {"role": "user", "content": "Hi <b>there</b> \u00e9\u4e2d"},
      {"role": "assistant", "content": null,
       "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]},
      {"role": "tool", "content": "42", "tool_call_id": "c1"}
    ],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "add_generation_prompt": true,
    "bos_token": "<s>", "eos_token": "</s>",
    "doc": {"question": "2+2?", "choices": ["3", "4"], "answer": 1, "score": 0.5}
  })");
  return kContext;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t flags = data[0];
  enclave::jinja::Options options;
  if (flags == 0xff) {
    options = enclave::jinja::chat_template_options();
  } else {
    options.trim_blocks = (flags & 1) != 0;
    options.lstrip_blocks = (flags & 2) != 0;
    options.keep_trailing_newline = (flags & 4) != 0;
    options.strict_undefined = (flags & 8) != 0;
    options.transformers_globals = (flags & 16) != 0;
    options.lm_eval_filters = (flags & 32) != 0;
  }
  options.strftime_now = [](const std::string&) { return std::string("06 Dec 2026"); };
  options.max_output_bytes = std::size_t{1} << 20;
  options.max_loop_iterations = 20'000;
  options.max_call_depth = 64;
  enclave::fuzz::expect_clean([&] {
    const enclave::jinja::Template tmpl = enclave::jinja::Template::parse(
        enclave::fuzz::as_text(data + 1, size - 1), "fuzz.jinja", options);
    const enclave::jinja::Rendered out = tmpl.render_with_spans(context());
    if (out.text.size() > options.max_output_bytes) std::abort();
    for (const auto& [begin, end] : out.generation_spans)
      if (begin > end || end > out.text.size()) std::abort();
  });
  return 0;
}
