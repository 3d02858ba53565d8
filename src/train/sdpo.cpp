#include "train/sdpo.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "core/error.h"
#include "core/json.h"

namespace enclave::train {

std::vector<std::vector<std::size_t>> sdpo_chunks(
    const TrainConfig& config, std::size_t n, const std::vector<nlohmann::json>& field_values,
    const std::vector<double>& margins, const std::vector<std::int64_t>& file_of_example) {
  std::vector<std::vector<std::size_t>> chunks;
  switch (config.sdpo_split) {
    case SdpoSplit::kMargin: {
      ENCLAVE_CHECK(margins.size() == n);
      const auto k = static_cast<std::size_t>(config.sdpo_chunks);
      if (k > n) fail_input("sdpo_chunks: {} chunks but only {} preference pairs", k, n);
      std::vector<std::size_t> order(n);
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_sort(order.begin(), order.end(),
                       [&](std::size_t a, std::size_t b) { return margins[a] > margins[b]; });
      for (std::size_t c = 0; c < k; ++c) {
        chunks.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(c * n / k),
                            order.begin() + static_cast<std::ptrdiff_t>((c + 1) * n / k));
      }
      break;
    }
    case SdpoSplit::kField: {
      std::map<double, std::vector<std::size_t>> by_number;
      std::map<std::string, std::vector<std::size_t>> by_text;
      ENCLAVE_CHECK(field_values.size() == n);
      for (std::size_t i = 0; i < n; ++i) {
        const nlohmann::json& value = field_values[i];
        if (value.is_discarded())
          fail_input("preference record {}: missing sdpo_field '{}'", i + 1, config.sdpo_field);
        if (value.is_number()) {
          by_number[value.get<double>()].push_back(i);
        } else if (value.is_string()) {
          by_text[value.get<std::string>()].push_back(i);
        } else {
          fail_input("preference record {}: field '{}': expected a number or a string, got {}",
                     i + 1, config.sdpo_field, json_type_name(value));
        }
      }
      if (!by_number.empty() && !by_text.empty()) {
        fail_input("sdpo_field '{}': mixes numbers and strings; use one kind so the order is clear",
                   config.sdpo_field);
      }
      for (auto& [value, indices] : by_number) chunks.push_back(std::move(indices));
      for (auto& [value, indices] : by_text) chunks.push_back(std::move(indices));
      break;
    }
    case SdpoSplit::kFiles: {
      ENCLAVE_CHECK(file_of_example.size() == n);
      const std::int64_t n_files = static_cast<std::int64_t>(config.sdpo_files.size());
      chunks.resize(static_cast<std::size_t>(n_files));
      for (std::size_t i = 0; i < n; ++i)
        chunks.at(static_cast<std::size_t>(file_of_example[i])).push_back(i);
      for (std::int64_t f = 0; f < n_files; ++f) {
        if (chunks[static_cast<std::size_t>(f)].empty())
          fail_input("{}: no preference pairs", config.sdpo_files[static_cast<std::size_t>(f)]);
      }
      break;
    }
  }
  return chunks;
}

std::vector<nlohmann::json> read_field_values(const std::filesystem::path& jsonl,
                                              const std::string& field) {
  std::vector<nlohmann::json> values;
  for_each_jsonl(jsonl, [&](Record&& r) {
    auto it = r.value.find(field);
    values.push_back(it == r.value.end() ? nlohmann::json(nlohmann::json::value_t::discarded)
                                         : std::move(*it));
  });
  return values;
}

}  // namespace enclave::train
