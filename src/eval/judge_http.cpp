// The OpenAI-compatible judge: POST <url>/chat/completions with one user
// message, temperature 0, and the reply's choices[0].message.content.
// http:// and https:// (Debian's cpp-httplib is built with OpenSSL; the
// server certificate is verified against the system's CA store).
#include <httplib.h>

#include <algorithm>
#include <cstdlib>
#include <vector>

#include "core/error.h"
#include "core/json.h"
#include "eval/judge.h"

namespace enclave::eval {
namespace {

// "host:port" -> "host"; "[::1]:8080" -> "::1"; userinfo ("user@host") is
// cut off, so "127.0.0.1@evil.example" is evil.example.
std::string host_name(std::string authority) {
  if (const std::size_t at = authority.rfind('@'); at != std::string::npos)
    authority.erase(0, at + 1);
  if (!authority.empty() && authority.front() == '[')
    return authority.substr(1, authority.find(']') - 1);
  return authority.substr(0, authority.find(':'));
}

// localhost, ::1 or a dotted 127.a.b.c of numbers only.
bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3 && host.back() != '.' && host.find("..") == std::string::npos;
}

class HttpJudge : public JudgeBackend {
 public:
  HttpJudge(const JudgeSpec& spec, const std::vector<std::string>& allowed_hosts) : spec_(spec) {
    const std::string& url = spec.url;
    const std::size_t scheme_end = url.rfind("https://", 0) == 0  ? 8
                                   : url.rfind("http://", 0) == 0 ? 7
                                                                  : 0;
    if (scheme_end == 0) fail_input("judge url '{}': expected http(s)://host[:port]/v1", url);
    const std::size_t slash = url.find('/', scheme_end);
    host_ = url.substr(0, slash);
    if (host_.size() <= scheme_end) fail_input("judge url '{}': no host", url);
    const std::string name = host_name(host_.substr(scheme_end));
    if (!is_loopback(name) &&
        std::find(allowed_hosts.begin(), allowed_hosts.end(), name) == allowed_hosts.end()) {
      fail_input(
          "judge url '{}': host '{}' is not allowed (prompts and the api_key_env secret would go "
          "there); pass --allow-judge-host {} if it is yours",
          url, name, name);
    }
    std::string path = slash == std::string::npos ? "" : url.substr(slash);
    while (!path.empty() && path.back() == '/') path.pop_back();
    const std::string endpoint = "/chat/completions";
    path_ = path.size() >= endpoint.size() &&
                    path.compare(path.size() - endpoint.size(), endpoint.size(), endpoint) == 0
                ? path
                : path + endpoint;
    if (!spec.api_key_env.empty()) {
      const char* key = std::getenv(spec.api_key_env.c_str());
      if (key == nullptr || *key == '\0') {
        fail_input("judge: api_key_env names ${} but it is not set", spec.api_key_env);
      }
      api_key_ = key;
    }
  }

  std::string complete(const std::string& message) override {
    httplib::Client client(host_);
    const auto timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(spec_.timeout_s * 1000));
    client.set_connection_timeout(timeout);
    client.set_read_timeout(timeout);
    client.set_write_timeout(timeout);
    if (!api_key_.empty()) client.set_bearer_token_auth(api_key_);
    nlohmann::json body = {{"messages", {{{"role", "user"}, {"content", message}}}},
                           {"temperature", 0},
                           {"max_tokens", spec_.max_tokens},
                           {"stream", false}};
    if (!spec_.api_model.empty()) body["model"] = spec_.api_model;
    const std::string where = host_ + path_;
    httplib::Result res =
        client.Post(path_, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                    "application/json");
    if (!res)
      fail(ErrorKind::kIo, "judge {}: request failed: {}", where, httplib::to_string(res.error()));
    if (res->status != 200) {
      fail(ErrorKind::kIo, "judge {}: HTTP {}: {}", where, res->status, res->body.substr(0, 200));
    }
    const nlohmann::json reply = parse_json(res->body, fmt::format("judge {} reply", where));
    if (!reply.is_object() || !reply.contains("choices") || !reply["choices"].is_array() ||
        reply["choices"].empty() || !reply["choices"][0].is_object() ||
        !reply["choices"][0].contains("message") || !reply["choices"][0]["message"].is_object()) {
      fail_input("judge {} reply: expected an OpenAI chat completion with choices[0].message",
                 where);
    }
    const nlohmann::json& msg = reply["choices"][0]["message"];
    if (!msg.contains("content") || !msg["content"].is_string()) {
      fail_input("judge {} reply: choices[0].message.content is not a string", where);
    }
    return msg["content"].get<std::string>();
  }

  std::string describe() const override { return "url " + host_ + path_; }

 private:
  JudgeSpec spec_;
  std::string host_;  // "http://host:port"
  std::string path_;  // "/v1/chat/completions"
  std::string api_key_;
};

}  // namespace

std::unique_ptr<JudgeBackend> make_http_judge(const JudgeSpec& spec,
                                              const std::vector<std::string>& allowed_hosts) {
  return std::make_unique<HttpJudge>(spec, allowed_hosts);
}

}  // namespace enclave::eval
