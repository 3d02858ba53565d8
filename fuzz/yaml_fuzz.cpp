// Fuzz target: YAML config files. The input goes through the strict YAML
// reader (core/yaml.h) and each config that users write in YAML reads it:
// training configs (`train ... --config`, train/train_config.h) in every
// mode, data recipes (data/recipe.h) and pipeline files
// (pipeline/spec.h, read from a file as `enclave pipeline` does).
#include "core/yaml.h"
#include "data/recipe.h"
#include "fuzz_target.h"
#include "pipeline/spec.h"
#include "train/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using enclave::fuzz::expect_clean;
  const std::string_view text = enclave::fuzz::as_text(data, size);
  expect_clean([&] {
    const nlohmann::json values = enclave::parse_yaml(text, "train.yaml");
    for (const auto mode : {enclave::train::TrainMode::kPretrain, enclave::train::TrainMode::kSft,
                            enclave::train::TrainMode::kDpo, enclave::train::TrainMode::kSdpo}) {
      expect_clean([&] {
        enclave::train::TrainConfig config =
            enclave::train::config_from_json(mode, values, "train.yaml");
        enclave::train::resolve_defaults(config);
        // What the run stores must read back (train_config.h: round-trips).
        enclave::train::config_from_json(mode, enclave::train::to_json(config), "stored params");
      });
    }
  });
  expect_clean([&] { enclave::data::parse_recipe(text, "recipe.yaml"); });
  static enclave::fuzz::ScratchFile pipeline_file("pipeline.yaml");
  pipeline_file.write(data, size);
  expect_clean([&] { enclave::pipeline::load_pipeline(pipeline_file.path(), {"extra.key=1"}); });
  return 0;
}
