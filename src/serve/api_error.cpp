#include "serve/api_error.h"

namespace enclave::serve {
namespace {

ApiError make(int status, std::string type, std::string message, std::string param = "",
              std::string code = "") {
  ApiError e;
  e.status = status;
  e.type = std::move(type);
  e.message = std::move(message);
  e.param = std::move(param);
  e.code = std::move(code);
  return e;
}

}  // namespace

nlohmann::json error_json(const ApiError& error) {
  nlohmann::json body = {
      {"message", error.message}, {"type", error.type}, {"param", nullptr}, {"code", nullptr}};
  if (!error.param.empty()) body["param"] = error.param;
  if (!error.code.empty()) body["code"] = error.code;
  return {{"error", body}};
}

ApiError bad_request(std::string message, std::string param, std::string code) {
  return make(400, "invalid_request_error", std::move(message), std::move(param), std::move(code));
}
ApiError unauthorized(std::string message) {
  return make(401, "authentication_error", std::move(message), "", "invalid_api_key");
}
ApiError forbidden(std::string message) {
  return make(403, "permission_error", std::move(message));
}
ApiError not_found(std::string message, std::string param) {
  return make(404, "not_found_error", std::move(message), std::move(param));
}
ApiError too_large(std::string message) {
  return make(413, "invalid_request_error", std::move(message), "", "request_too_large");
}
ApiError rate_limited(std::string message, double retry_after) {
  ApiError e = make(429, "rate_limit_error", std::move(message), "", "rate_limit_exceeded");
  e.retry_after = retry_after;
  return e;
}
ApiError overloaded(std::string message, double retry_after) {
  ApiError e = make(503, "server_overloaded", std::move(message), "", "queue_full");
  e.retry_after = retry_after;
  return e;
}
ApiError server_error(std::string message) { return make(500, "server_error", std::move(message)); }

ApiError from_error(const Error& error) {
  switch (error.kind()) {
    case ErrorKind::kInvalidInput:
      return bad_request(error.what());
    case ErrorKind::kNotFound:
      return not_found(error.what());
    default:
      return server_error(error.what());
  }
}

ApiError error_for(std::exception_ptr error) {
  try {
    if (error) std::rethrow_exception(error);
  } catch (const ApiException& e) {
    return e.error();
  } catch (const Error& e) {
    return from_error(e);
  } catch (const std::exception& e) {
    return server_error(e.what());
  } catch (...) {
  }
  return server_error("internal error");
}

ApiError for_status(int status) {
  switch (status) {
    case 400:
      return bad_request("malformed HTTP request");
    case 404:
      return not_found("unknown path");
    case 405:
      return make(405, "invalid_request_error", "method not allowed for this path");
    case 413:
      return too_large("request body is larger than the server's limit");
    case 414:
      return make(414, "invalid_request_error", "request URI is too long");
    case 416:
      return make(416, "invalid_request_error", "range not satisfiable");
    default:
      return make(status, status >= 500 ? "server_error" : "invalid_request_error",
                  "request failed");
  }
}

}  // namespace enclave::serve
