// ApiError: a failed API request as the OpenAI API reports it, an HTTP status
// plus {"error": {"message", "type", "param", "code"}}, so clients written
// for OpenAI (and their retry logic) understand our failures. Handlers throw
// ApiException; error_for() turns it, any enclave::Error and anything else
// thrown into an ApiError in one place, which the HTTP transport
// (http_transport.h) sends for every route and every stream, so no
// handler's exception escapes.
// Thread safety: plain values and pure functions.
#pragma once

#include <exception>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

#include "core/error.h"

namespace enclave::serve {

struct ApiError {
  int status = 500;
  std::string type;  // "invalid_request_error", "authentication_error", ...
  std::string message;
  std::string param;                  // the request field at fault, or ""
  std::string code;                   // "context_length_exceeded", "rate_limit_exceeded", ... or ""
  std::optional<double> retry_after;  // seconds, sent as Retry-After (429, 503)
};

class ApiException : public std::runtime_error {
 public:
  explicit ApiException(ApiError error)
      : std::runtime_error(error.message), error_(std::move(error)) {}
  const ApiError& error() const { return error_; }

 private:
  ApiError error_;
};

// {"error": {"message", "type", "param": null|"...", "code": null|"..."}}.
nlohmann::json error_json(const ApiError& error);

// The usual shapes, by status.
ApiError bad_request(std::string message, std::string param = "", std::string code = "");  // 400
ApiError unauthorized(std::string message);                                                // 401
ApiError forbidden(std::string message);                                                   // 403
ApiError not_found(std::string message, std::string param = "");                           // 404
ApiError too_large(std::string message);                                                   // 413
ApiError rate_limited(std::string message, double retry_after);                            // 429
ApiError overloaded(std::string message, double retry_after);                              // 503
ApiError server_error(std::string message);                                                // 500

// An enclave::Error met while serving: kInvalidInput -> 400, kNotFound ->
// 404, the rest -> 500 (message kept: it names the file or field).
ApiError from_error(const Error& error);

// The error for a caught exception: an ApiException's own error, an
// enclave::Error through from_error, any other std::exception a 500 with its
// message, anything else (or no exception) a 500 "internal error".
ApiError error_for(std::exception_ptr error);

// The error for a status the HTTP layer produced by itself (413 for an
// oversized body, 400 for a malformed request line, 404 for an unknown path).
ApiError for_status(int status);

}  // namespace enclave::serve
