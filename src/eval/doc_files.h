// Evaluation documents in the file formats lm-evaluation-harness task files
// name through Hugging Face's `json` and `csv` builders: JSON Lines, a JSON
// array of objects, and CSV with a header row. Strict: every bad line or row
// is an error naming the file and line.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <vector>

namespace enclave::eval {

// Reads by extension: .jsonl (one object per line), .json (an array of
// objects, or JSON Lines as Hugging Face's json builder also accepts), .csv
// (RFC 4180: a header row, quoted fields with "" escapes and line breaks;
// cells read as integers, floats, true/false (True/False) or strings, an
// empty cell as null, as pandas infers them). Throws Error(kNotFound) for a
// missing file, Error(kInvalidInput) naming the file and line otherwise
// (including more than max_docs documents and other extensions).
std::vector<nlohmann::json> read_documents(const std::filesystem::path& path,
                                           std::uint64_t max_docs = 10'000'000);

// The extensions read_documents reads, in the order a split folder is searched.
inline constexpr const char* kDocumentExtensions[] = {".jsonl", ".json", ".csv"};

}  // namespace enclave::eval
