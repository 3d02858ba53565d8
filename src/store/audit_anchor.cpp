#include "store/audit_anchor.h"

#include <fmt/format.h>
#include <sodium.h>

#include "core/error.h"
#include "core/file.h"
#include "store/audit_key.h"
#include "store/clock.h"

namespace enclave::store {
namespace {

constexpr const char* kFormat = "enclave-audit-anchor";
constexpr int kVersion = 1;

const AuditKey& required_key(std::string_view what) {
  const std::optional<AuditKey>& key = audit_key();
  if (!key) fail_input("{} needs the audit key: --audit-key-file FILE or ${}", what, kAuditKeyEnv);
  return *key;
}

// What is signed: the record without its signature, keys sorted, compact.
std::string signed_text(nlohmann::json record) {
  record.erase("signature");
  return record.dump();
}

}  // namespace

nlohmann::json write_audit_anchor(Db& db, const std::filesystem::path& workspace_root,
                                  const std::filesystem::path& out) {
  const AuditKey& key = required_key("audit anchor");
  {
    WriteTransaction tx(db);
    append_audit(db, "anchor", workspace_root.string(), {{"out", out.string()}});
    tx.commit();
  }
  Statement head(db, "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1");
  ENCLAVE_CHECK(head.step());
  const SigningKeys keys = signing_keys(key);
  nlohmann::json record = {{"format", kFormat},
                           {"version", kVersion},
                           {"workspace", workspace_root.string()},
                           {"seq", head.int64(0)},
                           {"hash", head.text(1)},
                           {"time", format_time(now_unix())},
                           {"public_key", to_hex(keys.public_key.data(), keys.public_key.size())}};
  const std::string text = signed_text(record);
  unsigned char signature[crypto_sign_BYTES];
  crypto_sign_detached(signature, nullptr, reinterpret_cast<const unsigned char*>(text.data()),
                       text.size(), keys.secret_key.data());
  record["signature"] = to_hex(signature, sizeof signature);
  write_file_atomic(out, record.dump(2) + "\n");
  return record;
}

std::vector<AuditProblem> check_audit_anchor(Db& db, const std::filesystem::path& file) {
  const AuditKey& key = required_key("audit verify --anchor");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(file, ec))
    fail(ErrorKind::kNotFound, "{}: anchor file not found", file.string());
  std::vector<AuditProblem> problems;
  const nlohmann::json record = nlohmann::json::parse(read_file(file), nullptr, false);
  const auto bad = [&](const std::string& why) {
    problems.push_back({0, fmt::format("{}: {}", file.string(), why)});
    return problems;
  };
  if (!record.is_object() || record.value("format", "") != kFormat)
    return bad(fmt::format("not an audit anchor (format is not '{}')", kFormat));
  if (record.value("version", 0) != kVersion)
    return bad(fmt::format("anchor version {} is not {}", record.value("version", 0), kVersion));
  for (const char* field : {"hash", "public_key", "signature"}) {
    if (!record.contains(field) || !record[field].is_string())
      return bad(fmt::format("'{}' is missing or not a string", field));
  }
  if (!record.contains("seq") || !record["seq"].is_number_integer())
    return bad("'seq' is missing or not an integer");
  const SigningKeys keys = signing_keys(key);
  if (record["public_key"] != to_hex(keys.public_key.data(), keys.public_key.size()))
    return bad("signed by another key than this audit key's");
  const std::string signature =
      from_hex(record["signature"].get<std::string>(), crypto_sign_BYTES, "signature");
  const std::string text = signed_text(record);
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                  reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                                  keys.public_key.data()) != 0) {
    return bad("the signature does not verify (the anchor was edited or forged)");
  }
  const std::int64_t seq = record["seq"].get<std::int64_t>();
  const std::string hash = record["hash"].get<std::string>();
  Statement at(db, "SELECT hash FROM audit_log WHERE seq = ?1");
  at.bind(1, seq);
  if (!at.step()) {
    problems.push_back(
        {seq,
         fmt::format("the anchor records entry {}, which the log no longer has (deleted)", seq)});
  } else if (at.text(0) != hash) {
    problems.push_back(
        {seq, fmt::format("entry {} does not match the anchor's hash (the log was rewritten "
                          "after the anchor was taken)",
                          seq)});
  }
  return problems;
}

}  // namespace enclave::store
