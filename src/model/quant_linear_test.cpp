// quant_linear against the dequantise-then-matmul reference (the kernel path
// for few rows, the dequantising path for many, f32 and bf16 activations),
// and a tiny model exported as Q8_0 / Q4_0 / Q4_K_M GGUF and loaded quantised
// against its f32 source on held-out text.
#include "model/quant_linear.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "core/error.h"
#include "core/scratch_dir_testing.h"
#include "model/engine.h"
#include "model/gguf_export.h"
#include "model/gguf_import.h"
#include "model/gguf_reader.h"
#include "model/inference_model.h"
#include "model/test_models.h"

namespace enclave {
namespace {

using testing::ScratchDir;

TEST(QuantLinearTest, MatchesTheDequantizedReferenceOnBothPaths) {
  const std::int64_t n = 48, k = 256;
  torch::manual_seed(0);
  const torch::Tensor wf = torch::randn({n, k}) * 0.05;
  const torch::Tensor bias = torch::randn({n});
  for (QuantType type : {QuantType::kQ8_0, QuantType::kQ4_0, QuantType::kQ4_K, QuantType::kQ6_K}) {
    std::vector<std::uint8_t> bytes = quantize_weights(
        type, std::span<const float>(wf.data_ptr<float>(), static_cast<std::size_t>(n * k)));
    const QuantMatrix w{type, n, k, bytes.data(), nullptr};
    const torch::Tensor wd = dequantize(w, torch::kFloat32);
    for (std::int64_t m : {std::int64_t{1}, std::int64_t{3}, kDequantizeRows + 4}) {
      const torch::Tensor x = torch::randn({1, m, k});
      const torch::Tensor want = torch::linear(x, wd, bias);
      const torch::Tensor got = quant_linear(x, w, bias);
      ASSERT_EQ(got.sizes(), want.sizes());
      // Few rows quantise x to int8 (within amax / 254 per element, see
      // quant_kernels_test.cpp): 2% of the output scale; many rows only
      // reassociate float sums.
      const double tol = m < kDequantizeRows ? 0.02 * want.abs().max().item<double>() : 1e-4;
      const double diff = (got - want).abs().max().item<double>();
      std::printf("%s m=%lld f32: maxdiff %.3g (tolerance %.3g)\n", quant_type_name(type).data(),
                  static_cast<long long>(m), diff, tol);
      EXPECT_LE(diff, tol);
      const torch::Tensor got_bf16 = quant_linear(x.to(torch::kBFloat16), w, bias);
      EXPECT_EQ(got_bf16.scalar_type(), torch::kBFloat16);
      // bf16 keeps 8 bits of mantissa: 2^-8 of the output scale on top.
      EXPECT_LE((got_bf16.to(torch::kFloat32) - want).abs().max().item<double>(),
                tol + 0.02 * want.abs().max().item<double>());
    }
    const torch::Tensor ids = torch::tensor({{3, 0, 47}});
    EXPECT_TRUE(torch::equal(quant_embedding(ids, w, torch::kFloat32),
                             wd.index_select(0, ids[0]).unsqueeze(0)));
  }
}

// The tiny preset exported as GGUF and loaded with its matrices quantised.
class QuantModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("quant-model");
    init_model("tiny", dir_->path() / "f32", /*seed=*/3);
    for (const char* type : {"q8_0", "q4_0", "q4_k_m"}) {
      const auto gguf = dir_->path() / (std::string(type) + ".gguf");
      export_gguf(dir_->path() / "f32", gguf, {.type = parse_gguf_type(type)});
      n_quantized_[type] =
          import_gguf(gguf, dir_->path() / type, {.keep_quantized = true}).n_quantized;
    }
  }
  static void TearDownTestSuite() { delete dir_; }
  static ScratchDir* dir_;
  static std::map<std::string, std::size_t> n_quantized_;
};
ScratchDir* QuantModelTest::dir_ = nullptr;
std::map<std::string, std::size_t> QuantModelTest::n_quantized_;

