#include "model/init.h"

#include <gtest/gtest.h>

#include "core/error.h"
#include "core/file.h"
#include "model/engine.h"
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
