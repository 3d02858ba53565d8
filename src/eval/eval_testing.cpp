#include "eval/eval_testing.h"

#include <fstream>

namespace enclave::eval::testing {

const std::filesystem::path& tiny_model_dir() {
  static store::testing::ScratchDir scratch;  // removed at exit
  static const std::filesystem::path dir = [] {
    std::filesystem::path d = scratch.path() / "tiny";
    init_model("tiny", d, 5);
    return d;
  }();
  return dir;
}

const Engine& tiny_engine() {
  static const std::unique_ptr<Engine> engine = Engine::load(tiny_model_dir(), EngineOptions{});
  return *engine;
}

void write_jsonl(const std::filesystem::path& path, const std::vector<nlohmann::json>& docs) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const auto& d : docs) out << d.dump() << "\n";
}

}  // namespace enclave::eval::testing
