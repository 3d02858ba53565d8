#include "merge/tensor_writer.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "core/error.h"
#include "core/json.h"
#include "core/scratch_dir_testing.h"
#include "model/safetensors.h"
#include "model/weight_files.h"

namespace enclave::merge {
namespace {

namespace fs = std::filesystem;

class TensorWriterTest : public ::testing::Test {
 protected:
  // Writes tensors whose bytes are their index repeated, and returns them.
  std::vector<TensorSpec> write(std::vector<TensorSpec> specs, std::uint64_t max_shard) {
    ShardedTensorWriter writer(dir_, specs, max_shard);
    for (const TensorSpec& s : writer.write_order()) {
      std::vector<std::uint8_t> bytes(s.n_bytes(), static_cast<std::uint8_t>(s.name.size()));
      writer.write(bytes);
    }
    writer.finish();
    n_shards_ = writer.n_shards();
    return specs;
  }

  const testing::ScratchDir scratch_{"tensor-writer"};
  const fs::path dir_ = scratch_.path();
  std::size_t n_shards_ = 0;
};

TEST_F(TensorWriterTest, SingleFileReadsBackWithTheReader) {
  write({{"a", DType::kF32, {2, 3}}, {"bb", DType::kF16, {3}}, {"ccc", DType::kF32, {1}}}, 1 << 20);
  EXPECT_EQ(n_shards_, 1u);
  SafetensorsFile file(dir_ / "model.safetensors");
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.metadata().at("format"), "pt");
  // Larger elements first so every tensor stays aligned: a, ccc, then bb.
  EXPECT_EQ(file.tensors()[0].name, "a");
  EXPECT_EQ(file.tensors()[1].name, "ccc");
  EXPECT_EQ(file.tensors()[2].name, "bb");
  const TensorInfo* bb = file.find("bb");
  ASSERT_NE(bb, nullptr);
  EXPECT_EQ(bb->shape, (std::vector<std::int64_t>{3}));
  for (std::uint8_t byte : file.data(*bb)) EXPECT_EQ(byte, 2);
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors.index.json"));
}

TEST_F(TensorWriterTest, ShardsWithAnIndexLikeSavePretrained) {
  write({{"t1", DType::kF32, {100}},
         {"t2", DType::kF32, {100}},
         {"t3", DType::kF32, {300}},
         {"t4", DType::kF32, {10}}},
        /*max_shard=*/800);
  EXPECT_EQ(n_shards_, 3u);  // [t1 t2] [t3 (alone, over the limit)] [t4]
  const nlohmann::json index = read_json_file(dir_ / "model.safetensors.index.json");
  EXPECT_EQ(index["metadata"]["total_size"], 4 * 510);
  EXPECT_EQ(index["weight_map"]["t1"], "model-00001-of-00003.safetensors");
  EXPECT_EQ(index["weight_map"]["t3"], "model-00002-of-00003.safetensors");
  WeightFiles files(dir_);
  EXPECT_EQ(files.tensors().size(), 4u);
  EXPECT_EQ(files.find("t4")->info->shape, (std::vector<std::int64_t>{10}));
}

TEST_F(TensorWriterTest, RejectsBadSpecs) {
  EXPECT_THROW(ShardedTensorWriter(dir_, {}, 100), Error);
  EXPECT_THROW(ShardedTensorWriter(dir_, {{"a", DType::kF32, {1}}, {"a", DType::kF32, {1}}}, 100),
               Error);
  EXPECT_THROW(ShardedTensorWriter(dir_, {{"a", DType::kF32, {-1}}}, 100), Error);
  EXPECT_THROW(ShardedTensorWriter(dir_, {{"a", DType::kF32, {1}}}, 0), Error);
}

TEST_F(TensorWriterTest, AbandonedWriterLeavesNoFile) {
  {
    ShardedTensorWriter writer(dir_, {{"a", DType::kF32, {4}}, {"b", DType::kF32, {4}}}, 1 << 20);
    std::vector<std::uint8_t> bytes(16);
    writer.write(bytes);
  }
  EXPECT_TRUE(fs::is_empty(dir_));
}

}  // namespace
}  // namespace enclave::merge
