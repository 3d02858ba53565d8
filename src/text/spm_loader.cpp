#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "core/error.h"
#include "text/spm_processor.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;
using CreateFn = SpmProcessor* (*)();
constexpr const char* kModuleName = "libenclave_spm.so";
#if defined(__SANITIZE_ADDRESS__)
// The sanitizer runtime refuses RTLD_DEEPBIND; sanitizer builds then only
// read tokenizer.model in binaries without libtorch.
constexpr int kOpenFlags = RTLD_NOW | RTLD_LOCAL;
#else
constexpr int kOpenFlags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#endif

std::vector<fs::path> module_candidates() {
  std::vector<fs::path> out;
  if (const char* env = std::getenv("ENCLAVE_SPM_MODULE"); env && *env) out.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back(exe.parent_path() / kModuleName);
    out.push_back(exe.parent_path().parent_path() / "lib" / "enclave" / kModuleName);
  }
#ifdef ENCLAVE_SPM_MODULE_DIR
  out.push_back(fs::path(ENCLAVE_SPM_MODULE_DIR) / kModuleName);
#endif
  return out;
}

struct Module {
  CreateFn create = nullptr;
  std::string error;
};

const Module& module() {
  static Module m;
  static std::once_flag once;
  std::call_once(once, [] {
    std::string tried;
    for (const fs::path& path : module_candidates()) {
      std::error_code ec;
      if (!fs::exists(path, ec)) {
        tried += (tried.empty() ? "" : ", ") + path.string();
        continue;
      }
      void* handle = dlopen(path.c_str(), kOpenFlags);
      if (handle == nullptr) {
        m.error = fmt::format("cannot open {}: {}", path.string(), dlerror());
        return;
      }
      m.create = reinterpret_cast<CreateFn>(dlsym(handle, "enclave_spm_create"));
      if (m.create == nullptr) m.error = fmt::format("{} has no enclave_spm_create", path.string());
      return;
    }
    m.error = fmt::format("the SentencePiece module {} was not found (looked in: {})", kModuleName,
                          tried);
  });
  return m;
}

}  // namespace

std::unique_ptr<SpmProcessor> load_spm_processor(const std::string& bytes, std::string_view what) {
  const Module& m = module();
  if (m.create == nullptr) fail(ErrorKind::kUnsupported, "{}: {}", what, m.error);
  std::unique_ptr<SpmProcessor> processor(m.create());
  std::string error;
  if (!processor->load(bytes, &error))
    fail_input("{}: not a valid SentencePiece model: {}", what, error);
  return processor;
}

}  // namespace enclave
