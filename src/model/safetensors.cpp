#include "model/safetensors.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <string>

#include "core/error.h"
#include "core/json.h"

namespace enclave {
namespace {

using nlohmann::json;

// Deep enough for {name: {shape: [...]}} and "__metadata__"; anything deeper
// is not a safetensors header, and a low cap bounds the parser's work.
constexpr int kHeaderMaxDepth = 8;
// Longest JSON excerpt quoted in an error, so a hostile header cannot make
// the message itself huge.
constexpr std::size_t kMaxQuoted = 60;

// Dtypes the format defines that we do not load yet: these are valid files
// (kUnsupported), not malformed ones.
constexpr std::array<std::string_view, 10> kUnsupportedDTypes{
    "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "U16", "U32", "U64", "C64"};

std::uint64_t read_u64_le(const std::uint8_t* p) {
  std::uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

void append_u64_le(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::string quoted(const json& value) {
  std::string s = value.dump();
  if (s.size() > kMaxQuoted) s = s.substr(0, kMaxQuoted) + "...";
  return s;
}

// nullopt if the product of the dims overflows u64.
std::optional<std::uint64_t> checked_product(const std::vector<std::int64_t>& shape) {
  std::uint64_t n = 1;
  for (std::int64_t d : shape) {
    if (__builtin_mul_overflow(n, static_cast<std::uint64_t>(d), &n)) return std::nullopt;
  }
  return n;
}

// Byte size of a tensor, or an error naming it when the shape is too large.
std::uint64_t checked_n_bytes(DType dtype, const std::vector<std::int64_t>& shape,
                              std::string_view what, std::string_view name) {
  std::optional<std::uint64_t> n = checked_product(shape);
  std::uint64_t bytes = 0;
  if (!n || __builtin_mul_overflow(*n, dtype_size(dtype), &bytes)) {
    fail_input("{}: tensor '{}': shape [{}] of {} is too large (byte size overflows 64 bits)", what,
               name, fmt::join(shape, ", "), dtype_safetensors_name(dtype));
  }
  return bytes;
}

DType parse_dtype(const json& value, std::string_view what, std::string_view name) {
  if (!value.is_string()) {
    fail_input("{}: tensor '{}': field 'dtype': expected a string, got {}", what, name,
               quoted(value));
  }
  const std::string& s = value.get_ref<const std::string&>();
  if (std::optional<DType> dtype = dtype_from_safetensors(s)) return *dtype;
  if (std::find(kUnsupportedDTypes.begin(), kUnsupportedDTypes.end(), s) !=
      kUnsupportedDTypes.end()) {
    fail(ErrorKind::kUnsupported, "{}: tensor '{}': dtype {} is not supported yet", what, name, s);
  }
  fail_input(
      "{}: tensor '{}': unknown dtype {} (expected F64, F32, F16, BF16, I64, I32, I16, "
      "I8, U8 or BOOL)",
      what, name, quoted(value));
}

std::vector<std::int64_t> parse_shape(const json& value, std::string_view what,
                                      std::string_view name) {
  if (!value.is_array()) {
    fail_input("{}: tensor '{}': field 'shape': expected an array of integers, got {}", what, name,
               quoted(value));
  }
  std::vector<std::int64_t> shape;
  shape.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const json& d = value[i];
    // nlohmann stores non-negative integers as unsigned, negative ones as
    // signed and anything with a fraction or exponent as a float.
    if (!d.is_number_unsigned() || d.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      fail_input("{}: tensor '{}': shape[{}] is {}, expected a non-negative integer", what, name, i,
                 quoted(d));
    }
    shape.push_back(static_cast<std::int64_t>(d.get<std::uint64_t>()));
  }
  return shape;
}

TensorInfo parse_tensor(const std::string& name, const json& value, std::string_view what,
                        std::uint64_t data_size) {
  if (!value.is_object()) {
    fail_input("{}: tensor '{}': expected an object with dtype, shape and data_offsets, got {}",
               what, name, quoted(value));
  }
  for (const auto& [key, unused] : value.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets") {
      fail_input("{}: tensor '{}': unknown field '{}'", what, name, key);
    }
  }
  for (const char* key : {"dtype", "shape", "data_offsets"}) {
    if (!value.contains(key)) fail_input("{}: tensor '{}': missing field '{}'", what, name, key);
  }
  TensorInfo info;
  info.name = name;
  info.dtype = parse_dtype(value["dtype"], what, name);
  info.shape = parse_shape(value["shape"], what, name);
  std::uint64_t n_bytes = checked_n_bytes(info.dtype, info.shape, what, name);

  const json& offsets = value["data_offsets"];
  if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
      !offsets[1].is_number_unsigned()) {
    fail_input(
        "{}: tensor '{}': data_offsets is {}, expected [begin, end] with non-negative "
        "integers",
        what, name, quoted(offsets));
  }
  info.offset_begin = offsets[0].get<std::uint64_t>();
  info.offset_end = offsets[1].get<std::uint64_t>();
  if (info.offset_end < info.offset_begin) {
    fail_input("{}: tensor '{}': data_offsets [{}, {}] end before start", what, name,
               info.offset_begin, info.offset_end);
  }
  if (info.offset_end - info.offset_begin != n_bytes) {
    fail_input("{}: tensor '{}': data_offsets [{}, {}] hold {} bytes but {} shape [{}] needs {}",
               what, name, info.offset_begin, info.offset_end, info.offset_end - info.offset_begin,
               dtype_safetensors_name(info.dtype), fmt::join(info.shape, ", "), n_bytes);
  }
  if (info.offset_end > data_size) {
    fail_input(
        "{}: tensor '{}': data_offsets [{}, {}] run past the end of the data ({} bytes); "
        "is the file truncated?",
        what, name, info.offset_begin, info.offset_end, data_size);
  }
  return info;
}

void parse_metadata(const json& value, std::string_view what,
                    std::map<std::string, std::string>& out) {
  if (value.is_null()) return;  // the reference reader treats null as absent
  if (!value.is_object()) {
    fail_input("{}: __metadata__: expected an object of strings, got {}", what, quoted(value));
  }
  for (const auto& [key, v] : value.items()) {
    if (!v.is_string()) {
      fail_input("{}: __metadata__: field '{}': expected a string, got {}", what, key, quoted(v));
    }
    out.emplace(key, v.get<std::string>());
  }
}

// The data region must be covered exactly once: sorted by start, each tensor
// begins where the previous ended, and the last ends at the end of the file.
// Anything else hides bytes (a polyglot file) or aliases two tensors.
void check_tiling(const std::vector<TensorInfo>& tensors, std::uint64_t data_size,
                  std::string_view what) {
  std::uint64_t pos = 0;
  const TensorInfo* prev = nullptr;
  for (const TensorInfo& t : tensors) {
    if (t.offset_begin < pos) {
      fail_input("{}: tensor '{}': data_offsets [{}, {}] overlap tensor '{}' [{}, {}]", what,
                 t.name, t.offset_begin, t.offset_end, prev->name, prev->offset_begin,
                 prev->offset_end);
    }
    if (t.offset_begin > pos) {
      fail_input("{}: tensor '{}': data_offsets [{}, {}] leave a gap of {} unused bytes after {}",
                 what, t.name, t.offset_begin, t.offset_end, t.offset_begin - pos,
                 prev == nullptr ? std::string("the start of the data")
                                 : fmt::format("tensor '{}'", prev->name));
    }
    pos = t.offset_end;
    prev = &t;
  }
  if (pos != data_size) {
    fail_input("{}: {} trailing bytes after the end of the tensor data (offset {} of {})", what,
               data_size - pos, pos, data_size);
  }
}

// JSON string literal; names and metadata come from callers and may hold
// invalid UTF-8, which nlohmann refuses to dump.
std::string json_quote(const std::string& s, std::string_view what, std::string_view field) {
  try {
    return json(s).dump();
  } catch (const json::type_error&) {
    fail_input("{}: {} is not valid UTF-8", what, field);
  }
}

}  // namespace

std::uint64_t TensorInfo::n_elements() const {
  std::optional<std::uint64_t> n = checked_product(shape);
  ENCLAVE_CHECK(n.has_value());
  return *n;
}

SafetensorsHeader parse_safetensors(std::span<const std::uint8_t> file_bytes,
                                    std::string_view what) {
  // Every size check comes before anything is copied or allocated, so a
  // hostile length cannot make us reserve memory.
  if (file_bytes.size() < 8) {
    fail_input("{}: file is {} bytes, too short for the 8-byte header length", what,
               file_bytes.size());
  }
  const std::uint64_t n = read_u64_le(file_bytes.data());
  if (n > kSafetensorsMaxHeader) {
    fail_input("{}: header length {} is over the limit of {} bytes", what, n,
               kSafetensorsMaxHeader);
  }
  if (n > file_bytes.size() - 8) {
    fail_input("{}: header length {} runs past the end of the file ({} bytes)", what, n,
               file_bytes.size());
  }
  std::string_view text(reinterpret_cast<const char*>(file_bytes.data() + 8), n);
  // The reference reader insists on '{' first; accepting more (a BOM, leading
  // spaces) would let us load files other tools reject.
  if (text.empty() || text.front() != '{') {
    fail_input("{}: header is not a JSON object (it must start with '{{')", what);
  }
  // nlohmann stops at a NUL as if the input ended, which would hide bytes
  // after it; JSON allows no raw NUL anywhere, so refuse it here.
  if (std::size_t nul = text.find('\0'); nul != std::string_view::npos) {
    fail_input("{}: header: invalid JSON: NUL byte at offset {}", what, 8 + nul);
  }
  json header =
      parse_json(text, fmt::format("{}: header", what), JsonLimits{.max_depth = kHeaderMaxDepth});
  ENCLAVE_CHECK(header.is_object());

  SafetensorsHeader out;
  out.data_start = 8 + n;
  const std::uint64_t data_size = file_bytes.size() - out.data_start;
  // Duplicate tensor names are duplicate JSON keys, which parse_json rejects.
  for (const auto& [name, value] : header.items()) {
    if (name == "__metadata__") {
      parse_metadata(value, what, out.metadata);
    } else {
      out.tensors.push_back(parse_tensor(name, value, what, data_size));
    }
  }
  std::stable_sort(out.tensors.begin(), out.tensors.end(),
                   [](const TensorInfo& a, const TensorInfo& b) {
                     return a.offset_begin != b.offset_begin ? a.offset_begin < b.offset_begin
                                                             : a.offset_end < b.offset_end;
                   });
  check_tiling(out.tensors, data_size, what);
  return out;
}

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path)
    : file_(path), header_(parse_safetensors(file_.bytes(), path.string())) {
  for (std::size_t i = 0; i < header_.tensors.size(); ++i) {
    index_.emplace(header_.tensors[i].name, i);
  }
}

const TensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &header_.tensors[it->second];
}

std::span<const std::uint8_t> SafetensorsFile::data(const TensorInfo& info) const {
  // A TensorInfo from another file is a programmer error, not bad input.
  ENCLAVE_CHECK(info.offset_begin <= info.offset_end &&
                info.offset_end <= file_.size() - header_.data_start);
  return file_.bytes().subspan(header_.data_start + info.offset_begin, info.n_bytes());
}

void write_safetensors(const std::filesystem::path& path, const std::vector<TensorToWrite>& tensors,
                       const std::map<std::string, std::string>& metadata) {
  const std::string what = path.string();
  // The whole header is built and checked before the temp file exists, so a
  // bad argument leaves nothing behind.
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [key, value] : metadata) {
      if (!first) header += ',';
      first = false;
      header += json_quote(key, what, "a __metadata__ key");
      header += ':';
      header += json_quote(value, what, fmt::format("__metadata__ field '{}'", key));
    }
    header += '}';
  }
  std::set<std::string_view> names;
  std::uint64_t offset = 0;
  for (std::size_t index = 0; index < tensors.size(); ++index) {
    const TensorToWrite& t = tensors[index];
    // First, so that no later message quotes a name that is not UTF-8.
    const std::string name_json =
        json_quote(t.name, what, fmt::format("the name of tensor #{}", index));
    if (t.name == "__metadata__") {
      fail_input("{}: tensor name '__metadata__' is reserved by the format", what);
    }
    if (!names.insert(t.name).second) fail_input("{}: duplicate tensor name '{}'", what, t.name);
    for (std::size_t i = 0; i < t.shape.size(); ++i) {
      if (t.shape[i] < 0) {
        fail_input("{}: tensor '{}': shape[{}] is {}, expected a non-negative integer", what,
                   t.name, i, t.shape[i]);
      }
    }
    const std::uint64_t n_bytes = checked_n_bytes(t.dtype, t.shape, what, t.name);
    if (t.bytes.size() != n_bytes) {
      fail_input("{}: tensor '{}': {} bytes given but {} shape [{}] needs {}", what, t.name,
                 t.bytes.size(), dtype_safetensors_name(t.dtype), fmt::join(t.shape, ", "),
                 n_bytes);
    }
    if (header.size() > 1) header += ',';
    header += name_json;
    header += fmt::format(R"(:{{"dtype":"{}","shape":[{}],"data_offsets":[{},{}]}})",
                          dtype_safetensors_name(t.dtype), fmt::join(t.shape, ","), offset,
                          offset + n_bytes);
    offset += n_bytes;
  }
  header += '}';
  // Pad so the data region starts 8-byte aligned (8 + N is a multiple of 8),
  // exactly as the reference writer does.
  header.append((8 - header.size() % 8) % 8, ' ');
  if (header.size() > kSafetensorsMaxHeader) {
    fail_input("{}: header would be {} bytes, over the limit of {}", what, header.size(),
               kSafetensorsMaxHeader);
  }

  std::string prefix;
  append_u64_le(prefix, header.size());
  AtomicFile file(path);
  file.write(prefix);
  file.write(header);
  for (const TensorToWrite& t : tensors) file.write(t.bytes.data(), t.bytes.size());
  file.commit();
}

}  // namespace enclave
