// Artifacts: a file or a directory stored by content. A file artifact is
// named by the sha256 of its bytes (the same digest `sha256sum` prints); a
// directory artifact by the sha256 of its manifest, a JSON list of its files
// (relative path, sha256, size) that is itself stored as a blob. Storing is
// two steps so a crash never leaves a half-visible artifact: stage_artifact
// writes every blob (each complete before it is renamed into place), then
// record_artifact inserts the rows inside the caller's transaction, after
// checking every blob is there. Rows are the only way to see an artifact.
//
// A stored directory is used through a checkout: .enclave/checkouts/<hex>/,
// built in tmp/ from hard links to the (read-only) blobs after checking each
// blob's hash, then renamed into place. Hard links mean a checkout costs no
// space, and gc removing a blob never pulls the bytes out from under a
// reader that has the file open or mapped.
// Thread safety: see workspace.h; callers hold a shared StoreLock while
// staging and recording (gc takes it exclusive).
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.h"
#include "store/workspace.h"

namespace enclave::store {

enum class ArtifactKind { kFile, kDir };
std::string_view to_string(ArtifactKind kind);

struct ArtifactFile {
  std::string path;    // relative, '/'-separated; a file artifact's own file name
  std::string object;  // sha256 hex of the content
  std::uint64_t size = 0;
  bool executable = false;
};

struct Artifact {
  std::string digest;  // "sha256:<hex>"
  ArtifactKind kind = ArtifactKind::kFile;
  std::uint64_t size = 0;  // total bytes of the files
  std::int64_t n_files = 0;
  double created_at = 0;
  std::vector<ArtifactFile> files;  // sorted by path
  // gc reclaimed the content after every registry version naming it was
  // deleted: the row stays for them and for lineage, files is empty and the
  // artifact cannot be checked out. Recording the same content again restores it.
  bool purged = false;
};

// Writes the blobs of the file or directory at src (and a directory's
// manifest) into the object store and returns the artifact to record. Symlinks
// to files are stored as the file they point to; symlinks to folders, special
// files and paths with control characters are refused with Error(kInvalidInput),
// as is a folder that holds the workspace's own .enclave. With show_progress,
// bytes stored, rate and ETA are drawn on a terminal (see core/progress.h).
Artifact stage_artifact(Workspace& workspace, const std::filesystem::path& src,
                        bool show_progress = false);

// Inserts the rows of a staged artifact if it is not recorded yet (or was
// purged by gc). Must run inside a WriteTransaction; throws Error(kIo) if a
// blob went missing.
void record_artifact(Db& db, ObjectStore& objects, const Artifact& artifact);

// stage_artifact + record_artifact in one transaction, under the store lock.
Artifact store_artifact(Workspace& workspace, const std::filesystem::path& src,
                        bool show_progress = false);

// The recorded artifact with its files, or nullopt.
std::optional<Artifact> find_artifact(Db& db, std::string_view digest);

// The manifest text of a directory artifact's files (stable: sorted keys and
// paths, no whitespace); its sha256 is the directory's digest.
std::string manifest_text(const std::vector<ArtifactFile>& files);
// Parses and validates a manifest (paths checked with validate_relative_path).
std::vector<ArtifactFile> parse_manifest(std::string_view text, std::string_view what);

struct CheckoutOptions {
  // Re-hash an existing checkout's files before handing it out. Off skips
  // reading the bytes when the checkout exists (a newly built one is always
  // checked blob by blob).
  bool verify = true;
};

// The checkout of a recorded artifact: the directory for a directory
// artifact, the file for a file artifact. A checkout that no longer matches
// is rebuilt; a corrupt blob is quarantined and Error(kIo) thrown, so wrong
// bytes are never handed out. Error(kNotFound) if the artifact is unknown or
// purged.
std::filesystem::path checkout_artifact(Workspace& workspace, std::string_view digest,
                                        const CheckoutOptions& options = {});

nlohmann::json artifact_json(const Artifact& artifact, bool with_files);

// "1.2 GB", "340 KB", "12 B".
std::string format_bytes(std::uint64_t bytes);

}  // namespace enclave::store
