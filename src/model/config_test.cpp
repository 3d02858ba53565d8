#include "model/config.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/json.h"

namespace enclave {
namespace {

using nlohmann::json;

json llama_json() {
  return json::parse(R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_act": "silu",
    "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008, "num_hidden_layers": 32,
    "num_attention_heads": 32, "num_key_value_heads": 8, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "max_position_embeddings": 8192, "tie_word_embeddings": false, "bos_token_id": 1,
    "eos_token_id": [2, 7], "torch_dtype": "bfloat16", "rope_scaling": null})");
}

// Expects parse to throw an Error of `kind` whose message contains every needle.
void expect_error(const json& doc, ErrorKind kind, const std::vector<std::string>& needles) {
  try {
    parse_model_config(doc, "config.json");
    ADD_FAILURE() << "no error for " << doc.dump();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

TEST(ConfigTest, ParsesLlama) {
  ModelConfig c = parse_model_config(llama_json(), "config.json");
  EXPECT_EQ(c.architecture, "LlamaForCausalLM");
  EXPECT_EQ(c.n_layer, 32);
  EXPECT_EQ(c.n_kv_head, 8);
  EXPECT_EQ(c.head_dim, 128);
  EXPECT_DOUBLE_EQ(c.rope_theta, 500000.0);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kNone);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_FALSE(c.sliding_window.has_value());
  EXPECT_EQ(c.bos_token_id, 1);
  EXPECT_EQ(c.eos_token_ids, (std::vector<std::int64_t>{2, 7}));
  EXPECT_EQ(c.torch_dtype, "bfloat16");
}

TEST(ConfigTest, DefaultsKvHeadsRopeThetaAndTie) {
  json j = llama_json();
  j.erase("num_key_value_heads");
  j.erase("rope_theta");
  j.erase("tie_word_embeddings");
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_EQ(c.n_kv_head, 32);
  EXPECT_DOUBLE_EQ(c.rope_theta, 10000.0);
  EXPECT_FALSE(c.tie_word_embeddings);
}

TEST(ConfigTest, ExplicitHeadDimMayDifferFromHiddenOverHeads) {
  json j = llama_json();
  j["head_dim"] = 256;
  EXPECT_EQ(parse_model_config(j, "config.json").head_dim, 256);
}

TEST(ConfigTest, Qwen2HasQkvBiasAndOptionalSlidingWindow) {
  json j = llama_json();
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["model_type"] = "qwen2";
  j["sliding_window"] = 4096;
  j["use_sliding_window"] = false;
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_TRUE(c.qkv_bias);
  EXPECT_FALSE(c.o_bias);
  EXPECT_FALSE(c.sliding_window.has_value());
  j["use_sliding_window"] = true;
  EXPECT_EQ(parse_model_config(j, "config.json").sliding_window, 4096);
  j["max_window_layers"] = 2;
  ModelConfig windowed = parse_model_config(j, "config.json");
  EXPECT_FALSE(is_sliding_layer(windowed, 1));
  EXPECT_TRUE(is_sliding_layer(windowed, 2));
  EXPECT_EQ(to_json(windowed)["max_window_layers"], 2);
  j["max_window_layers"] = -1;
  EXPECT_THROW(parse_model_config(j, "config.json"), Error);
}

TEST(ConfigTest, MistralSlidingWindowMayBeNull) {
  json j = llama_json();
  j["architectures"] = {"MistralForCausalLM"};
  j["sliding_window"] = nullptr;
  EXPECT_FALSE(parse_model_config(j, "config.json").sliding_window.has_value());
  j["sliding_window"] = 16;
  EXPECT_EQ(parse_model_config(j, "config.json").sliding_window, 16);
}

TEST(ConfigTest, LlamaAttentionBiasAppliesToAllProjections) {
  json j = llama_json();
  j["attention_bias"] = true;
  j["mlp_bias"] = true;
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_TRUE(c.qkv_bias && c.o_bias && c.mlp_bias);
}

TEST(ConfigTest, RopeScalingVariants) {
  json j = llama_json();
  j["rope_scaling"] = {{"rope_type", "llama3"},
                       {"factor", 8.0},
                       {"low_freq_factor", 1.0},
                       {"high_freq_factor", 4.0},
                       {"original_max_position_embeddings", 8192}};
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kLlama3);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  EXPECT_EQ(parse_model_config(j, "config.json").rope_scaling.type, RopeScalingType::kLinear);
  j["rope_scaling"] = {{"rope_type", "default"}};
  EXPECT_EQ(parse_model_config(j, "config.json").rope_scaling.type, RopeScalingType::kNone);
  j["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  expect_error(j, ErrorKind::kUnsupported, {"rope_scaling", "yarn"});
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}};
  expect_error(j, ErrorKind::kInvalidInput, {"low_freq_factor"});
}

