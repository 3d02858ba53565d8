// Model references and engines for the commands that run a model
// (enclave-torch only):
// adapters below the top one are folded in as `enclave model merge-lora`
// folds them, which needs the model library.
#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/program.h"
#include "core/staging_dir.h"
#include "model/engine.h"
#include "model/gguf_import.h"
#include "model/lora.h"
#include "store/model_ref.h"
#include "store/workspace.h"

namespace enclave::cli {
namespace {

store::ResolveOptions merging_options(const std::string& workspace) {
  store::ResolveOptions options = resolve_options(workspace);
  options.merge_adapter =
      [](const std::filesystem::path& base, const std::filesystem::path& adapter,
         const std::filesystem::path& out) { merge_lora(base, adapter, out, "f32"); };
  return options;
}

namespace fs = std::filesystem;

// Folders imported from GGUF files outside any workspace are removed when
// the process ends (weights already mapped stay readable until then).

// The GGUF file of a model folder that holds only one (what `model quantize`
// registers), given as the folder or a registry reference; nullopt for any
// other reference (resolved later, with its own errors).
std::optional<fs::path> stored_gguf(const std::string& ref, const std::string& workspace) {
  std::error_code ec;
  fs::path dir;
  if (fs::is_directory(ref, ec)) {
    dir = ref;
  } else if (!fs::exists(ref, ec)) {
    try {
      dir = store::resolve_model_ref(ref, resolve_options(workspace));
    } catch (const Error&) {
      return std::nullopt;
    }
  }
  if (dir.empty() || fs::exists(dir / "config.json", ec) ||
      !fs::is_regular_file(dir / "model.gguf", ec))
    return std::nullopt;
  return dir / "model.gguf";
}

}  // namespace

// A GGUF file given as a model: imported once into a Hugging Face folder
// (Q8_0 / Q4_0 / Q4_K / Q6_K matrices kept quantised, so inference runs on
// them), .enclave/checkouts/gguf-<key> keyed by the file's path, size and
// modification time (so `store gc` reclaims it), or a temporary folder
// when there is no workspace.
std::string gguf_as_folder(const std::string& ref, const std::string& workspace) {
  std::error_code ec;
  fs::path file;
  if (ref.ends_with(".gguf") && fs::is_regular_file(ref, ec)) {
    file = fs::absolute(ref).lexically_normal();
  } else if (std::optional<fs::path> stored = stored_gguf(ref, workspace)) {
    file = fs::absolute(*stored).lexically_normal();
  } else {
    return ref;
  }
  const auto mtime = fs::last_write_time(file).time_since_epoch().count();
  const std::string key =
      // "k-quants": folders imported before K-quant matrices were kept are not reused.
      sha256_hex(
          fmt::format("{}\n{}\n{}\nquantized k-quants", file.string(), fs::file_size(file), mtime))
          .substr(0, 32);
  std::unique_ptr<store::Workspace> ws;
  try {
    ws = store::Workspace::open(resolve_options(workspace).find);
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::kNotFound) throw;
  }
  if (ws) {
    const fs::path out = ws->checkout_root() / ("gguf-" + key);
    if (fs::is_regular_file(out / "config.json", ec)) return out.string();
    const StagingDir staging = StagingDir::scratch(ws->tmp_dir(), "gguf");
    import_gguf(file, staging.path() / "model", {.keep_quantized = true});
    fs::create_directories(ws->checkout_root());
    fs::rename(staging.path() / "model", out, ec);  // another process may have won the race
    if (ec && !fs::is_regular_file(out / "config.json"))
      fail(ErrorKind::kIo, "{}: cannot move the imported model into place: {}", out.string(),
           ec.message());
    return out.string();
  }
  const fs::path out =
      fs::temp_directory_path() / fmt::format("enclave-gguf-{}-{}", key, ::getpid());
  remove_at_exit(out);  // first: a failed import leaves nothing behind either
  import_gguf(file, out, {.keep_quantized = true});
  return out.string();
}

std::filesystem::path resolve_model(const std::string& ref, const std::string& workspace) {
  return store::resolve_model_ref(gguf_as_folder(ref, workspace), merging_options(workspace));
}

store::ResolvedModel resolve_model_with_adapter(const std::string& model,
                                                const std::string& adapter,
                                                const std::string& workspace) {
  return store::resolve_model(
      {.model = gguf_as_folder(model, workspace), .adapter = adapter, .max_unmerged = 1},
      merging_options(workspace));
}

std::unique_ptr<Engine> load_engine(const std::string& model, const std::string& adapter,
                                    const ComputeFlags& compute) {
  const store::ResolvedModel resolved = resolve_model_with_adapter(model, adapter);
  EngineOptions options;
  options.dtype = compute_dtype(compute).dtype;
  options.device = compute.device;
  options.threads = compute.threads;
  options.chat_template = compute.chat_template;
  options.adapter = resolved.adapter.string();
  return Engine::load(resolved.dir, options);
}

}  // namespace enclave::cli
