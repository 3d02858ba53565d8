#include "model/init.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/file.h"
#include "model/engine.h"
#include "model/safetensors.h"
#include "model/test_models.h"

namespace enclave {
namespace {

using testing::ScratchDir;

std::map<std::string, std::string> files_of(const std::filesystem::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    out[entry.path().filename().string()] = read_file(entry.path());
  }
  return out;
}

TEST(InitTest, SameSeedGivesByteIdenticalFiles) {
  ScratchDir root("init_seed");
  init_model("tiny", root / "a", 3);
  init_model("tiny", root / "b", 3);
  init_model("tiny", root / "c", 4);
  auto a = files_of(root / "a");
  EXPECT_TRUE(a.count("config.json") && a.count("model.safetensors") &&
              a.count("generation_config.json") && a.count("tokenizer.json"));
  EXPECT_EQ(a, files_of(root / "b"));
  auto c = files_of(root / "c");
  EXPECT_NE(a["model.safetensors"], c["model.safetensors"]);
  EXPECT_EQ(a["config.json"], c["config.json"]);
  // Nothing but the three model directories is left in the parent.
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(root.path()),
                          std::filesystem::directory_iterator()),
            3);
}

TEST(InitTest, TinyModelLoadsAndInspects) {
  ScratchDir root("init_inspect");
  init_model("tiny", root / "m", 0);
  nlohmann::json s = inspect_model(root / "m");
  ModelConfig c = preset_config("tiny");
  EXPECT_EQ(s["architecture"], "LlamaForCausalLM");
  EXPECT_EQ(s["n_parameters"].get<std::int64_t>(), count_parameters(c));
  EXPECT_GT(count_parameters(c), 2'000'000);
  EXPECT_LT(count_parameters(c), 10'000'000);
  EXPECT_EQ(s["n_layer"], 4);
  EXPECT_EQ(s["n_kv_head"], 4);
  EXPECT_EQ(s["dtypes"]["F32"]["tensors"].get<int>(), static_cast<int>(parameter_shapes(c).size()));
  EXPECT_TRUE(s["tokenizer"].is_object());
  std::string text = format_inspect(s);
  EXPECT_NE(text.find("architecture"), std::string::npos);
  EXPECT_NE(text.find("LlamaForCausalLM"), std::string::npos);
  EXPECT_NE(text.find("kv heads"), std::string::npos);
  std::printf("%s", text.c_str());

  auto engine = Engine::load(root / "m", {});
  EXPECT_EQ(engine->n_parameters(), count_parameters(c));
  ModelConfig loaded = engine->config();
  EXPECT_EQ(loaded.bos_token_id.has_value(), engine->tokenizer()->bos_id().has_value());
}

