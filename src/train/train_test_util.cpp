#include "train/train_test_util.h"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include "core/file.h"
#include "model/init.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"

namespace enclave::train::testing {

ModelConfig small_model_config() {
  ModelConfig c = preset_config("tiny");
  c.vocab_size = 384;
  c.hidden_size = 64;
  c.intermediate_size = 128;
  c.n_layer = 2;
  c.n_head = 4;
  c.n_kv_head = 2;
  c.head_dim = 16;
  c.max_position_embeddings = 256;
  return c;
}

void write_small_model(const std::filesystem::path& dir, std::uint64_t seed, double std) {
  std::filesystem::create_directories(dir);
  ModelConfig c = small_model_config();
  write_default_tokenizer(dir, static_cast<std::size_t>(c.vocab_size));
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(dir);
  c.bos_token_id = *tokenizer->bos_id();
  c.eos_token_ids = {*tokenizer->eos_id()};
  write_file_atomic(dir / "config.json", to_json(c).dump(2));
  write_random_weights(c, dir / "model.safetensors", seed, RandomInit{.std = std});
}

void write_jsonl(const std::filesystem::path& path, const std::vector<nlohmann::json>& records) {
  std::string text;
  for (const auto& r : records) text += r.dump() + "\n";
  write_file_atomic(path, text);
}

std::vector<nlohmann::json> echo_sft_records(int n) {
  const char* words[] = {"apple", "river", "stone", "cloud", "green", "seven"};
  std::vector<nlohmann::json> out;
  for (int i = 0; i < n; ++i) {
    const std::string w = words[i % 6];
    out.push_back(
        {{"messages",
          {{{"role", "user"}, {"content", "Say " + w}}, {{"role", "assistant"}, {"content", w}}}}});
  }
  return out;
}

std::vector<nlohmann::json> separable_pairs(int n) {
  const char* topics[] = {"tea", "rain", "maps", "bread"};
  std::vector<nlohmann::json> out;
  for (int i = 0; i < n; ++i) {
    out.push_back({{"prompt", std::string("Do you like ") + topics[i % 4] + "?"},
                   {"chosen", " yes"},
                   {"rejected", " no"},
                   {"level", i % 2}});
  }
  return out;
}

}  // namespace enclave::train::testing
