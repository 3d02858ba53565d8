#include "model/fused_decode.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "model/inference_model.h"
#include "model/test_models.h"

namespace enclave {
namespace {

using testing::ScratchDir;

ModelConfig family_config(const std::string& arch, std::int64_t window) {
  nlohmann::json doc = {
      {"architectures", {arch}},        {"vocab_size", 96},         {"hidden_size", 64},
      {"intermediate_size", 80},        {"num_attention_heads", 4}, {"num_key_value_heads", 2},
      {"max_position_embeddings", 128}, {"rms_norm_eps", 1e-5}};
  doc[arch == "ExaoneForCausalLM" ? "num_layers" : "num_hidden_layers"] = 2;
  if (arch.starts_with("Gemma") || arch.starts_with("Qwen3")) doc["head_dim"] = 8;
  if (window > 0) doc["sliding_window"] = window;
  if (arch == "Gemma3ForCausalLM") doc["sliding_window_pattern"] = 2;
  if (arch == "Gemma2ForCausalLM") {
    doc["attn_logit_softcapping"] = 5.0;
    doc["final_logit_softcapping"] = 3.0;
  }
  return parse_model_config(doc, arch);
}

InferenceModel load(const std::filesystem::path& dir, const std::string& dtype) {
  return load_inference_model(dir, EngineOptions{.dtype = dtype}, TokenizerFiles::kOptional);
}

// Every family, with sliding windows shorter than the sequence (ring caches).
TEST(FusedDecodeTest, EqualsTheLibtorchPathForEveryFamily) {
  struct Case {
    std::string arch;
    std::int64_t window;
  };
  const std::vector<Case> cases = {{"LlamaForCausalLM", 0},  {"MistralForCausalLM", 4},
                                   {"Qwen2ForCausalLM", 0},  {"Qwen3ForCausalLM", 0},
                                   {"Gemma2ForCausalLM", 4}, {"Gemma3ForCausalLM", 3},
                                   {"ExaoneForCausalLM", 0}, {"Phi3ForCausalLM", 0}};
  for (const Case& k : cases) {
    ScratchDir dir("fused_" + k.arch);
    const ModelConfig config = family_config(k.arch, k.window);
    testing::write_test_model(dir.path(), config, 7);
    InferenceModel f32 = load(dir.path(), "f32");
    const double diff = testing::fused_decode_difference(*f32.model, 5, 14);
    std::printf("%-20s f32 fused vs libtorch: max relative diff %.3g\n", k.arch.c_str(), diff);
    EXPECT_LT(diff, 1e-5) << k.arch;
    // bf16: the fused path keeps activations in float32 between operations.
    InferenceModel bf16 = load(dir.path(), "bf16");
    const double diff16 = testing::fused_decode_difference(*bf16.model, 5, 14);
    std::printf("%-20s bf16 fused vs libtorch: max relative diff %.3g\n", k.arch.c_str(), diff16);
    EXPECT_LT(diff16, 0.05) << k.arch;
  }
}

TEST(FusedDecodeTest, TiedEmbeddingsMqaAndAllBiases) {
  ModelConfig c = testing::tiny_config();
  c.tie_word_embeddings = true;
  c.n_kv_head = 1;
  c.qkv_bias = c.o_bias = c.mlp_bias = true;
  c.head_dim = 24;  // != hidden / heads
  ScratchDir dir("fused_tied");
  testing::write_test_model(dir.path(), c, 9);
  InferenceModel m = load(dir.path(), "f32");
  EXPECT_LT(testing::fused_decode_difference(*m.model, 3, 12), 1e-5);
}

TEST(FusedDecodeTest, OffWhenAskedOrWithAnAdapterHook) {
  ScratchDir dir("fused_off");
  testing::write_test_model(dir.path(), testing::tiny_config(), 5);
  InferenceModel m = load(dir.path(), "f32");
  EXPECT_TRUE(FusedDecoder::create(*m.model));
  ::setenv("ENCLAVE_FUSED_DECODE", "0", 1);
  EXPECT_FALSE(FusedDecoder::create(*m.model));
  ::unsetenv("ENCLAVE_FUSED_DECODE");
  struct Zero : LinearAdapter {
    torch::Tensor forward(const torch::Tensor&) override { return {}; }
  };
  auto& layer = *m.model->model_->layers_[0]->as<DecoderLayerImpl>();
  layer.mlp_->down_proj_->adapter_ = std::make_shared<Zero>();
  EXPECT_FALSE(FusedDecoder::create(*m.model));
}

}  // namespace
}  // namespace enclave
