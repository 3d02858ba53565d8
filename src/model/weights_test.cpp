#include "model/weights.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file.h"
#include "model/test_models.h"

namespace enclave {
namespace {

using testing::ScratchDir;

struct RawTensor {
  std::string name;
  DType dtype;
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> bytes;
};

std::vector<RawTensor> read_all(const std::filesystem::path& path) {
  SafetensorsFile file(path);
  std::vector<RawTensor> out;
  for (const TensorInfo& info : file.tensors()) {
    auto bytes = file.data(info);
    out.push_back({info.name, info.dtype, info.shape, {bytes.begin(), bytes.end()}});
  }
  return out;
}

void write_all(const std::filesystem::path& path, const std::vector<RawTensor>& tensors) {
  std::vector<TensorToWrite> w;
  for (const RawTensor& t : tensors) w.push_back({t.name, t.dtype, t.shape, t.bytes});
  write_safetensors(path, w, {{"format", "pt"}});
}

// Converts an F32 raw tensor to `dtype` (BF16/F16) through torch.
RawTensor convert(const RawTensor& t, torch::Dtype dtype, DType stored) {
  torch::Tensor f =
      torch::from_blob(const_cast<std::uint8_t*>(t.bytes.data()), t.shape, torch::kFloat32)
          .to(dtype);
  auto* p = static_cast<const std::uint8_t*>(f.data_ptr());
  return {t.name, stored, t.shape, std::vector<std::uint8_t>(p, p + f.nbytes())};
}

Transformer load(const std::filesystem::path& dir, torch::Dtype dtype = torch::kFloat32) {
  ModelConfig c = load_model_config(dir / "config.json");
  Transformer m(c, dtype);
  load_weights(*m, WeightFiles(dir), {});
  return m;
}

torch::Tensor logits_of(Transformer& m, std::vector<std::int64_t> ids = {1, 5, 9, 33, 2, 70}) {
  c10::InferenceMode guard;
  return m->forward(torch::tensor(ids, torch::kInt64).view({1, -1})).to(torch::kFloat32);
}

// Expects load to throw kind with all needles in the message.
void expect_load_error(const std::filesystem::path& dir, ErrorKind kind,
                       const std::vector<std::string>& needles) {
  try {
    load(dir);
    ADD_FAILURE() << "loaded without error";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << e.what();
    for (const auto& n : needles)
      EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << e.what();
  }
}

class WeightsTest : public ::testing::Test {
 protected:
  WeightsTest() : dir_("weights") {
    testing::write_test_model(dir_.path(), testing::tiny_config(), 7);
  }
  std::filesystem::path file() const { return dir_ / "model.safetensors"; }
  ScratchDir dir_;
};

TEST_F(WeightsTest, F32IsMemoryMappedNotCopied) {
  Transformer m = load(dir_.path());
  WeightFiles files(dir_.path());
  const WeightRef* ref = files.find("model.layers.1.mlp.up_proj.weight");
  ASSERT_NE(ref, nullptr);
  // A second map of the same file has other addresses, so compare offsets
  // within the parameter instead: its bytes equal the file's bytes.
  torch::Tensor p = m->named_parameters()["model.layers.1.mlp.up_proj.weight"];
  auto bytes = ref->file->data(*ref->info);
  EXPECT_EQ(std::memcmp(p.data_ptr(), bytes.data(), bytes.size()), 0);
  // Loading into a module from the same WeightFiles shares the map itself.
  Transformer m2(load_model_config(dir_ / "config.json"), torch::kFloat32);
  load_weights(*m2, files, {});
  EXPECT_EQ(m2->named_parameters()["model.layers.1.mlp.up_proj.weight"].data_ptr(),
            static_cast<const void*>(bytes.data()));
  Transformer m3(load_model_config(dir_ / "config.json"), torch::kFloat32);
  load_weights(*m3, files, {.allow_mmap = false});
  EXPECT_NE(m3->named_parameters()["model.layers.1.mlp.up_proj.weight"].data_ptr(),
            static_cast<const void*>(bytes.data()));
}

TEST_F(WeightsTest, ShardedIndexLoadsTheSameModel) {
  Transformer single = load(dir_.path());
  torch::Tensor expected = logits_of(single);
  auto tensors = read_all(file());
  std::vector<RawTensor> a(tensors.begin(), tensors.begin() + 5),
      b(tensors.begin() + 5, tensors.end());
  ScratchDir sharded("sharded");
  std::filesystem::copy_file(dir_ / "config.json", sharded / "config.json");
  write_all(sharded / "model-00001-of-00002.safetensors", a);
  write_all(sharded / "model-00002-of-00002.safetensors", b);
  nlohmann::json map;
  for (const auto& t : a) map[t.name] = "model-00001-of-00002.safetensors";
  for (const auto& t : b) map[t.name] = "model-00002-of-00002.safetensors";
  nlohmann::json index = {{"metadata", {{"total_size", 0}}}, {"weight_map", map}};
  write_file_atomic(sharded / "model.safetensors.index.json", index.dump());
  Transformer m = load(sharded.path());
  double diff = testing::max_abs_diff(logits_of(m), expected);
  std::printf("sharded vs single: max diff %g\n", diff);
  EXPECT_EQ(diff, 0.0);

  // A bad shard name, a missing shard and an index entry absent from its shard.
  nlohmann::json bad = index;
  bad["weight_map"]["model.norm.weight"] = "../model-00001-of-00002.safetensors";
  write_file_atomic(sharded / "model.safetensors.index.json", bad.dump());
  expect_load_error(sharded.path(), ErrorKind::kInvalidInput,
                    {"model.safetensors.index.json", "shard file name"});
  bad = index;
  bad["weight_map"]["model.norm.weight"] = "model-00003-of-00003.safetensors";
  write_file_atomic(sharded / "model.safetensors.index.json", bad.dump());
  expect_load_error(sharded.path(), ErrorKind::kNotFound,
                    {"model.norm.weight", "model-00003-of-00003"});
  bad = index;
  bad["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";
  write_file_atomic(sharded / "model.safetensors.index.json", bad.dump());
  expect_load_error(sharded.path(), ErrorKind::kInvalidInput,
                    {"model.norm.weight", "missing from shard"});
  write_file_atomic(sharded / "model.safetensors.index.json", R"({"weight_map": []})");
  expect_load_error(sharded.path(), ErrorKind::kInvalidInput, {"weight_map"});
}

TEST_F(WeightsTest, MissingTensorNamesFileTensorAndShape) {
  auto tensors = read_all(file());
  std::erase_if(tensors, [](const RawTensor& t) {
    return t.name == "model.layers.1.self_attn.k_proj.weight";
  });
  write_all(file(), tensors);
  expect_load_error(
      dir_.path(), ErrorKind::kInvalidInput,
      {"model.safetensors", "missing tensor 'model.layers.1.self_attn.k_proj.weight'", "[32, 64]"});
}

TEST_F(WeightsTest, MisShapedTensorNamesExpectedAndActual) {
  auto tensors = read_all(file());
  for (RawTensor& t : tensors) {
    if (t.name == "model.layers.0.mlp.down_proj.weight") t.shape = {80, 64};  // transposed
  }
  write_all(file(), tensors);
  expect_load_error(dir_.path(), ErrorKind::kInvalidInput,
                    {"model.safetensors", "model.layers.0.mlp.down_proj.weight",
                     "expected shape [64, 80], got [80, 64]"});
}

TEST_F(WeightsTest, ExtraTensorRejectedButRotaryBufferIgnored) {
  auto tensors = read_all(file());
  std::vector<float> inv(8, 1.0f);
  auto* p = reinterpret_cast<const std::uint8_t*>(inv.data());
  tensors.push_back(
      {"model.layers.0.self_attn.rotary_emb.inv_freq", DType::kF32, {8}, {p, p + 32}});
  write_all(file(), tensors);
  EXPECT_NO_THROW(load(dir_.path()));
  tensors.push_back({"model.layers.0.self_attn.extra.weight", DType::kF32, {8}, {p, p + 32}});
  write_all(file(), tensors);
  expect_load_error(dir_.path(), ErrorKind::kInvalidInput,
                    {"unexpected tensor 'model.layers.0.self_attn.extra.weight'"});
}

TEST_F(WeightsTest, NonFloatTensorRejected) {
  auto tensors = read_all(file());
  for (RawTensor& t : tensors) {
    if (t.name == "model.norm.weight") t.dtype = DType::kI32;
  }
  write_all(file(), tensors);
  expect_load_error(dir_.path(), ErrorKind::kInvalidInput, {"model.norm.weight", "I32"});
}

TEST_F(WeightsTest, Bf16AndF16StoredWeightsLoad) {
  auto tensors = read_all(file());
  for (auto [dtype, stored] :
       {std::pair{torch::kBFloat16, DType::kBF16}, std::pair{torch::kFloat16, DType::kF16}}) {
    // Reference: the same values rounded to the low precision, stored as F32.
    std::vector<RawTensor> low, rounded;
    for (const RawTensor& t : tensors) {
      low.push_back(convert(t, dtype, stored));
      RawTensor back = low.back();
      torch::Tensor f = torch::from_blob(back.bytes.data(), t.shape, dtype).to(torch::kFloat32);
      auto* p = static_cast<const std::uint8_t*>(f.data_ptr());
      rounded.push_back({t.name, DType::kF32, t.shape, {p, p + f.nbytes()}});
    }
    write_all(file(), low);
    Transformer from_low = load(dir_.path());
    write_all(file(), rounded);
    Transformer from_f32 = load(dir_.path());
    double diff = testing::max_abs_diff(logits_of(from_low), logits_of(from_f32));
    std::printf("%s-stored vs f32-stored (same values): max diff %g\n",
                dtype_safetensors_name(stored).data(), diff);
    EXPECT_EQ(diff, 0.0);
  }
}

TEST_F(WeightsTest, TiedModelIgnoresStoredLmHead) {
  ModelConfig c = testing::tiny_config();
  c.tie_word_embeddings = true;
  ScratchDir tied("tied");
  testing::write_test_model(tied.path(), c, 3);
  Transformer m = load(tied.path());
  EXPECT_FALSE(m->lm_head_);
  torch::Tensor expected = logits_of(m);
  // HF ignores a stored lm_head.weight when embeddings are tied.
  auto tensors = read_all(tied / "model.safetensors");
  RawTensor head = tensors.front();
  head.name = "lm_head.weight";
  std::fill(head.bytes.begin(), head.bytes.end(), 0);
  tensors.push_back(head);
  write_all(tied / "model.safetensors", tensors);
  Transformer m2 = load(tied.path());
  EXPECT_EQ(testing::max_abs_diff(logits_of(m2), expected), 0.0);
}

}  // namespace
}  // namespace enclave