// Per token log-probabilities of `tokens` after the first, decoding
// `chunk` tokens at a time after the context (so the products have fewer
// than kDequantizeRows rows and run on the quantised kernels).
std::vector<double> decode_logprobs(const Engine& engine, const std::vector<TokenId>& tokens,
                                    std::size_t chunk) {
  std::vector<double> out;
  for (std::size_t i = 1; i < tokens.size(); i += chunk) {
    const std::vector<TokenId> context(tokens.begin(), tokens.begin() + i);
    const std::vector<TokenId> next(tokens.begin() + i,
                                    tokens.begin() + std::min(tokens.size(), i + chunk));
    const std::vector<Engine::SequenceScores> scores = engine.score_continuations(context, {next});
    out.insert(out.end(), scores[0].logprobs.begin(), scores[0].logprobs.end());
  }
  return out;
}

double perplexity(const std::vector<double>& logprobs) {
  double sum = 0;
  for (double lp : logprobs) sum += lp;
  return std::exp(-sum / static_cast<double>(logprobs.size()));
}

TEST_F(QuantModelTest, MatricesStayQuantisedAndPerplexityStaysWithinTheStatedIncrease) {
  // 4 layers x (q, k, v, o, gate, up) + embeddings + lm_head; down_proj's
  // rows (688) do not fill blocks, so export writes it f16. Q4_K_M: Q6_K
  // for lm_head and the v_proj of layers 2 and 3 (llama.cpp's mix), Q4_K
  // for the rest.
  for (const char* type : {"q8_0", "q4_0", "q4_k_m"}) EXPECT_EQ(n_quantized_[type], 26u) << type;
  const GgufFile kept(dir_->path() / "q4_0" / kQuantWeightsFile);
  ASSERT_NE(kept.tensor("model.layers.0.self_attn.q_proj.weight"), nullptr);
  EXPECT_EQ(kept.tensor("model.layers.0.self_attn.q_proj.weight")->type, GgmlType::kQ4_0);
  const GgufFile kept_k(dir_->path() / "q4_k_m" / kQuantWeightsFile);
  for (const auto& [name, type] :
       {std::pair{"model.layers.1.self_attn.q_proj.weight", GgmlType::kQ4_K},
        std::pair{"model.layers.0.self_attn.v_proj.weight", GgmlType::kQ4_K},
        std::pair{"model.layers.2.self_attn.v_proj.weight", GgmlType::kQ6_K},
        std::pair{"model.embed_tokens.weight", GgmlType::kQ4_K},
        std::pair{"lm_head.weight", GgmlType::kQ6_K}}) {
    ASSERT_NE(kept_k.tensor(name), nullptr) << name;
    EXPECT_EQ(kept_k.tensor(name)->type, type) << name;
  }

  const auto source = Engine::load(dir_->path() / "f32", {});
  const std::vector<TokenId> text = source->tokenizer()->encode(
      "The river rose in the night, and by morning the low fields were a lake. Farmers moved "
      "their animals to the hill, counted what was lost, and waited for the water to go down.",
      /*add_special=*/false);
  ASSERT_GT(text.size(), 30u);
  const double ppl_source = perplexity(source->score(text));
  // Stated bounds: the perplexity of the quantised model on this held-out
  // text is at most 1% (Q8_0) / 5% (Q4_0, Q4_K_M) above the f32 source's,
  // on the prefill path and on the decode kernels of the AVX2 and AVX-512
  // paths.
  for (const auto& [type, bound] :
       {std::pair{"q8_0", 0.01}, std::pair{"q4_0", 0.05}, std::pair{"q4_k_m", 0.05}}) {
    const auto quantised = Engine::load(dir_->path() / type, {});
    const double prefill = perplexity(quantised->score(text)) / ppl_source - 1;
    std::printf("%s: perplexity %.3f (f32 %.3f), prefill path +%.4f%%\n", type,
                perplexity(quantised->score(text)), ppl_source, 100 * prefill);
    EXPECT_LE(std::fabs(prefill), bound) << type;
    const QuantIsa best = detect_quant_isa();
    // The scalar path is checked against the others in quant_kernels_test.cpp.
    for (QuantIsa isa : {QuantIsa::kAvx2, QuantIsa::kAvx512}) {
      if (isa > best) continue;
      set_quant_isa(isa);
      const double decode = perplexity(decode_logprobs(*quantised, text, 7)) / ppl_source - 1;
      std::printf("%s %s: decode kernels +%.4f%%\n", type, quant_isa_name(isa).data(),
                  100 * decode);
      EXPECT_LE(std::fabs(decode), bound) << type << " " << quant_isa_name(isa);
    }
    set_quant_isa(best);
  }
}

