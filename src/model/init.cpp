#include "model/init.h"

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/staging_dir.h"
#include "model/engine.h"
#include "model/safetensors.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"

namespace enclave {
namespace {

// Portable normal samples (std::normal_distribution differs across
// standard libraries).
class NormalSource {
 public:
  explicit NormalSource(std::uint64_t seed) : rng_(seed) {}
  float next() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const double u1 = (static_cast<double>(rng_() >> 11) + 1.0) * 0x1.0p-53;  // (0, 1]
    const double u2 = static_cast<double>(rng_() >> 11) * 0x1.0p-53;          // [0, 1)
    const double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = static_cast<float>(r * std::sin(2.0 * M_PI * u2));
    has_spare_ = true;
    return static_cast<float>(r * std::cos(2.0 * M_PI * u2));
  }

 private:
  std::mt19937_64 rng_;
  float spare_ = 0;
  bool has_spare_ = false;
};

// Round to nearest even, as torch's .to(torch.bfloat16) does (no NaNs here).
std::uint16_t to_bf16(float value) {
  std::uint32_t bits = 0;
  std::memcpy(&bits, &value, 4);
  bits += 0x7FFF + ((bits >> 16) & 1);
  return static_cast<std::uint16_t>(bits >> 16);
}

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         std::string_view(s).substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

ModelConfig preset_config(const std::string& preset) {
  ModelConfig c;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 10000.0;
  c.max_position_embeddings = 2048;
  c.torch_dtype = "float32";
  if (preset == "tiny") {
    c.vocab_size = 1024;
    c.hidden_size = 256;
    c.intermediate_size = 688;
    c.n_layer = 4;
    c.n_head = 8;
    c.n_kv_head = 4;
  } else if (preset == "small") {
    c.vocab_size = 8192;
    c.hidden_size = 768;
    c.intermediate_size = 2048;
    c.n_layer = 14;
    c.n_head = 12;
    c.n_kv_head = 4;
  } else {
    fail_input("model init: unknown preset '{}' (expected tiny or small)", preset);
  }
  c.head_dim = c.hidden_size / c.n_head;
  return c;
}

void write_random_weights(const ModelConfig& config, const std::filesystem::path& file,
                          std::uint64_t seed, const RandomInit& init) {
  if (init.dtype != DType::kF32 && init.dtype != DType::kBF16)
    fail_input("model init: weights can be written as F32 or BF16, not {}",
               dtype_safetensors_name(init.dtype));
  NormalSource normal(seed);
  std::vector<ParameterShape> shapes = parameter_shapes(config);
  std::vector<std::vector<float>> data(shapes.size());
  std::vector<std::vector<std::uint16_t>> halves(shapes.size());
  std::vector<TensorToWrite> tensors;
  for (std::size_t i = 0; i < shapes.size(); ++i) {
    const ParameterShape& p = shapes[i];
    std::int64_t n = 1;
    for (std::int64_t d : p.shape) n *= d;
    std::vector<float>& values = data[i];
    values.resize(static_cast<std::size_t>(n));
    const bool is_bias = ends_with(p.name, ".bias");
    // Every 1-D weight is a norm (ln_1 in EXAONE); Gemma's scale is 1 + w.
    const bool is_norm = p.shape.size() == 1 && !is_bias;
    const float unit = config.gemma_norm ? 0.0f : 1.0f;
    if (is_norm && !init.random_norms) {
      std::fill(values.begin(), values.end(), unit);
    } else if (is_norm) {
      for (float& v : values) v = unit + static_cast<float>(init.std) * normal.next();
    } else if (is_bias && !init.random_biases) {
      std::fill(values.begin(), values.end(), 0.0f);
    } else {
      for (float& v : values) v = static_cast<float>(init.std) * normal.next();
    }
    std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(values.data()),
                                        values.size() * 4);
    if (init.dtype == DType::kBF16) {
      std::vector<std::uint16_t>& out = halves[i];
      out.resize(values.size());
      for (std::size_t k = 0; k < values.size(); ++k) out[k] = to_bf16(values[k]);
      std::vector<float>().swap(values);  // only one F32 tensor is held at a time
      bytes = {reinterpret_cast<const std::uint8_t*>(out.data()), out.size() * 2};
    }
    tensors.push_back(TensorToWrite{p.name, init.dtype, p.shape, bytes});
  }
  write_safetensors(file, tensors, {{"format", "pt"}});
}