TEST(ConfigTest, UnsupportedArchitectureAndActivation) {
  json j = llama_json();
  j["architectures"] = {"GPT2LMHeadModel"};
  expect_error(j, ErrorKind::kUnsupported, {"config.json", "architectures", "GPT2LMHeadModel"});
  j = llama_json();
  j["hidden_act"] = "gelu";
  expect_error(j, ErrorKind::kUnsupported, {"hidden_act", "gelu"});
}

TEST(ConfigTest, BadFieldsNameTheField) {
  struct Case {
    std::string field;
    json value;
    std::string needle;
  };
  std::vector<Case> cases = {
      {"vocab_size", -1, "must be positive"},
      {"vocab_size", "32000", "expected an integer"},
      {"hidden_size", 0, "must be positive"},
      {"hidden_size", 2'000'000, "limit"},
      {"intermediate_size", 1.5, "expected an integer"},
      {"num_hidden_layers", 0, "must be positive"},
      {"num_attention_heads", 0, "must be positive"},
      {"num_key_value_heads", 3, "3 does not divide num_attention_heads 32"},
      {"rms_norm_eps", -1e-5, "positive"},
      {"rms_norm_eps", "x", "expected a number"},
      {"rope_theta", 0, "positive"},
      {"max_position_embeddings", -5, "must be positive"},
      {"tie_word_embeddings", 1, "expected true or false"},
      {"eos_token_id", "2", "eos_token_id"},
      {"bos_token_id", json::array({1, 2}), "bos_token_id"},
      {"architectures", json::array(), "architectures"},
      {"rope_scaling", 3, "rope_scaling"},
      {"head_dim", 15, "even"},
  };
  for (const Case& c : cases) {
    json j = llama_json();
    j[c.field] = c.value;
    SCOPED_TRACE(c.field + " = " + c.value.dump());
    expect_error(j, ErrorKind::kInvalidInput, {"config.json", c.field, c.needle});
  }
  json j = llama_json();
  j.erase("hidden_size");
  expect_error(j, ErrorKind::kInvalidInput, {"missing field 'hidden_size'"});
  j = llama_json();
  j["num_attention_heads"] = 3;
  j["num_key_value_heads"] = 3;
  expect_error(j, ErrorKind::kInvalidInput, {"3 does not divide hidden_size 4096"});
  expect_error(json::array(), ErrorKind::kInvalidInput, {"expected a JSON object"});
}

TEST(ConfigTest, ToJsonRoundTrips) {
  for (std::string arch : {"LlamaForCausalLM", "Qwen2ForCausalLM", "MistralForCausalLM"}) {
    json j = llama_json();
    j["architectures"] = {arch};
    j.erase("model_type");
    j["sliding_window"] = 64;
    j["use_sliding_window"] = true;
    j["rope_scaling"] = {{"rope_type", "llama3"},
                         {"factor", 8.0},
                         {"low_freq_factor", 1.0},
                         {"high_freq_factor", 4.0},
                         {"original_max_position_embeddings", 8192}};
    ModelConfig a = parse_model_config(j, "config.json");
    ModelConfig b = parse_model_config(to_json(a), "to_json");
    EXPECT_EQ(to_json(a), to_json(b)) << arch;
    EXPECT_EQ(a.sliding_window, b.sliding_window) << arch;
    EXPECT_EQ(a.qkv_bias, b.qkv_bias) << arch;
  }
}

TEST(ConfigTest, ParameterCountMatchesLlama2_7B) {
  json j = llama_json();
  j["num_key_value_heads"] = 32;
  j["max_position_embeddings"] = 4096;
  EXPECT_EQ(count_parameters(parse_model_config(j, "config.json")), 6'738'415'616);
}

TEST(ConfigTest, LoadModelConfigNamesTheFile) {
  try {
    load_model_config("/nonexistent/config.json");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("/nonexistent/config.json"), std::string::npos);
  }
}

}  // namespace
}  // namespace enclave
