// Special-token settings of a model directory, gathered from the files
// Hugging Face spreads them over: tokenizer_config.json (bos_token, eos_token
// as a string or {"content": ...}, add_bos_token, add_eos_token,
// chat_template), special_tokens_map.json and generation_config.json
// (eos_token_id as an int or a list). Shared by every tokenizer kind.
// Thread safety: plain values.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace enclave {

struct SpecialTokenConfig {
  std::optional<std::string> bos_token;  // text, e.g. "<s>", "<|begin_of_text|>"
  std::optional<std::string> eos_token;
  std::optional<std::string> unk_token;
  std::optional<std::string> pad_token;
  std::optional<bool> add_bos_token;  // unset when the files do not say
  std::optional<bool> add_eos_token;
  std::vector<std::int64_t> generation_eos_ids;  // generation_config.json eos_token_id
  // The template text: the string, or the entry named "default" of a list
  // of {name, template} (unset when the list has no "default").
  std::optional<std::string> chat_template;
  // The list's entry named "tool_use", which transformers renders instead
  // when tools are passed.
  std::optional<std::string> chat_template_tool_use;
};

// Reads whichever of the three files exist (none is an empty config). As in
// transformers, special_tokens_map.json overrides the token texts of
// tokenizer_config.json. Token ids must lie in [0, 2^31).
// Throws Error(kInvalidInput) naming the file and field when one is malformed.
SpecialTokenConfig read_special_token_config(const std::filesystem::path& model_dir);

}  // namespace enclave
