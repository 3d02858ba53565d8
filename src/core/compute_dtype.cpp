#include "core/compute_dtype.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "core/error.h"

namespace enclave {
namespace {

bool has_flag(std::string_view flags, std::string_view flag) {
  std::size_t pos = 0;
  while ((pos = flags.find(flag, pos)) != std::string_view::npos) {
    const bool starts = pos == 0 || flags[pos - 1] == ' ' || flags[pos - 1] == '\t';
    const std::size_t end = pos + flag.size();
    const bool ends = end == flags.size() || flags[end] == ' ' || flags[end] == '\n';
    if (starts && ends) return true;
    pos = end;
  }
  return false;
}

std::string read_cpuinfo() {
  std::ifstream in("/proc/cpuinfo");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

std::string native_bf16_feature(std::string_view cpuinfo) {
  // Every core lists the same flags: the first "flags" line is enough.
  std::size_t at = cpuinfo.find("\nflags");
  if (cpuinfo.rfind("flags", 0) == 0) at = 0;
  if (at == std::string_view::npos) return "";
  std::size_t colon = cpuinfo.find(':', at);
  if (colon == std::string_view::npos) return "";
  std::size_t end = cpuinfo.find('\n', colon);
  std::string_view flags = cpuinfo.substr(
      colon + 1, end == std::string_view::npos ? std::string_view::npos : end - colon - 1);
  if (has_flag(flags, "amx_bf16")) return "AMX-BF16";
  if (has_flag(flags, "avx512_bf16")) return "AVX512_BF16";
  return "";
}

DtypeChoice choose_compute_dtype(std::string_view requested, std::string_view device) {
  if (requested == "f32" || requested == "bf16") return {std::string(requested), "asked for"};
  if (requested != "auto")
    fail_input("--dtype: '{}' is not a compute dtype (expected auto, f32 or bf16)", requested);
  if (device.substr(0, 4) == "cuda") return {"bf16", "auto: CUDA computes bf16 natively"};
  const std::string feature = native_bf16_feature(read_cpuinfo());
  if (!feature.empty()) return {"bf16", "auto: the CPU has " + feature};
  return {"f32", "auto: the CPU has no native bf16 (AVX512_BF16 or AMX-BF16)"};
}

std::string default_compute_dtype() {
  const char* env = std::getenv("ENCLAVE_DTYPE");
  if (env == nullptr || *env == '\0') return "auto";
  const std::string value = env;
  if (value != "auto" && value != "f32" && value != "bf16")
    fail_input("ENCLAVE_DTYPE: '{}' is not a compute dtype (expected auto, f32 or bf16)", value);
  return value;
}

}  // namespace enclave
