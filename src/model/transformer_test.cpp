#include "model/transformer.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "model/test_models.h"
#include "model/weights.h"

namespace enclave {
namespace {

using testing::ScratchDir;

Transformer load(const std::filesystem::path& dir, torch::Dtype dtype = torch::kFloat32) {
  Transformer m(load_model_config(dir / "config.json"), dtype);
  load_weights(*m, WeightFiles(dir), {});
  return m;
}

torch::Tensor ids_of(const std::vector<std::int64_t>& ids) {
  return torch::tensor(ids, torch::kInt64).view({1, -1});
}

std::vector<std::int64_t> sequence(std::int64_t n, std::int64_t vocab, std::int64_t salt = 0) {
  std::vector<std::int64_t> out;
  for (std::int64_t i = 0; i < n; ++i) out.push_back((i * 37 + 11 + salt * 13) % vocab);
  return out;
}

TEST(TransformerTest, ParameterNamesAndShapesAreTheCheckpoints) {
  for (const std::string arch : {"LlamaForCausalLM", "Qwen2ForCausalLM"}) {
    for (bool tied : {false, true}) {
      ModelConfig c = testing::tiny_config(arch);
      c.tie_word_embeddings = tied;
      c.mlp_bias = arch == "LlamaForCausalLM";
      c.o_bias = arch == "LlamaForCausalLM";
      Transformer m(c, torch::kFloat32);
      auto params = m->named_parameters();
      std::vector<ParameterShape> expected = parameter_shapes(c);
      ASSERT_EQ(params.size(), expected.size());
      for (std::size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(params[i].key(), expected[i].name);
        EXPECT_EQ(params[i].value().sizes(), c10::IntArrayRef(expected[i].shape))
            << expected[i].name;
      }
    }
  }
}

// Every family's module tree has exactly the checkpoint's tensor names.
TEST(TransformerTest, EveryFamilyRegistersItsCheckpointNames) {
  const nlohmann::json base = {{"vocab_size", 64},         {"hidden_size", 32},
                               {"intermediate_size", 48},  {"num_attention_heads", 4},
                               {"num_key_value_heads", 2}, {"max_position_embeddings", 64}};
  for (const char* arch :
       {"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM",
        "Gemma2ForCausalLM", "Gemma3ForCausalLM", "ExaoneForCausalLM", "Phi3ForCausalLM"}) {
    nlohmann::json doc = base;
    doc["architectures"] = {arch};
    doc[std::string(arch) == "ExaoneForCausalLM" ? "num_layers" : "num_hidden_layers"] = 2;
    if (std::string(arch).starts_with("Gemma") || std::string(arch).starts_with("Qwen3"))
      doc["head_dim"] = 8;
    const ModelConfig c = parse_model_config(doc, arch);
    Transformer m(c, torch::kFloat32);
    auto params = m->named_parameters();
    std::vector<ParameterShape> expected = parameter_shapes(c);
    ASSERT_EQ(params.size(), expected.size()) << arch;
    for (std::size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(params[i].key(), expected[i].name) << arch;
      EXPECT_EQ(params[i].value().sizes(), c10::IntArrayRef(expected[i].shape)) << arch;
    }
  }
}

struct Variant {
  std::string name;
  ModelConfig config;
};

std::vector<Variant> variants() {
  std::vector<Variant> v;
  v.push_back({"llama-gqa", testing::tiny_config()});
  v.push_back({"qwen2-bias", testing::tiny_config("Qwen2ForCausalLM")});
  ModelConfig mistral = testing::tiny_config("MistralForCausalLM");
  mistral.sliding_window = 5;
  mistral.sliding_layers.assign(mistral.n_layer, true);
  v.push_back({"mistral-window5", mistral});
  ModelConfig head_dim = testing::tiny_config();
  head_dim.head_dim = 24;  // != hidden / heads
  v.push_back({"llama-head-dim-24", head_dim});
  ModelConfig tied = testing::tiny_config();
  tied.tie_word_embeddings = true;
  v.push_back({"llama-tied", tied});
  ModelConfig mha = testing::tiny_config();
  mha.n_kv_head = 4;
  v.push_back({"llama-mha", mha});
  ModelConfig mqa = testing::tiny_config();
  mqa.n_kv_head = 1;
  mqa.qkv_bias = mqa.o_bias = mqa.mlp_bias = true;
  v.push_back({"llama-mqa-all-bias", mqa});
  return v;
}

TEST(TransformerTest, MatchesPlainFloat64Reference) {
  for (const Variant& v : variants()) {
    ScratchDir dir("ref_" + v.name);
    testing::write_test_model(dir.path(), v.config, 11);
    Transformer m = load(dir.path());
    std::vector<std::int64_t> ids = sequence(12, v.config.vocab_size);
    torch::Tensor ours;
    {
      c10::InferenceMode guard;
      ours = m->forward(ids_of(ids)).select(0, 0);
    }
    torch::Tensor ref = testing::reference_logits(dir.path(), v.config, ids);
    double diff = testing::max_abs_diff(ours, ref);
    std::printf("%-20s vs float64 reference: max diff %.3g (logit scale %.3g)\n", v.name.c_str(),
                diff, ref.abs().max().item<double>());
    EXPECT_LT(diff, 1e-4) << v.name;
  }
}

TEST(TransformerTest, SlidingWindowChangesLogitsBeyondTheWindow) {
  ModelConfig c = testing::tiny_config("MistralForCausalLM");
  ScratchDir dir("window");
  testing::write_test_model(dir.path(), c, 5);
  Transformer full = load(dir.path());
  c.sliding_window = 4;
  c.sliding_layers.assign(c.n_layer, true);
  Transformer windowed(c, torch::kFloat32);
  load_weights(*windowed, WeightFiles(dir.path()), {});
  c10::InferenceMode guard;
  torch::Tensor a = full->forward(ids_of(sequence(10, c.vocab_size))).select(0, 0);
  torch::Tensor b = windowed->forward(ids_of(sequence(10, c.vocab_size))).select(0, 0);
  EXPECT_EQ(testing::max_abs_diff(a.slice(0, 0, 4), b.slice(0, 0, 4)), 0.0);  // inside the window
  EXPECT_GT(testing::max_abs_diff(a.slice(0, 4), b.slice(0, 4)), 1e-4);
}

TEST(TransformerTest, KvCacheLogitsEqualFullForward) {
  for (const Variant& v : variants()) {
    ScratchDir dir("kv_" + v.name);
    testing::write_test_model(dir.path(), v.config, 13);
    Transformer m = load(dir.path());
    c10::InferenceMode guard;
    std::vector<std::int64_t> ids = sequence(14, v.config.vocab_size, 1);
    torch::Tensor full = m->forward(ids_of(ids)).select(0, 0);
    // Prefill 6, a chunk of 3, then one token at a time.
    KvCache cache(v.config, 1, 14, torch::dtype(torch::kFloat32));
    std::vector<torch::Tensor> parts;
    std::vector<std::pair<int, int>> steps = {{0, 6}, {6, 9}};
    for (int i = 9; i < 14; ++i) steps.push_back({i, i + 1});
    for (auto [begin, end] : steps) {
      std::vector<std::int64_t> chunk(ids.begin() + begin, ids.begin() + end);
      parts.push_back(m->forward(ids_of(chunk), &cache, begin).select(0, 0));
    }
    double diff = testing::max_abs_diff(torch::cat(parts, 0), full);
    std::printf("%-20s kv cache vs full forward: max diff %.3g\n", v.name.c_str(), diff);
    EXPECT_LT(diff, 1e-5) << v.name;
  }
}

TEST(TransformerTest, LeftPaddedBatchEqualsUnbatched) {
  for (const Variant& v : variants()) {
    ScratchDir dir("pad_" + v.name);
    testing::write_test_model(dir.path(), v.config, 17);
    Transformer m = load(dir.path());
    c10::InferenceMode guard;
    std::vector<std::int64_t> a = sequence(9, v.config.vocab_size, 2);
    std::vector<std::int64_t> b = sequence(5, v.config.vocab_size, 3);
    const std::int64_t pad = 4;
    std::vector<std::int64_t> rows(a);
    for (int i = 0; i < pad; ++i) rows.push_back(0);  // pad token id is arbitrary
    rows.insert(rows.end(), b.begin(), b.end());
    torch::Tensor batch = torch::tensor(rows, torch::kInt64).view({2, 9});
    torch::Tensor n_pad = torch::tensor(std::vector<std::int64_t>{0, pad}, torch::kInt64);

    KvCache cache(v.config, 2, 10, torch::dtype(torch::kFloat32));
    torch::Tensor batched = m->forward(batch, &cache, 0, n_pad);
    // One decode step for both rows after the batched prefill.
    torch::Tensor next = torch::tensor(std::vector<std::int64_t>{7, 8}, torch::kInt64).view({2, 1});
    torch::Tensor step = m->forward(next, &cache, 9, n_pad);

    std::vector<std::int64_t> a2(a), b2(b);
    a2.push_back(7);
    b2.push_back(8);
    torch::Tensor ref_a = m->forward(ids_of(a2)).select(0, 0);
    torch::Tensor ref_b = m->forward(ids_of(b2)).select(0, 0);
    double diff = std::max({testing::max_abs_diff(batched[0], ref_a.slice(0, 0, 9)),
                            testing::max_abs_diff(batched[1].slice(0, pad), ref_b.slice(0, 0, 5)),
                            testing::max_abs_diff(step[0][0], ref_a[9]),
                            testing::max_abs_diff(step[1][0], ref_b[5])});
    std::printf("%-20s left-padded batch vs unbatched: max diff %.3g\n", v.name.c_str(), diff);
    EXPECT_LT(diff, 1e-5) << v.name;
    EXPECT_FALSE(torch::isnan(batched).any().item<bool>());
  }
}

TEST(TransformerTest, Bf16CloseToF32) {
  ModelConfig c = testing::tiny_config();
  ScratchDir dir("bf16");
  testing::write_test_model(dir.path(), c, 19, {.std = 0.1});
  Transformer f32 = load(dir.path());
  Transformer bf16 = load(dir.path(), torch::kBFloat16);
  EXPECT_EQ(bf16->output_weight().scalar_type(), torch::kBFloat16);
  c10::InferenceMode guard;
  std::vector<std::int64_t> ids = sequence(32, c.vocab_size, 4);
  torch::Tensor a = f32->forward(ids_of(ids)).select(0, 0);
  torch::Tensor b = bf16->forward(ids_of(ids)).select(0, 0).to(torch::kFloat32);
  const double diff = testing::max_abs_diff(a, b);
  const double scale = a.abs().max().item<double>();
  const double agree = (a.argmax(-1) == b.argmax(-1)).to(torch::kFloat32).mean().item<double>();
  std::printf("bf16 vs f32: max diff %.3g, logit scale %.3g, top-1 agreement %.2f\n", diff, scale,
              agree);
  EXPECT_LT(diff, 0.05 * scale);
  EXPECT_GE(agree, 0.9);
}

TEST(TransformerTest, ParseDtypeAndDevice) {
  EXPECT_EQ(parse_compute_dtype("f32"), torch::kFloat32);
  EXPECT_EQ(parse_compute_dtype("bf16"), torch::kBFloat16);
  EXPECT_THROW(parse_compute_dtype("fp8"), Error);
  EXPECT_TRUE(parse_device("cpu").is_cpu());
  EXPECT_THROW(parse_device("gpu0"), Error);
  if (!torch::cuda::is_available()) {
    try {
      parse_device("cuda");
      FAIL();
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kUnsupported);
    }
  }
}

}  // namespace
}  // namespace enclave
