#include "merge/merge_test_util.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "core/file.h"
#include "model/engine.h"
#include "model/float_convert.h"
#include "model/init.h"
#include "model/weight_files.h"

namespace enclave::merge::testing {
namespace fs = std::filesystem;

void make_tiny_model(const fs::path& dir, std::uint64_t seed) { init_model("tiny", dir, seed); }

void make_model(const fs::path& dir, const ModelConfig& config, std::uint64_t seed) {
  fs::create_directories(dir);
  write_file_atomic(dir / "config.json", to_json(config).dump(2));
  write_random_weights(config, dir / "model.safetensors", seed);
}

void copy_model(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  fs::copy(from, to, fs::copy_options::recursive | fs::copy_options::overwrite_existing);
}

std::vector<float> read_tensor(const fs::path& dir, const std::string& name) {
  WeightFiles files(dir);
  const WeightRef* ref = files.find(name);
  if (ref == nullptr) {
    ADD_FAILURE() << dir << " has no tensor " << name;
    return {};
  }
  std::vector<float> out(ref->info->n_elements());
  to_f32(ref->info->dtype, ref->file->data(*ref->info), out);
  return out;
}

double max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  double d = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    d = std::max(d, std::fabs(static_cast<double>(a[i]) - static_cast<double>(b[i])));
  }
  return d;
}

std::string with_model_dirs(std::string yaml, const fs::path& dir, std::vector<std::string> names) {
  std::sort(names.begin(), names.end(),
            [](const auto& x, const auto& y) { return x.size() > y.size(); });
  for (const std::string& name : names) {
    const std::string needle = "$" + name;
    for (std::size_t at; (at = yaml.find(needle)) != std::string::npos;) {
      yaml.replace(at, needle.size(), (dir / name).string());
    }
  }
  return yaml;
}

fs::path write_text(const fs::path& dir, const std::string& name, const std::string& text) {
  write_file_atomic(dir / name, text);
  return dir / name;
}

}  // namespace enclave::merge::testing
