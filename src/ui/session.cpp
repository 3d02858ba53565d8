#include "ui/session.h"

#include <fmt/format.h>
#include <sys/random.h>

#include <cerrno>
#include <vector>

#include "core/error.h"

namespace enclave::ui {

std::string Sessions::create(std::string actor, store::Scopes scopes, Clock::time_point now) {
  std::string id = random_hex(32);
  std::lock_guard lock(mutex_);
  // Expired sessions go when new ones come, so the map stays small.
  std::erase_if(sessions_, [now](const auto& entry) { return entry.second.expires <= now; });
  sessions_[id] = Session{.actor = std::move(actor),
                          .scopes = scopes,
                          .csrf = random_hex(32),
                          .expires = now + lifetime_};
  return id;
}

std::optional<Session> Sessions::find(std::string_view id, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void Sessions::remove(std::string_view id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(id);
  if (it != sessions_.end()) sessions_.erase(it);
}

std::size_t Sessions::size() {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::string random_hex(std::size_t bytes) {
  std::vector<unsigned char> buffer(bytes);
  std::size_t done = 0;
  while (done < bytes) {
    const ssize_t n = ::getrandom(buffer.data() + done, bytes - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail(ErrorKind::kIo, "getrandom failed: errno {}", errno);
    }
    done += static_cast<std::size_t>(n);
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes * 2);
  for (unsigned char b : buffer) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semi = std::min(header.find(';'), header.size());
    std::string_view part = header.substr(0, semi);
    header.remove_prefix(std::min(semi + 1, header.size()));
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    const std::size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name)
      return std::string(part.substr(eq + 1));
  }
  return "";
}

std::string session_cookie_name(int port) {
  return port > 0 ? fmt::format("{}_{}", kSessionCookie, port) : std::string(kSessionCookie);
}

std::string session_cookie(std::string_view name, std::string_view id, bool secure) {
  std::string cookie =
      std::string(name) + "=" + std::string(id) + "; Path=/; HttpOnly; SameSite=Strict";
  if (id.empty()) cookie += "; Max-Age=0";
  if (secure) cookie += "; Secure";
  return cookie;
}

}  // namespace enclave::ui