void init_model(const std::string& preset, const std::filesystem::path& out_dir,
                std::uint64_t seed) {
  ModelConfig config = preset_config(preset);
  StagingDir staged(out_dir);
  write_default_tokenizer(staged.path(), static_cast<std::size_t>(config.vocab_size));
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(staged.path());
  if (static_cast<std::int64_t>(tokenizer->vocab_size()) > config.vocab_size) {
    fail(ErrorKind::kInternal, "model init: tokenizer has {} tokens, more than the model's {}",
         tokenizer->vocab_size(), config.vocab_size);
  }
  if (tokenizer->bos_id()) config.bos_token_id = *tokenizer->bos_id();
  if (tokenizer->eos_id()) config.eos_token_ids = {*tokenizer->eos_id()};

  write_file_atomic(staged.path() / "config.json", to_json(config).dump(2) + "\n");
  nlohmann::json generation = {{"_from_model_config", true}};
  if (config.bos_token_id) generation["bos_token_id"] = *config.bos_token_id;
  if (!config.eos_token_ids.empty()) generation["eos_token_id"] = config.eos_token_ids[0];
  write_file_atomic(staged.path() / "generation_config.json", generation.dump(2) + "\n");
  write_random_weights(config, staged.path() / "model.safetensors", seed);
  staged.commit();
}

void init_model_from_config(const std::filesystem::path& config_json,
                            const std::filesystem::path& out_dir, std::uint64_t seed,
                            const InitOptions& options) {
  nlohmann::json doc = read_json_file(config_json);
  const ModelConfig config = parse_model_config(doc, config_json.string());
  StagingDir staged(out_dir);
  if (options.tokenizer.empty()) {
    write_default_tokenizer(staged.path(), static_cast<std::size_t>(config.vocab_size));
  } else {
    bool any = false;
    for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                             "special_tokens_map.json", "chat_template.jinja"}) {
      std::error_code ec;
      if (!std::filesystem::is_regular_file(options.tokenizer / name, ec)) continue;
      std::filesystem::copy_file(options.tokenizer / name, staged.path() / name);
      any |=
          std::string_view(name) == "tokenizer.json" || std::string_view(name) == "tokenizer.model";
    }
    if (!any) {
      fail(ErrorKind::kNotFound, "model init: --tokenizer {}: no tokenizer.json or tokenizer.model",
           options.tokenizer.string());
    }
  }
  std::unique_ptr<Tokenizer> tokenizer = load_tokenizer(staged.path());
  if (static_cast<std::int64_t>(tokenizer->vocab_size()) > config.vocab_size) {
    fail_input("model init: the tokenizer has {} tokens, more than {}'s vocab_size {}",
               tokenizer->vocab_size(), config_json.string(), config.vocab_size);
  }
  doc["torch_dtype"] = options.dtype == DType::kBF16 ? "bfloat16" : "float32";
  write_file_atomic(staged.path() / "config.json", doc.dump(2) + "\n");
  nlohmann::json generation = {{"_from_model_config", true}};
  if (config.bos_token_id) {
    generation["bos_token_id"] = *config.bos_token_id;
  } else if (tokenizer->bos_id()) {
    generation["bos_token_id"] = *tokenizer->bos_id();
  }
  if (!config.eos_token_ids.empty()) {
    generation["eos_token_id"] = config.eos_token_ids.size() == 1
                                     ? nlohmann::json(config.eos_token_ids[0])
                                     : nlohmann::json(config.eos_token_ids);
  } else if (tokenizer->eos_id()) {
    generation["eos_token_id"] = *tokenizer->eos_id();
  }
  write_file_atomic(staged.path() / "generation_config.json", generation.dump(2) + "\n");
  RandomInit init;
  init.dtype = options.dtype;
  init.std = json_number(doc, "initializer_range", config_json.string(), 0.02);
  write_random_weights(config, staged.path() / "model.safetensors", seed, init);
  staged.commit();
}

}  // namespace enclave
