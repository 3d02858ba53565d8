// The command-line face of the data steps: each step's one-line summary and
// its flags, each setting one params key of the step (the same key a recipe
// uses, see steps.h and README.md). `enclave data <step>` adds these flags
// and hands what was typed to step_params, so the CLI holds no knowledge of
// the steps' settings.
// Thread safety: constant tables and pure functions.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::data {

enum class FlagType {
  kNumber,   // a JSON number
  kInteger,  // a JSON integer
  kText,     // a string
  kList,     // strings; repeatable, comma-separated values split
  kSwitch,   // no value: sets the key to switch_value
  kRatios,   // SCRIPT=RATIO items into an object: --min-script hangul=0.5
};

struct StepFlag {
  std::string_view flag;  // "--min-words"
  std::string_view key;   // the params key: "min_words"
  FlagType type;
  std::string_view help;
  bool required = false;
  bool switch_value = true;  // kSwitch only
};

// "Drop low-quality documents ..." for a step of step_names(); "" if unknown.
std::string_view step_summary(std::string_view step);
// The flags of a step (ingest's paths are a positional argument, not listed).
const std::vector<StepFlag>& step_flags(std::string_view step);

// The step's params from the flags given on the command line (flag -> the
// values typed, in order; a switch's values are ignored) and --set KEY=VALUE
// items (VALUE read as JSON, else a string). Flags not given set nothing, so
// the step's own defaults (recorded in its report) apply. Throws
// Error(kInvalidInput) naming the flag for a value of the wrong type, a
// malformed SCRIPT=RATIO or KEY=VALUE, or a flag the step does not have.
nlohmann::json step_params(std::string_view step,
                           const std::map<std::string, std::vector<std::string>>& given,
                           const std::vector<std::string>& sets = {});

}  // namespace enclave::data
