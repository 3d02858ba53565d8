#include "train/train_config.h"

#include <gtest/gtest.h>

#include <tuple>

#include "core/error.h"

namespace enclave::train {
namespace {

using nlohmann::json;

json minimal() { return {{"model", "base"}, {"data", "d.jsonl"}, {"out", "tuned"}}; }

std::string error_of(TrainMode mode, const json& values) {
  try {
    TrainConfig c = config_from_json(mode, values, "train.yaml");
    resolve_defaults(c);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    return e.what();
  }
  return "";
}

TEST(TrainConfig, ParsesKeysAndFillsModeDefaults) {
  json v = minimal();
  v["lora"] = true;
  v["lora_r"] = 4;
  v["lora_target_modules"] = {"q_proj", "v_proj"};
  v["lr_scheduler"] = "linear";
  v["max_steps"] = 12.0;  // YAML may write integers as floats
  TrainConfig c = config_from_json(TrainMode::kSft, v, "train.yaml");
  resolve_defaults(c);
  EXPECT_TRUE(c.lora);
  EXPECT_EQ(c.lora_r, 4);
  EXPECT_EQ(c.lora_target_modules, (std::vector<std::string>{"q_proj", "v_proj"}));
  EXPECT_EQ(c.lr_scheduler, LrScheduler::kLinear);
  EXPECT_EQ(c.max_steps, 12);
  EXPECT_DOUBLE_EQ(*c.lr, 2e-4);  // sft default x10 with LoRA

  TrainConfig d = config_from_json(TrainMode::kDpo, minimal(), "x");
  resolve_defaults(d);
  EXPECT_DOUBLE_EQ(*d.lr, 5e-7);
  EXPECT_DOUBLE_EQ(d.beta, 0.1);
}

TEST(TrainConfig, RoundTripsThroughJson) {
  json v = minimal();
  v["beta"] = 0.25;
  v["loss_type"] = "ipo";
  v["seed"] = 9;
  TrainConfig c = config_from_json(TrainMode::kDpo, v, "x");
  resolve_defaults(c);
  json stored = to_json(c);
  EXPECT_EQ(stored["mode"], "dpo");
  TrainConfig again = config_from_json(TrainMode::kDpo, stored, "params");
  EXPECT_EQ(to_json(again), stored);
  EXPECT_NE(error_of(TrainMode::kSft, stored).find("does not match"), std::string::npos);
}

TEST(TrainConfig, RejectsBadInput) {
  auto with = [](const char* key, json value) {
    json v = minimal();
    v[key] = value;
    return v;
  };
  EXPECT_NE(
      error_of(TrainMode::kSft, with("learning_rate", 1e-4)).find("unknown key 'learning_rate'"),
      std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("lr", -1)).find("lr"), std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("batch_size", "eight")).find("expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("batch_size", 0)).find("outside"), std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("max_steps", 1.5)).find("expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("lr_scheduler", "exp")).find("not one of"),
            std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("lora", "yes")).find("true or false"),
            std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("lora_target_modules", json::array({1})))
                .find("list of strings"),
            std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("label_smoothing", 0.7)).find("outside"),
            std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSdpo, with("sdpo_split", "files")).find("sdpo_files"),
            std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSdpo, with("sdpo_split", "field")).find("sdpo_field"),
            std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, with("node_rank", 2)).find("nnodes"), std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSft, json::array()).find("mapping"), std::string::npos);
  json no_out = minimal();
  no_out.erase("out");
  EXPECT_NE(error_of(TrainMode::kSft, no_out).find("'out' is required"), std::string::npos);
}

TEST(TrainConfig, DifferentialPrivacyNeedsAllThreeKeysAndPretrainOrSft) {
  json v = minimal();
  v["dp_epsilon"] = 8;
  v["dp_delta"] = 1e-5;
  v["dp_max_grad_norm"] = 1.0;
  TrainConfig c = config_from_json(TrainMode::kSft, v, "x");
  resolve_defaults(c);
  EXPECT_TRUE(dp_enabled(c));
  EXPECT_DOUBLE_EQ(*c.dp_delta, 1e-5);
  EXPECT_EQ(to_json(c)["dp_epsilon"], json(8.0));
  EXPECT_EQ(to_json(config_from_json(TrainMode::kSft, minimal(), "x"))["dp_epsilon"], json());
  EXPECT_FALSE(dp_enabled(config_from_json(TrainMode::kSft, minimal(), "x")));

  json partial = minimal();
  partial["dp_epsilon"] = 8;
  const std::string missing = error_of(TrainMode::kSft, partial);
  EXPECT_NE(missing.find("needs all of dp_epsilon, dp_delta and dp_max_grad_norm"),
            std::string::npos)
      << missing;
  EXPECT_NE(missing.find("missing --dp-delta, --dp-max-grad-norm"), std::string::npos) << missing;
  EXPECT_NE(error_of(TrainMode::kDpo, v).find("not `train dpo`"), std::string::npos);
  EXPECT_NE(error_of(TrainMode::kSdpo, v).find("not `train sdpo`"), std::string::npos);
  EXPECT_TRUE(error_of(TrainMode::kPretrain, v).empty());
  for (auto [key, value, text] : {std::tuple{"dp_epsilon", 0.0, "dp_epsilon: 0 must be above 0"},
                                  std::tuple{"dp_epsilon", -1.0, "must be above 0"},
                                  std::tuple{"dp_delta", 1.0, "dp_delta: 1 must be below 1"},
                                  std::tuple{"dp_delta", 0.0, "dp_delta: 0 must be above 0"},
                                  std::tuple{"dp_max_grad_norm", 0.0, "must be above 0"}}) {
    json bad = v;
    bad[key] = value;
    const std::string error = error_of(TrainMode::kSft, bad);
    EXPECT_NE(error.find(text), std::string::npos) << key << ": " << error;
  }
}

TEST(TrainConfig, FlagsParseToTypedValues) {
  auto field = [](const std::string& key) {
    for (const ConfigField& f : config_fields()) {
      if (f.key == key) return f;
    }
    throw std::runtime_error("no field " + key);
  };
  EXPECT_EQ(flag_name("lora_target_modules"), "--lora-target-modules");
  EXPECT_EQ(parse_flag_value(field("batch_size"), "16"), json(16));
  EXPECT_EQ(parse_flag_value(field("lr"), "3e-4"), json(3e-4));
  EXPECT_EQ(parse_flag_value(field("lora"), "false"), json(false));
  EXPECT_EQ(parse_flag_value(field("lora_target_modules"), "q_proj, v_proj"),
            json({"q_proj", "v_proj"}));
  EXPECT_THROW(parse_flag_value(field("batch_size"), "16x"), Error);
  EXPECT_THROW(parse_flag_value(field("lr"), "nan"), Error);
  EXPECT_THROW(parse_flag_value(field("lora"), "maybe"), Error);
  EXPECT_EQ(parse_train_mode("sdpo"), TrainMode::kSdpo);
  EXPECT_THROW(parse_train_mode("rlhf"), Error);
}

}  // namespace
}  // namespace enclave::train