// The fused decode step on quantised weights (the same kernels, activations
// quantised the same way) against the libtorch path, f32 and bf16.
TEST_F(QuantModelTest, FusedDecodeEqualsTheLibtorchPath) {
  for (const char* type : {"q8_0", "q4_0", "q4_k_m"}) {
    for (const char* dtype : {"f32", "bf16"}) {
      InferenceModel m = load_inference_model(dir_->path() / type, EngineOptions{.dtype = dtype},
                                              TokenizerFiles::kOptional);
      const double diff = testing::fused_decode_difference(*m.model, 4, 12);
      std::printf("%s %s: fused vs libtorch decode, max relative diff %.3g\n", type, dtype, diff);
      // The norms' float sums differ from libtorch's in order only, but an
      // activation one ulp apart can round to the next Q8 code (a step of
      // amax / 127 in one element), which later layers carry on: 2% of the
      // logit scale, as quant_linear's own tolerance; bf16 as in
      // fused_decode_test.cpp.
      EXPECT_LT(diff, std::string(dtype) == "f32" ? 0.02 : 0.05) << type << " " << dtype;
    }
  }
}

// export_gguf of a folder imported with its matrices kept quantised: in its
// own type every tensor's type and bytes are those of the file it was
// imported from (llama's q/k rows permuted back; nothing re-quantised), f32
// decodes them, another quantised type is refused naming the kept one.
TEST_F(QuantModelTest, ExportOfAQuantisedFolderKeepsItsBlocks) {
  for (const char* type : {"q4_k_m", "q4_0"}) {
    const auto dir = dir_->path() / type;
    const GgmlType own = parse_gguf_type(type);
    ASSERT_EQ(quantized_export_type(dir), own) << type;
    const auto out = dir_->path() / (std::string(type) + "-again.gguf");
    export_gguf(dir, out, {.type = own});
    const GgufFile want(dir_->path() / (std::string(type) + ".gguf")), got(out);
    ASSERT_EQ(got.tensors().size(), want.tensors().size()) << type;
    std::size_t n_quantized = 0;
    for (const GgufTensor& t : want.tensors()) {
      const GgufTensor* g = got.tensor(t.name);
      ASSERT_NE(g, nullptr) << t.name;
      EXPECT_EQ(g->type, t.type) << t.name;
      EXPECT_TRUE(std::equal(t.data.begin(), t.data.end(), g->data.begin(), g->data.end()))
          << type << " " << t.name;
      n_quantized += ggml_block_size(t.type) > 1;
    }
    EXPECT_EQ(n_quantized, n_quantized_[type]) << type;

    const auto f32 = dir_->path() / (std::string(type) + "-f32.gguf");
    export_gguf(dir, f32, {.type = GgmlType::kF32});
    const GgufFile decoded(f32);
    const GgufTensor* q = want.tensor("blk.1.attn_q.weight");
    ASSERT_NE(q, nullptr);
    std::vector<float> values(q->shape[0] * q->shape[1]);
    ggml_decode(q->type, q->data, values);
    const GgufTensor* q32 = decoded.tensor("blk.1.attn_q.weight");
    ASSERT_NE(q32, nullptr);
    EXPECT_EQ(q32->type, GgmlType::kF32);
    EXPECT_EQ(std::memcmp(q32->data.data(), values.data(), values.size() * sizeof(float)), 0);

    try {
      export_gguf(dir, dir_->path() / "refused.gguf", {.type = GgmlType::kQ8_0});
      ADD_FAILURE() << type << ": q8_0 export of a quantised folder was not refused";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(std::string("exports as ") + type), std::string::npos)
          << e.what();
    }
  }
}

}  // namespace
}  // namespace enclave
