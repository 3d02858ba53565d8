// The families beyond Llama: what each config.json switches on, the names
// of its tensors, and the round trip through to_json and set_layers.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/error.h"
#include "model/config.h"

namespace enclave {
namespace {

using nlohmann::json;

json base(const std::string& arch, const std::string& type) {
  return {{"architectures", {arch}},  {"model_type", type},       {"vocab_size", 300},
          {"hidden_size", 64},        {"intermediate_size", 128}, {"num_hidden_layers", 6},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"max_position_embeddings", 256}};
}

bool has_name(const ModelConfig& c, const std::string& name) {
  auto shapes = parameter_shapes(c);
  return std::any_of(shapes.begin(), shapes.end(),
                     [&](const ParameterShape& p) { return p.name == name; });
}

// Parsing fails with an error that names `needle` (the field).
void expect_error_mentions(const json& doc, const std::string& needle) {
  try {
    parse_model_config(doc, "config.json");
    ADD_FAILURE() << "no error for " << doc.dump();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

std::vector<bool> pattern(const ModelConfig& c) {
  std::vector<bool> out;
  for (std::int64_t i = 0; i < c.n_layer; ++i) out.push_back(is_sliding_layer(c, i));
  return out;
}

TEST(FamilyConfigTest, Qwen3HasQkNormAndNoBias) {
  json j = base("Qwen3ForCausalLM", "qwen3");
  j["head_dim"] = 32;
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_EQ(c.family, Family::kQwen3);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.head_dim, 32);
  EXPECT_TRUE(has_name(c, "model.layers.0.self_attn.q_norm.weight"));
  EXPECT_FALSE(has_name(c, "model.layers.0.self_attn.q_proj.bias"));
  j["attention_bias"] = true;
  EXPECT_TRUE(has_name(parse_model_config(j, "c"), "model.layers.0.self_attn.o_proj.bias"));
}

TEST(FamilyConfigTest, Gemma2DefaultsAlternateWindowsAndCaps) {
  json j = base("Gemma2ForCausalLM", "gemma2");
  j["head_dim"] = 16;
  j["sliding_window"] = 8;
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_TRUE(c.gemma_norm && c.scale_embeddings && !c.qk_norm);
  EXPECT_EQ(c.activation, Activation::kGeluTanh);
  EXPECT_EQ(c.attn_logit_softcapping, 50.0);
  EXPECT_EQ(c.final_logit_softcapping, 30.0);
  EXPECT_EQ(c.query_pre_attn_scalar, 256.0);
  EXPECT_TRUE(c.tie_word_embeddings);
  EXPECT_EQ(pattern(c), (std::vector<bool>{true, false, true, false, true, false}));
  EXPECT_TRUE(has_name(c, "model.layers.0.pre_feedforward_layernorm.weight"));
  EXPECT_TRUE(has_name(c, "model.layers.0.post_feedforward_layernorm.weight"));
  j["final_logit_softcapping"] = nullptr;
  EXPECT_FALSE(parse_model_config(j, "c").final_logit_softcapping.has_value());
}

TEST(FamilyConfigTest, Gemma3TextConfigInsideAVisionLanguageCheckpoint) {
  json text = {
      {"model_type", "gemma3_text"}, {"hidden_size", 64},
      {"intermediate_size", 96},     {"num_hidden_layers", 7},
      {"sliding_window", 8},         {"rope_scaling", {{"rope_type", "linear"}, {"factor", 8.0}}}};
  json j = {{"architectures", {"Gemma3ForConditionalGeneration"}},
            {"model_type", "gemma3"},
            {"text_config", text},
            {"vision_config", {{"hidden_size", 16}}}};
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_TRUE(c.text_of_multimodal);
  EXPECT_EQ(c.architecture, "Gemma3ForCausalLM");
  EXPECT_EQ(c.vocab_size, 262208);  // Gemma3TextConfig's default
  EXPECT_EQ(c.head_dim, 256);
  EXPECT_EQ(c.rope_local_theta, 10000.0);
  EXPECT_DOUBLE_EQ(c.rope_theta, 1e6);
  EXPECT_TRUE(c.qk_norm);
  EXPECT_FALSE(c.attn_logit_softcapping.has_value());
  // Pattern 6: layers 5 (and 11, ...) are global.
  EXPECT_EQ(pattern(c), (std::vector<bool>{true, true, true, true, true, false, true}));
  // Saved as the text model alone.
  json out = to_json(c);
  EXPECT_EQ(out["architectures"][0], "Gemma3ForCausalLM");
  ModelConfig back = parse_model_config(out, "out");
  EXPECT_FALSE(back.text_of_multimodal);
  EXPECT_EQ(pattern(back), pattern(c));
  EXPECT_EQ(parameter_shapes(back).size(), parameter_shapes(c).size());
  j.erase("text_config");
  EXPECT_THROW(parse_model_config(j, "config.json"), Error);
}

TEST(FamilyConfigTest, ExaoneNamesAndKeys) {
  json j = base("ExaoneForCausalLM", "exaone");
  j.erase("num_hidden_layers");
  j["num_layers"] = 3;
  j["layer_norm_epsilon"] = 1e-5;
  j["activation_function"] = "silu";
  j["tie_word_embeddings"] = false;
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_EQ(c.n_layer, 3);
  EXPECT_DOUBLE_EQ(c.rms_norm_eps, 1e-5);
  for (const char* name :
       {"transformer.wte.weight", "transformer.h.2.ln_1.weight",
        "transformer.h.2.attn.attention.q_proj.weight",
        "transformer.h.2.attn.attention.out_proj.weight", "transformer.h.2.ln_2.weight",
        "transformer.h.2.mlp.c_fc_0.weight", "transformer.h.2.mlp.c_fc_1.weight",
        "transformer.h.2.mlp.c_proj.weight", "transformer.ln_f.weight", "lm_head.weight"}) {
    EXPECT_TRUE(has_name(c, name)) << name;
  }
  EXPECT_EQ(parameter_shapes(c).size(), 3 + 3 * 9u);
  json out = to_json(c);
  EXPECT_EQ(out["num_layers"], 3);
  EXPECT_FALSE(out.contains("num_hidden_layers"));
  EXPECT_EQ(family_module_names(c, {"q_proj", "o_proj", "gate_proj", "c_proj"}),
            (std::vector<std::string>{"q_proj", "out_proj", "c_fc_0", "c_proj"}));
  j["head_dim"] = 32;  // EXAONE derives it from hidden_size
  expect_error_mentions(j, "head_dim");
  j.erase("head_dim");
  j["activation_function"] = "relu";
  expect_error_mentions(j, "activation_function");
}

TEST(FamilyConfigTest, Phi3FusedProjectionsLongRopeAndPartialRotary) {
  json j = base("Phi3ForCausalLM", "phi3");
  j["max_position_embeddings"] = 512;
  j["original_max_position_embeddings"] = 64;
  j["partial_rotary_factor"] = 0.5;
  // head_dim 16, rotary dim 8: four factors each.
  j["rope_scaling"] = {{"type", "longrope"},
                       {"short_factor", {1.0, 1.1, 1.2, 1.3}},
                       {"long_factor", {2.0, 3.0, 4.0, 5.0}}};
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_EQ(rotary_dim(c), 8);
  EXPECT_EQ(c.rope_scaling.type, RopeScalingType::kLongRope);
  EXPECT_EQ(c.rope_scaling.original_max_position_embeddings, 64);
  EXPECT_DOUBLE_EQ(c.rope_scaling.factor, 8.0);
  EXPECT_DOUBLE_EQ(c.rope_scaling.attention_factor, std::sqrt(1 + std::log(8.0) / std::log(64.0)));
  EXPECT_TRUE(has_name(c, "model.layers.0.self_attn.qkv_proj.weight"));
  EXPECT_TRUE(has_name(c, "model.layers.0.mlp.gate_up_proj.weight"));
  EXPECT_FALSE(has_name(c, "model.layers.0.self_attn.q_proj.weight"));
  EXPECT_EQ(family_module_names(c, {"q_proj", "k_proj", "v_proj", "gate_proj", "down_proj"}),
            (std::vector<std::string>{"qkv_proj", "gate_up_proj", "down_proj"}));
  ModelConfig back = parse_model_config(to_json(c), "out");
  EXPECT_DOUBLE_EQ(back.rope_scaling.attention_factor, c.rope_scaling.attention_factor);
  EXPECT_EQ(back.rope_scaling.long_factor, c.rope_scaling.long_factor);
  EXPECT_DOUBLE_EQ(back.partial_rotary_factor, 0.5);
  j["rope_scaling"]["factor"] = 8.0;  // the scale comes from the two contexts
  expect_error_mentions(j, "factor");
  j["rope_scaling"].erase("factor");
  j["rope_scaling"]["long_factor"] = {2.0, 3.0};
  expect_error_mentions(j, "long_factor");
}

TEST(FamilyConfigTest, RefusesWhatTransformersVersionsDisagreeOn) {
  json j = base("Gemma3ForCausalLM", "gemma3_text");
  j["attn_logit_softcapping"] = 50.0;
  expect_error_mentions(j, "attn_logit_softcapping");
  json nested = {{"architectures", {"Gemma3ForConditionalGeneration"}},
                 {"text_config", {{"final_logit_softcapping", 30.0}}}};
  expect_error_mentions(nested, "final_logit_softcapping");
}

TEST(FamilyConfigTest, LayerTypesOverrideAndMustMatchTheLayerCount) {
  json j = base("Qwen3ForCausalLM", "qwen3");
  j["sliding_window"] = 16;
  j["use_sliding_window"] = true;
  j["layer_types"] = {"full_attention",    "sliding_attention", "full_attention",
                      "sliding_attention", "full_attention",    "full_attention"};
  ModelConfig c = parse_model_config(j, "config.json");
  EXPECT_EQ(pattern(c), (std::vector<bool>{false, true, false, true, false, false}));
  EXPECT_EQ(pattern(parse_model_config(to_json(c), "out")), pattern(c));
  j["use_sliding_window"] = false;  // Qwen: no window at all, whatever layer_types says
  EXPECT_FALSE(parse_model_config(j, "config.json").sliding_window.has_value());
  j["use_sliding_window"] = true;
  j["layer_types"] = {"full_attention"};
  EXPECT_THROW(parse_model_config(j, "config.json"), Error);
  j["layer_types"] = {"full_attention", "local",          "full_attention",
                      "full_attention", "full_attention", "full_attention"};
  EXPECT_THROW(parse_model_config(j, "config.json"), Error);
}

TEST(FamilyConfigTest, SetLayersCarriesEachLayersAttentionType) {
  json j = base("Gemma3ForCausalLM", "gemma3_text");
  j["head_dim"] = 16;
  j["sliding_window"] = 8;
  j["sliding_window_pattern"] = 3;
  const ModelConfig c = parse_model_config(j, "config.json");
  ASSERT_EQ(pattern(c), (std::vector<bool>{true, true, false, true, true, false}));
  // SOLAR-style up-scaling with drop 2: layers 0..3 then 2..5.
  json doc = j;
  set_layers(doc, c, {0, 1, 2, 3, 2, 3, 4, 5});
  ModelConfig up = parse_model_config(doc, "up");
  EXPECT_EQ(up.n_layer, 8);
  EXPECT_EQ(pattern(up), (std::vector<bool>{true, true, false, true, false, true, true, false}));
  EXPECT_FALSE(doc.contains("sliding_window_pattern"));

  json ex = base("ExaoneForCausalLM", "exaone");
  ex.erase("num_hidden_layers");
  ex["num_layers"] = 4;
  const ModelConfig e = parse_model_config(ex, "config.json");
  set_layers(ex, e, {0, 1, 2, 1, 2, 3});
  EXPECT_EQ(ex["num_layers"], 6);
  EXPECT_FALSE(ex.contains("num_hidden_layers"));
}

}  // namespace
}  // namespace enclave
