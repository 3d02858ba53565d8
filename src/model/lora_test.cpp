#include "model/lora.h"

#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/file.h"
#include "model/engine.h"
#include "model/test_models.h"
#include "model/weights.h"

namespace enclave {
namespace {

using testing::max_abs_diff;
using testing::ScratchDir;

Transformer load_model(const std::filesystem::path& dir, const ModelConfig& config) {
  Transformer model(config, torch::kFloat32);
  load_weights(*model, WeightFiles(dir), LoadOptions{.device = torch::kCPU, .allow_mmap = false});
  return model;
}

torch::Tensor logits_of(Transformer& model) {
  torch::NoGradGuard no_grad;
  return model->forward(torch::tensor({{1, 5, 9, 33, 2, 70, 4}}, torch::kInt64));
}

// Gives every B random values so the adapter changes the output.
void randomise_b(LoraAdapter& adapter) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  for (auto& [name, t] : adapter.named_parameters()) {
    if (name.find("lora_B") != std::string::npos) t.normal_(0, 0.05);
  }
}

class LoraTest : public ::testing::Test {
 protected:
  LoraTest() : dir_("lora_test"), config_(testing::tiny_config()) {
    testing::write_test_model(dir_ / "base", config_, 11);
  }
  ScratchDir dir_;
  ModelConfig config_;
};

TEST_F(LoraTest, ZeroInitialisedBGivesBaseLogits) {
  Transformer model = load_model(dir_ / "base", config_);
  torch::Tensor base = logits_of(model);
  LoraConfig lc;
  lc.r = 4;
  lc.target_modules = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"};
  auto adapter = LoraAdapter::attach_new(*model, lc, 1);
  EXPECT_EQ(adapter->named_parameters().size(),
            2u * 7u * static_cast<std::size_t>(config_.n_layer));
  const double diff = max_abs_diff(logits_of(model), base);
  std::printf("zero-B adapter vs base: max diff %.3g\n", diff);
  EXPECT_EQ(diff, 0.0);
  // A is PEFT's kaiming-uniform: within +-1/sqrt(in), not all zero.
  const torch::Tensor a = adapter->named_parameters()[0].second;
  EXPECT_LE(a.abs().max().item<double>(),
            1.0 / std::sqrt(static_cast<double>(config_.hidden_size)) + 1e-7);
  EXPECT_GT(a.abs().max().item<double>(), 0.0);
}

TEST_F(LoraTest, DisabledAdapterGivesBaseAndEnabledChangesOutput) {
  Transformer model = load_model(dir_ / "base", config_);
  torch::Tensor base = logits_of(model);
  auto adapter = LoraAdapter::attach_new(*model, LoraConfig{}, 2);
  randomise_b(*adapter);
  EXPECT_GT(max_abs_diff(logits_of(model), base), 1e-4);
  adapter->set_enabled(false);
  EXPECT_EQ(max_abs_diff(logits_of(model), base), 0.0);
  adapter->set_enabled(true);
  adapter->detach();
  EXPECT_EQ(max_abs_diff(logits_of(model), base), 0.0);
}

TEST_F(LoraTest, SaveWritesPeftNamesAndLoadRoundTrips) {
  Transformer model = load_model(dir_ / "base", config_);
  LoraConfig lc;
  lc.r = 2;
  lc.alpha = 8;
  lc.use_rslora = true;
  auto adapter = LoraAdapter::attach_new(*model, lc, 3);
  randomise_b(*adapter);
  torch::Tensor adapted = logits_of(model);
  std::filesystem::create_directories(dir_ / "adapter");
  adapter->save_files(dir_ / "adapter");

  SafetensorsFile file(dir_ / "adapter" / kAdapterWeightsFile);
  EXPECT_NE(file.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"), nullptr);
  EXPECT_NE(file.find("base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"), nullptr);
  EXPECT_EQ(file.tensors().size(), 2u * 2u * static_cast<std::size_t>(config_.n_layer));
  LoraConfig read = read_adapter_config(dir_ / "adapter");
  EXPECT_EQ(read.r, 2);
  EXPECT_DOUBLE_EQ(read.alpha, 8);
  EXPECT_TRUE(read.use_rslora);
  EXPECT_DOUBLE_EQ(read.scaling(), 8 / std::sqrt(2.0));

  Transformer fresh = load_model(dir_ / "base", config_);
  auto loaded = LoraAdapter::attach_saved(*fresh, dir_ / "adapter");
  const double diff = max_abs_diff(logits_of(fresh), adapted);
  std::printf("saved+loaded adapter vs original: max diff %.3g\n", diff);
  EXPECT_EQ(diff, 0.0);
}

TEST_F(LoraTest, MergeGivesSameLogitsAsBasePlusAdapter) {
  Transformer model = load_model(dir_ / "base", config_);
  LoraConfig lc;
  lc.r = 4;
  lc.target_modules = {"q_proj", "o_proj", "down_proj"};
  auto adapter = LoraAdapter::attach_new(*model, lc, 4);
  randomise_b(*adapter);
  torch::Tensor adapted = logits_of(model);
  std::filesystem::create_directories(dir_ / "adapter");
  adapter->save_files(dir_ / "adapter");

  merge_lora(dir_ / "base", dir_ / "adapter", dir_ / "merged", "f32");
  Transformer merged = load_model(dir_ / "merged", config_);
  const double diff = max_abs_diff(logits_of(merged), adapted);
  std::printf("merged vs base+adapter: max diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-4);

  // The engine applies the adapter unmerged with --adapter.
  auto engine = Engine::load(dir_ / "base", EngineOptions{.adapter = (dir_ / "adapter").string()});
  std::vector<float> last = engine->last_logits({1, 5, 9, 33, 2, 70, 4});
  torch::Tensor expected = adapted.select(1, 6).select(0, 0);
  const double engine_diff = max_abs_diff(torch::tensor(last), expected);
  std::printf("engine --adapter vs base+adapter: max diff %.3g\n", engine_diff);
  EXPECT_LT(engine_diff, 1e-5);
}

void write(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST_F(LoraTest, BadAdapterFilesAreRejected) {
  Transformer model = load_model(dir_ / "base", config_);
  auto adapter = LoraAdapter::attach_new(*model, LoraConfig{}, 5);
  std::filesystem::create_directories(dir_ / "good");
  adapter->save_files(dir_ / "good");
  adapter->detach();
  const std::string weights = read_file(dir_ / "good" / kAdapterWeightsFile);
  const std::string good = read_file(dir_ / "good" / kAdapterConfigFile);

  auto expect_error = [&](const std::string& name, const std::string& config, ErrorKind kind,
                          const std::string& part) {
    const std::filesystem::path d = dir_ / name;
    write(d / kAdapterConfigFile, config);
    write(d / kAdapterWeightsFile, weights);
    try {
      Transformer m = load_model(dir_ / "base", config_);
      LoraAdapter::attach_saved(*m, d);
      ADD_FAILURE() << name << ": no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), kind) << name << ": " << e.what();
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << name << ": " << e.what();
    }
  };
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json doc = nlohmann::json::parse(good);
    doc[key] = value;
    return doc.dump();
  };
  expect_error("not_json", "{", ErrorKind::kInvalidInput, kAdapterConfigFile);
  expect_error("prefix", with("peft_type", "PREFIX_TUNING"), ErrorKind::kUnsupported, "peft_type");
  expect_error("dora", with("use_dora", true), ErrorKind::kUnsupported, "use_dora");
  expect_error("bias", with("bias", "all"), ErrorKind::kUnsupported, "bias");
  expect_error("rank0", with("r", 0), ErrorKind::kInvalidInput, "'r'");
  expect_error("rank_mismatch", with("r", 4), ErrorKind::kInvalidInput, "expected shape");
  expect_error("no_match", with("target_modules", nlohmann::json::array({"w_pack"})),
               ErrorKind::kInvalidInput, "no Linear layer");
  expect_error("extra", with("target_modules", nlohmann::json::array({"q_proj"})),
               ErrorKind::kInvalidInput, "unexpected tensor");
  expect_error("missing",
               with("target_modules", nlohmann::json::array({"q_proj", "v_proj", "k_proj"})),
               ErrorKind::kInvalidInput, "missing tensor");
  expect_error("bad_regex", with("target_modules", "(["), ErrorKind::kInvalidInput,
               "regular expression");
  try {
    read_adapter_config(dir_ / "nowhere");
    ADD_FAILURE() << "missing config accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  // A failed attach leaves the model without adapters.
  Transformer m = load_model(dir_ / "base", config_);
  torch::Tensor base = logits_of(m);
  write(dir_ / "missing2" / kAdapterConfigFile,
        with("target_modules", nlohmann::json::array({"q_proj", "v_proj", "k_proj"})));
  write(dir_ / "missing2" / kAdapterWeightsFile, weights);
  EXPECT_THROW(LoraAdapter::attach_saved(*m, dir_ / "missing2"), Error);
  EXPECT_EQ(max_abs_diff(logits_of(m), base), 0.0);
}

TEST_F(LoraTest, RegexTargetsMatchWholeNames) {
  Transformer model = load_model(dir_ / "base", config_);
  LoraConfig lc;
  lc.target_modules.clear();
  lc.target_regex = R"(model\.layers\.1\.self_attn\.(q|v)_proj)";
  auto adapter = LoraAdapter::attach_new(*model, lc, 6);
  ASSERT_EQ(adapter->named_parameters().size(), 4u);
  EXPECT_EQ(adapter->named_parameters()[0].first,
            "base_model.model.model.layers.1.self_attn.q_proj.lora_A.weight");
}

}  // namespace
}  // namespace enclave
