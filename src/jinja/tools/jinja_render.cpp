// jinja_render: renders one template file with a JSON context file and
// writes the result to stdout with nothing added, so tests can compare it
// byte for byte with Python's jinja2.
//   jinja_render [--chat | --lm-eval] [--now YYYY-MM-DDTHH:MM:SS] [--json] TEMPLATE CONTEXT
// --chat: transformers' chat-template settings; --lm-eval: keep the trailing
// newline, fail on undefined variables, add regex_replace; --now pins strftime_now's clock;
// --json prints {"text": ..., "generation_spans": [[begin, end], ...]}.
// Exit status 1 with the error on stderr for a bad template or render.
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/error.h"
#include "jinja/jinja.h"

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) enclave::fail(enclave::ErrorKind::kNotFound, "{}: cannot open", path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int usage() {
  std::cerr << "usage: jinja_render [--chat | --lm-eval] [--now YYYY-MM-DDTHH:MM:SS] [--json] "
               "TEMPLATE CONTEXT.json\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  enclave::jinja::Options options;
  std::string now;
  bool json = false;
  std::vector<std::string> files;
  for (int k = 1; k < argc; ++k) {
    std::string a = argv[k];
    if (a == "--chat") {
      options = enclave::jinja::chat_template_options();
    } else if (a == "--lm-eval") {
      options.keep_trailing_newline = true;
      options.strict_undefined = true;
      options.lm_eval_filters = true;
    } else if (a == "--now" && k + 1 < argc) {
      now = argv[++k];
    } else if (a == "--json") {
      json = true;
    } else if (!a.empty() && a[0] == '-') {
      return usage();
    } else {
      files.push_back(a);
    }
  }
  if (files.size() != 2) return usage();
  try {
    if (!now.empty()) {
      std::tm tm{};
      if (!strptime(now.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) {
        enclave::fail_input("--now: '{}' is not YYYY-MM-DDTHH:MM:SS", now);
      }
      std::mktime(&tm);  // fills in the weekday and day of the year
      options.strftime_now = [tm](const std::string& format) {
        char buf[512];
        std::size_t n = std::strftime(buf, sizeof buf, format.c_str(), &tm);
        return std::string(buf, n);
      };
    }
    std::string source = read_file(files[0]);
    auto context = nlohmann::ordered_json::parse(read_file(files[1]));
    auto tpl = enclave::jinja::Template::parse(source, files[0], options);
    auto rendered = tpl.render_with_spans(context);
    if (json) {
      nlohmann::ordered_json out;
      out["text"] = rendered.text;
      out["generation_spans"] = rendered.generation_spans;
      std::cout << out.dump();
    } else {
      std::fwrite(rendered.text.data(), 1, rendered.text.size(), stdout);
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << e.what() << "\n";
    return 1;
  }
}
