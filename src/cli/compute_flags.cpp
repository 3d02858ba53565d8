#include <charconv>

#include "cli/commands.h"
#include "core/error.h"

namespace enclave::cli {

void add_compute_flags(CLI::App& cmd, ComputeFlags& flags) {
  cmd.add_option("--dtype", flags.dtype,
                 "Compute dtype: auto (bf16 on CUDA or a CPU with AVX512_BF16/AMX, else f32), "
                 "f32 or bf16 [default: $ENCLAVE_DTYPE, else auto]")
      ->check(CLI::IsMember({"auto", "f32", "bf16"}));
  cmd.add_option("--device", flags.device, "Device: cpu, cuda, cuda:N")->capture_default_str();
  cmd.add_option("--threads", flags.threads, "CPU threads for tensor work (0: library default)")
      ->check(CLI::Range(0, 1024));
}

DtypeChoice compute_dtype(const ComputeFlags& flags) {
  return choose_compute_dtype(flags.dtype.empty() ? default_compute_dtype() : flags.dtype,
                              flags.device);
}

void add_chat_template_flag(CLI::App& cmd, ComputeFlags& flags) {
  cmd.add_option("--chat-template", flags.chat_template,
                 "Jinja chat template file to use instead of the model's own");
}

std::vector<std::int32_t> parse_token_list(const std::string& text, const std::string& flag) {
  std::vector<std::int32_t> ids;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    std::string item = text.substr(start, end - start);
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    std::int32_t id = 0;
    auto [ptr, ec] = std::from_chars(item.data(), item.data() + item.size(), id);
    if (item.empty() || ec != std::errc() || ptr != item.data() + item.size() || id < 0) {
      fail_input("{}: '{}' is not a token id (expected non-negative integers separated by commas)",
                 flag, item);
    }
    ids.push_back(id);
    start = end + 1;
  }
  return ids;
}

}  // namespace enclave::cli