TEST(InitTest, FromAnyConfigInBf16WithAGivenTokenizer) {
  ScratchDir root("init_config");
  init_model("tiny", root / "donor", 0);  // its tokenizer (1024 ids) is reused
  root.write("qwen2.json", R"({
    "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 1100,
    "hidden_size": 64, "intermediate_size": 160, "num_hidden_layers": 2,
    "num_attention_heads": 4, "num_key_value_heads": 2, "max_position_embeddings": 512,
    "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "tie_word_embeddings": true,
    "initializer_range": 0.5, "eos_token_id": [7, 8], "custom_field": "kept"})");
  init_model_from_config(root / "qwen2.json", root / "m", 1,
                         {.dtype = DType::kBF16, .tokenizer = root / "donor"});
  nlohmann::json config = nlohmann::json::parse(read_file(root / "m" / "config.json"));
  EXPECT_EQ(config["custom_field"], "kept");
  EXPECT_EQ(config["torch_dtype"], "bfloat16");
  nlohmann::json generation =
      nlohmann::json::parse(read_file(root / "m" / "generation_config.json"));
  EXPECT_EQ(generation["eos_token_id"], nlohmann::json({7, 8}));
  EXPECT_EQ(read_file(root / "m" / "tokenizer.json"), read_file(root / "donor" / "tokenizer.json"));

  nlohmann::json s = inspect_model(root / "m");
  EXPECT_EQ(s["architecture"], "Qwen2ForCausalLM");
  EXPECT_EQ(s["dtypes"].size(), 1u);
  EXPECT_TRUE(s["dtypes"].contains("BF16"));
  // Weights ~ normal(0, initializer_range), rounded to bf16; biases zero.
  auto engine = Engine::load(root / "m", {});
  EXPECT_EQ(engine->config().vocab_size, 1100);

  // bf16 and f32 files of one seed hold the same values up to bf16 rounding.
  init_model_from_config(root / "qwen2.json", root / "f32", 1, {.tokenizer = root / "donor"});
  SafetensorsFile half(root / "m" / "model.safetensors");
  SafetensorsFile full(root / "f32" / "model.safetensors");
  const std::string name = "model.layers.0.mlp.up_proj.weight";
  ASSERT_TRUE(half.find(name) && full.find(name));
  std::span<const std::uint8_t> h = half.data(*half.find(name));
  std::span<const std::uint8_t> f = full.data(*full.find(name));
  ASSERT_EQ(h.size() * 2, f.size());
  double sum_sq = 0;
  for (std::size_t i = 0; i < h.size() / 2; ++i) {
    float value = 0;
    std::memcpy(&value, f.data() + 4 * i, 4);
    std::uint32_t bits =
        static_cast<std::uint32_t>(h[2 * i]) << 16 | static_cast<std::uint32_t>(h[2 * i + 1]) << 24;
    float rounded = 0;
    std::memcpy(&rounded, &bits, 4);
    EXPECT_LE(std::abs(rounded - value), std::abs(value) / 256 + 1e-30) << i;
    sum_sq += value * value;
  }
  EXPECT_NEAR(std::sqrt(sum_sq / static_cast<double>(h.size() / 2)), 0.5, 0.05);
}

TEST(InitTest, FromConfigErrors) {
  ScratchDir root("init_config_errors");
  root.write("bad.json", R"({"model_type": "llama"})");
  EXPECT_THROW(init_model_from_config(root / "bad.json", root / "a", 0), Error);
  root.write("small_vocab.json", R"({"architectures": ["LlamaForCausalLM"], "model_type": "llama",
    "vocab_size": 10, "hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1,
    "num_attention_heads": 2, "num_key_value_heads": 2})");
  init_model("tiny", root / "donor", 0);
  try {
    init_model_from_config(root / "small_vocab.json", root / "b", 0, {.tokenizer = root / "donor"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("vocab_size 10"), std::string::npos) << e.what();
  }
  try {
    init_model_from_config(root / "small_vocab.json", root / "c", 0, {.tokenizer = root.path()});
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  EXPECT_FALSE(std::filesystem::exists(root / "b"));
  EXPECT_FALSE(std::filesystem::exists(root / "c"));
}

TEST(InitTest, SmallPresetIsAbout100M) {
  const std::int64_t n = count_parameters(preset_config("small"));
  EXPECT_GT(n, 80'000'000);
  EXPECT_LT(n, 120'000'000);
}

TEST(InitTest, RefusesNonEmptyDirectoryAndUnknownPreset) {
  ScratchDir root("init_refuse");
  write_file_atomic(root / "keep.txt", "x");
  try {
    init_model("tiny", root.path(), 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_NE(std::string(e.what()).find("not empty"), std::string::npos);
  }
  EXPECT_EQ(read_file(root / "keep.txt"), "x");
  EXPECT_THROW(init_model("huge", root / "new", 0), Error);
  EXPECT_FALSE(std::filesystem::exists(root / "new"));
  // An existing empty directory is fine.
  std::filesystem::create_directory(root / "empty");
  init_model("tiny", root / "empty", 0);
  EXPECT_TRUE(std::filesystem::exists(root / "empty" / "model.safetensors"));
}

TEST(InitTest, InspectErrors) {
  EXPECT_THROW(inspect_model("/nonexistent/model"), Error);
  ScratchDir root("inspect_bad");
  try {
    inspect_model(root.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("config.json"), std::string::npos);
  }
  write_file_atomic(root / "config.json", to_json(testing::tiny_config()).dump());
  try {
    inspect_model(root.path());
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
    EXPECT_NE(std::string(e.what()).find("model.safetensors"), std::string::npos);
  }
}

}  // namespace
}  // namespace enclave
