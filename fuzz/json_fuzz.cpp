// Fuzz target: our JSON and JSONL readers. The whole input as a JSON file
// (core/json.h, strict: duplicate keys, depth, UTF-8), then each line as a
// JSONL record the way the ingest reads it (data/ingest.h
// document_from_record, simdjson) and as a training record in every
// training format (data/training_format.h).
#include "core/json.h"
#include "data/ingest.h"
#include "data/training_format.h"
#include "fuzz_target.h"

namespace {

void jsonl_line(std::string_view line, std::uint64_t number) {
  enclave::fuzz::expect_clean([&] {
    const enclave::data::Document doc = enclave::data::document_from_record(line, "text", number);
    for (const auto to :
         {enclave::data::TrainingFormat::kText, enclave::data::TrainingFormat::kMessages,
          enclave::data::TrainingFormat::kPromptCompletion,
          enclave::data::TrainingFormat::kPreference}) {
      enclave::data::FormatOptions options;
      options.to = to;
      enclave::data::format_record(doc, options);
    }
  });
  // A nested field path, as `--jsonl-field meta.body` asks.
  enclave::fuzz::expect_clean(
      [&] { enclave::data::document_from_record(line, "meta.body", number); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = enclave::fuzz::as_text(data, size);
  enclave::fuzz::expect_clean([&] {
    const nlohmann::json j = enclave::parse_json(text, "fuzz.json");
    j.dump();
  });
  enclave::fuzz::expect_clean([&] {
    const nlohmann::ordered_json j = enclave::parse_ordered_json(text, "fuzz.json");
    j.dump();
  });
  std::uint64_t number = 0;
  for (std::size_t begin = 0; begin <= text.size();) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    jsonl_line(text.substr(begin, end - begin), ++number);
    begin = end + 1;
  }
  return 0;
}
