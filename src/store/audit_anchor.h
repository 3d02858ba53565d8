// Audit anchors: a signed record of the audit log's head (sequence, hash,
// time, workspace) for safekeeping away from the workspace, in the JSON
//
//   {"format": "enclave-audit-anchor", "version": 1, "workspace": "/srv/ws",
//    "seq": 42, "hash": "hmac-sha256:...", "time": "2026-...Z",
//    "public_key": "<64 hex>", "signature": "<128 hex>"}
//
// signed with Ed25519 (libsodium) over the record without "signature"
// (keys sorted, no spaces), under the key pair derived from the audit key
// (audit_key.h). Anyone who rewrites the log later, even holding the key,
// cannot make entry `seq` hash the same again, so checking the log against
// an anchor taken before the rewrite catches it.
// Thread safety: operates on one Db; see db.h.
#pragma once

#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

#include "store/audit.h"
#include "store/db.h"

namespace enclave::store {

// Appends an "anchor" entry (keyed, so a log that was never keyed is keyed
// from here on), then writes the signed record of that entry to `out`
// (atomically) and returns it. Throws Error(kInvalidInput) without an audit
// key, Error(kIo) if out cannot be written.
nlohmann::json write_audit_anchor(Db& db, const std::filesystem::path& workspace_root,
                                  const std::filesystem::path& out);

// The problems of the log against the anchor in `file`: a bad format, a
// signature that does not verify under this audit key's public key (forged,
// or another workspace's key), a log shorter than the anchor (entries
// deleted) or whose entry `seq` has another hash (rewritten). Throws
// Error(kNotFound) for a missing file, Error(kInvalidInput) without a key.
std::vector<AuditProblem> check_audit_anchor(Db& db, const std::filesystem::path& file);

}  // namespace enclave::store
