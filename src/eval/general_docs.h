// Documents for the "general" suite, the forgetting check: skills a model
// has before fine-tuning and should keep after it, in English and Korean.
//   sequence   what comes next (weekday, month, number): multiple choice
//   compare    the larger of two numbers: multiple choice
//   copy       repeat a word exactly: generation
//   text       everyday sentences: perplexity / bits per byte
//   instructions  short requests with verifiable instructions (IFEval style)
// Every generator is deterministic in its seed.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

namespace enclave::eval {

enum class Language { kEnglish, kKorean };
std::string_view language_code(Language language);  // "en", "ko"

// {"question", "choices", "answer" (index)}
std::vector<nlohmann::json> make_sequence_docs(Language language, std::size_t n,
                                               std::uint64_t seed);
// {"question", "choices", "answer" (index)}
std::vector<nlohmann::json> make_compare_docs(Language language, std::size_t n, std::uint64_t seed);
// {"prompt", "answer"}
std::vector<nlohmann::json> make_copy_docs(Language language, std::size_t n, std::uint64_t seed);
// {"text"}
std::vector<nlohmann::json> make_text_docs(Language language, std::size_t n, std::uint64_t seed);
// {"prompt", "instruction_id_list", "kwargs"}, both languages mixed.
std::vector<nlohmann::json> make_instruction_docs(std::size_t n, std::uint64_t seed);

}  // namespace enclave::eval
