#include "merge/merge.h"

#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

#include "core/error.h"
#include "core/file.h"
#include "core/progress.h"
#include "core/staging_dir.h"
#include "merge/methods.h"
#include "merge/sparsify.h"
#include "merge/tensor_writer.h"
#include "model/float_convert.h"

namespace enclave::merge {
namespace fs = std::filesystem;

namespace {

// Files copied from the tokenizer source, and from the reference model.
constexpr const char* kTokenizerSideFiles[] = {"tokenizer.json", "tokenizer_config.json",
                                               "special_tokens_map.json", "tokenizer.model"};
constexpr const char* kModelSideFiles[] = {"generation_config.json"};

std::span<const std::uint8_t> source_bytes(const TensorSource& s) {
  return s.ref->file->data(*s.ref->info);
}

// Drops the mapped input pages of a tensor from this process once it is
// merged, so the resident size does not grow to the size of the inputs. The
// mapping is read-only and file-backed: the pages are read again from the
// page cache if touched later.
void release_pages(std::span<const std::uint8_t> bytes) {
  static const std::uintptr_t page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(bytes.data());
  const std::uintptr_t first = (begin + page - 1) / page * page;  // pages wholly inside this tensor
  const std::uintptr_t last = (begin + bytes.size()) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
}

std::vector<float> read_f32(const TensorSource& s) {
  std::vector<float> out(s.ref->info->n_elements());
  try {
    to_f32(s.ref->info->dtype, source_bytes(s), out);
  } catch (const Error& e) {
    fail_input("{}: tensor '{}': {}", WeightFiles::describe(*s.ref), s.ref->info->name, e.what());
  }
  // The f32 copy is all the merge needs: drop the mapped bytes now rather
  // than after the whole tensor, so they are never resident beside it.
  release_pages(source_bytes(s));
  return out;
}

Sparsification sparsification_of(MergeMethod method) {
  switch (method) {
    case MergeMethod::kTies:
      return Sparsification::kMagnitude;
    case MergeMethod::kDareTies:
    case MergeMethod::kDareLinear:
      return Sparsification::kRandom;
    default:
      return Sparsification::kNone;
  }
}

void copy_if_present(const fs::path& from_dir, const char* name, const fs::path& to_dir) {
  std::error_code ec;
  if (!from_dir.empty() && fs::is_regular_file(from_dir / name, ec)) {
    write_file_atomic(to_dir / name, read_file(from_dir / name));
  }
}

}  // namespace

std::vector<float> merge_tensor(const MergePlan& plan, const PlannedTensor& tensor,
                                std::uint64_t merge_seed) {
  std::uint64_t n = 1;
  for (std::int64_t d : tensor.shape) n *= static_cast<std::uint64_t>(d);
  std::vector<float> out(n);
  switch (plan.method) {
    case MergeMethod::kPassthrough: {
      out = read_f32(tensor.sources[0]);
      const double scale = tensor.sources[0].scale;
      if (scale != 1.0) {
        for (float& v : out) v = static_cast<float>(v * scale);
      }
      break;
    }
    case MergeMethod::kLinear: {
      std::vector<std::vector<float>> values;
      std::vector<std::span<const float>> spans;
      std::vector<double> weights;
      for (const TensorSource& s : tensor.sources) {
        values.push_back(read_f32(s));
        weights.push_back(s.weight);
      }
      for (const auto& v : values) spans.emplace_back(v);
      linear_merge(spans, weights, plan.normalize, out, tensor.name);
      break;
    }
    case MergeMethod::kSlerp: {
      // v0 is the base model (t = 0), v1 the other source.
      std::size_t b = tensor.sources[0].is_base ? 0 : 1;
      const std::vector<float> v0 = read_f32(tensor.sources[b]);
      const std::vector<float> v1 = read_f32(tensor.sources[1 - b]);
      slerp(tensor.t, v0, v1, out);
      break;
    }
    case MergeMethod::kTaskArithmetic:
    case MergeMethod::kTies:
    case MergeMethod::kDareTies:
    case MergeMethod::kDareLinear: {
      std::vector<float> base;
      std::vector<std::vector<float>> models;
      std::vector<TaskVectorInput> inputs;
      for (const TensorSource& s : tensor.sources) {
        if (s.is_base) {
          if (base.empty()) base = read_f32(s);
          continue;
        }
        models.push_back(read_f32(s));
        inputs.push_back({.weight = s.weight,
                          .density = s.density,
                          .seed = tensor_seed(merge_seed, tensor.name, s.model)});
      }
      for (std::size_t i = 0; i < inputs.size(); ++i) inputs[i].model = models[i];
      const TaskArithmeticOptions options{
          .sparsification = sparsification_of(plan.method),
          .sign_consensus =
              plan.method == MergeMethod::kTies || plan.method == MergeMethod::kDareTies,
          .normalize = plan.normalize,
          .rescale = plan.rescale,
          .lambda = tensor.lambda,
      };
      task_arithmetic_merge(base, inputs, options, out);
      break;
    }
  }
  return out;
}

MergeResult run_merge(const MergeConfig& config, const MergeOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  const MergePlan plan = plan_merge(config, options.resolve, options.config_name);

  StagingDir staged(options.out_dir);
  std::vector<TensorSpec> specs;
  std::map<std::string, const PlannedTensor*> by_name;
  for (const PlannedTensor& t : plan.tensors) {
    specs.push_back({t.name, t.dtype, t.shape});
    by_name[t.name] = &t;
  }
  ShardedTensorWriter writer(staged.path(), std::move(specs), options.max_shard_bytes);

  Progress progress(
      ProgressOptions{.label = "merging", .total = plan.tensors.size(), .unit = "tensors"});
  const bool draw = options.show_progress;
  std::vector<std::uint8_t> bytes;
  for (const TensorSpec& spec : writer.write_order()) {
    const PlannedTensor& t = *by_name.at(spec.name);
    const TensorSource& first = t.sources[0];
    if (plan.method == MergeMethod::kPassthrough && first.scale == 1.0 &&
        first.ref->info->dtype == t.dtype) {
      // Stacking layers copies bytes: exact, and no conversion work.
      writer.write(source_bytes(first));
    } else {
      const std::vector<float> merged = merge_tensor(plan, t, options.seed);
      if (t.dtype == DType::kF32) {
        // Already the stored form (little-endian f32): no second buffer.
        writer.write(
            {reinterpret_cast<const std::uint8_t*>(merged.data()), merged.size() * sizeof(float)});
      } else {
        bytes.resize(spec.n_bytes());
        from_f32(merged, t.dtype, bytes);
        writer.write(bytes);
      }
    }
    for (const TensorSource& s : t.sources) release_pages(source_bytes(s));
    if (draw) progress.advance();
  }
  writer.finish();
  if (draw) progress.finish();

  write_file_atomic(staged.path() / "config.json", plan.out_config_json.dump(2) + "\n");
  for (const char* name : kTokenizerSideFiles)
    copy_if_present(plan.tokenizer_dir, name, staged.path());
  for (const char* name : kModelSideFiles)
    copy_if_present(plan.side_files_dir, name, staged.path());
  if (!options.config_text.empty())
    write_file_atomic(staged.path() / "merge_config.yaml", options.config_text);
  staged.commit();

  MergeResult result;
  result.out_dir = options.out_dir;
  result.config = plan.out_config;
  result.method = plan.method;
  for (const InputModel& m : plan.models) result.inputs.push_back({m.ref, m.dir});
  if (!plan.tokenizer_ref.empty()) {
    bool is_input = false;
    for (const InputModel& m : plan.models) is_input |= fs::equivalent(m.dir, plan.tokenizer_dir);
    if (!is_input) result.inputs.push_back({plan.tokenizer_ref, plan.tokenizer_dir, "tokenizer"});
  }
  result.tokenizer_dir = plan.tokenizer_dir;
  result.n_tensors = static_cast<std::int64_t>(plan.tensors.size());
  result.n_bytes = writer.total_bytes();
  result.n_shards = static_cast<std::int64_t>(writer.n_shards());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

nlohmann::json result_json(const MergeResult& r) {
  nlohmann::json inputs = nlohmann::json::array();
  for (const MergeInput& in : r.inputs)
    inputs.push_back({{"ref", in.ref}, {"dir", in.dir.string()}, {"role", in.role}});
  return {{"out_dir", r.out_dir.string()},
          {"method", method_name(r.method)},
          {"n_layer", r.config.n_layer},
          {"n_tensors", r.n_tensors},
          {"n_bytes", r.n_bytes},
          {"n_shards", r.n_shards},
          {"inputs", inputs},
          {"tokenizer_from", r.tokenizer_dir.string()},
          {"seconds", r.seconds}};
}

std::string format_result(const MergeResult& r, std::string_view destination) {
  const std::size_t n = r.inputs.size();
  return fmt::format(
      "{} merge of {} model{} into {}: {} layers, {} tensors, {:.1f} MB in {} file{}, {:.2f} s",
      method_name(r.method), n, n == 1 ? "" : "s", destination, r.config.n_layer, r.n_tensors,
      static_cast<double>(r.n_bytes) / 1e6, r.n_shards, r.n_shards == 1 ? "" : "s", r.seconds);
}

}  // namespace enclave::merge
