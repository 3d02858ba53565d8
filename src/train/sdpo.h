// sDPO's ordered chunks (Kim et al. 2024, "sDPO: Don't Use Your Data All at
// Once"): the preference data is split into K chunks trained one after the
// other, each against the model the previous chunk produced. The order is
// easy to hard:
//   margin: by the reference model's margin log ref(chosen) - log ref(rejected),
//           largest first, in K nearly equal parts (the paper's suggestion
//           when no curriculum is given);
//   field:  records grouped by the value of a field (numbers ascending, or
//           strings in byte order), one chunk per value;
//   files:  one chunk per file, in the given order.
// Torch-free. Thread safety: stateless.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "train/dataset.h"
#include "train/train_config.h"

namespace enclave::train {

// Example indices of each of the n examples' chunks. margins (kMargin) has
// one entry per example; field_values (kField) each record's value of
// config.sdpo_field (discarded JSON where the record lacks it);
// file_of_example (kFiles) the chunk file each came from. Throws
// Error(kInvalidInput) when a record lacks the field, mixes numbers and
// strings, or a chunk would be empty.
std::vector<std::vector<std::size_t>> sdpo_chunks(const TrainConfig& config, std::size_t n,
                                                  const std::vector<nlohmann::json>& field_values,
                                                  const std::vector<double>& margins,
                                                  const std::vector<std::int64_t>& file_of_example);

// Each record's value of `field` in a JSONL file, streamed (discarded JSON
// where a record lacks it): what kField splits by, without holding records.
std::vector<nlohmann::json> read_field_values(const std::filesystem::path& jsonl,
                                              const std::string& field);

}  // namespace enclave::train
