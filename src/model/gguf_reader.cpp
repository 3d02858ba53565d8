#include "model/gguf_reader.h"

#include <fmt/format.h>

#include <cstring>

#include "core/error.h"
#include "model/float_convert.h"
#include "model/gguf_kquants.h"

namespace enclave {
namespace {

constexpr std::uint64_t kMaxDim = std::uint64_t{1} << 40;
constexpr std::uint64_t kMaxElements = std::uint64_t{1} << 44;
constexpr std::uint64_t kMaxString = std::uint64_t{1} << 30;

// gguf_type: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32, 5 i32, 6 f32, 7 bool, 8 string,
// 9 array, 10 u64, 11 i64, 12 f64.
std::uint64_t scalar_size(std::uint32_t type) {
  switch (type) {
    case 0:
    case 1:
    case 7:
      return 1;
    case 2:
    case 3:
      return 2;
    case 4:
    case 5:
    case 6:
      return 4;
    case 10:
    case 11:
    case 12:
      return 8;
    default:
      return 0;
  }
}

class Cursor {
 public:
  Cursor(std::span<const std::uint8_t> bytes, const std::filesystem::path& path)
      : bytes_(bytes), path_(path) {}

  [[noreturn]] void bad(const std::string& what) const {
    fail_input("{}: byte {}: {}", path_.string(), pos_, what);
  }
  std::uint64_t left() const { return bytes_.size() - pos_; }
  std::uint64_t pos() const { return pos_; }
  const std::uint8_t* take(std::uint64_t n, const char* what) {
    if (n > left())
      bad(fmt::format("{} needs {} bytes, {} left (truncated file)", what, n, left()));
    const std::uint8_t* p = bytes_.data() + pos_;
    pos_ += n;
    return p;
  }
  template <typename T>
  T read(const char* what) {
    T v;
    std::memcpy(&v, take(sizeof(T), what), sizeof(T));
    return v;
  }
  std::string string(const char* what) {
    const auto n = read<std::uint64_t>(what);
    if (n > kMaxString || n > left())
      bad(fmt::format("{}: string length {} is past the end of the file", what, n));
    const auto* p = take(n, what);
    return std::string(reinterpret_cast<const char*>(p), n);
  }

 private:
  std::span<const std::uint8_t> bytes_;
  const std::filesystem::path& path_;
  std::uint64_t pos_ = 0;
};

GgufValue read_scalar(Cursor& c, std::uint32_t type, const std::string& key) {
  GgufValue out;
  out.type = type;
  switch (type) {
    case 0:
      out.v = std::uint64_t{c.read<std::uint8_t>(key.c_str())};
      break;
    case 1:
      out.v = std::int64_t{c.read<std::int8_t>(key.c_str())};
      break;
    case 2:
      out.v = std::uint64_t{c.read<std::uint16_t>(key.c_str())};
      break;
    case 3:
      out.v = std::int64_t{c.read<std::int16_t>(key.c_str())};
      break;
    case 4:
      out.v = std::uint64_t{c.read<std::uint32_t>(key.c_str())};
      break;
    case 5:
      out.v = std::int64_t{c.read<std::int32_t>(key.c_str())};
      break;
    case 6:
      out.v = double{c.read<float>(key.c_str())};
      break;
    case 7: {
      const auto b = c.read<std::uint8_t>(key.c_str());
      if (b > 1) c.bad(fmt::format("metadata '{}': bool value {}", key, b));
      out.v = b == 1;
      break;
    }
    case 8:
      out.v = c.string(key.c_str());
      break;
    case 10:
      out.v = c.read<std::uint64_t>(key.c_str());
      break;
    case 11:
      out.v = c.read<std::int64_t>(key.c_str());
      break;
    case 12:
      out.v = c.read<double>(key.c_str());
      break;
    default:
      c.bad(fmt::format("metadata '{}': unknown value type {}", key, type));
  }
  return out;
}

GgufValue read_value(Cursor& c, std::uint32_t type, const std::string& key) {
  if (type != 9) return read_scalar(c, type, key);
  const auto elem = c.read<std::uint32_t>(key.c_str());
  const auto n = c.read<std::uint64_t>(key.c_str());
  if (elem == 9) c.bad(fmt::format("metadata '{}': nested arrays are not allowed", key));
  // Every element takes at least one byte (strings: 8), so a count larger
  // than the bytes left is a lie; checked before reserving.
  const std::uint64_t min_size = elem == 8 ? 8 : scalar_size(elem);
  if (min_size == 0) c.bad(fmt::format("metadata '{}': unknown array element type {}", key, elem));
  if (n > c.left() / min_size)
    c.bad(fmt::format("metadata '{}': array of {} elements does not fit in the file", key, n));
  GgufValue out;
  out.type = elem;
  GgufArray items;
  items.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) items.push_back(read_scalar(c, elem, key));
  out.v = std::move(items);
  return out;
}

bool known_type(std::uint32_t t) {
  return t == 0 || t == 1 || t == 2 || t == 8 || t == 12 || t == 14 || t == 30;
}

std::uint64_t checked_align(std::uint64_t n, std::uint64_t align, Cursor& c) {
  if (n > UINT64_MAX - align) c.bad("offset overflows when padded");
  return (n + align - 1) / align * align;
}

}  // namespace

GgufFile::GgufFile(const std::filesystem::path& path)
    : path_(path), map_(std::make_unique<MappedFile>(path)) {
  Cursor c(map_->bytes(), path_);
  const auto* magic = c.take(4, "magic");
  if (std::memcmp(magic, "GGUF", 4) != 0) c.bad("not a GGUF file (magic is not 'GGUF')");
  const auto version = c.read<std::uint32_t>("version");
  if (version == 0x03000000 || version == 0x02000000)
    c.bad("a big-endian (byte-swapped) GGUF file; only little-endian files are read");
  if (version != 2 && version != 3)
    c.bad(fmt::format("GGUF version {} is not supported (2 or 3)", version));
  const auto n_tensors = c.read<std::uint64_t>("tensor count");
  const auto n_kv = c.read<std::uint64_t>("metadata count");
  if (n_tensors > kMaxTensors)
    c.bad(fmt::format("tensor count {} is over the limit {}", n_tensors, kMaxTensors));
  if (n_kv > kMaxMetadata)
    c.bad(fmt::format("metadata count {} is over the limit {}", n_kv, kMaxMetadata));
  for (std::uint64_t i = 0; i < n_kv; ++i) {
    std::string key = c.string("metadata key");
    if (key.empty()) c.bad("empty metadata key");
    const auto type = c.read<std::uint32_t>(key.c_str());
    GgufValue value = read_value(c, type, key);
    if (!meta_.emplace(key, std::move(value)).second)
      c.bad(fmt::format("metadata key '{}' appears twice", key));
  }
  std::uint64_t alignment = 32;
  if (const GgufValue* a = find("general.alignment")) {
    if (a->type != 4) c.bad("general.alignment must be a u32");
    alignment = std::get<std::uint64_t>(a->v);
    if (alignment < 8 || alignment > (1 << 16) || (alignment & (alignment - 1)) != 0)
      c.bad(fmt::format("general.alignment {} is not a power of two in [8, 65536]", alignment));
  }
  struct Info {
    GgufTensor t;
    std::uint64_t offset;
  };
  std::vector<Info> infos;
  infos.reserve(n_tensors);
  for (std::uint64_t i = 0; i < n_tensors; ++i) {
    Info info;
    info.t.name = c.string("tensor name");
    if (info.t.name.empty()) c.bad("empty tensor name");
    const auto n_dims = c.read<std::uint32_t>(info.t.name.c_str());
    if (n_dims < 1 || n_dims > 4)
      c.bad(fmt::format("tensor '{}': {} dims (1 to 4 allowed)", info.t.name, n_dims));
    std::vector<std::uint64_t> ne(n_dims);
    std::uint64_t n = 1;
    for (auto& d : ne) {
      d = c.read<std::uint64_t>(info.t.name.c_str());
      if (d == 0 || d > kMaxDim)
        c.bad(fmt::format("tensor '{}': dim {} is out of range [1, 2^40]", info.t.name, d));
      if (n > kMaxElements / d)
        c.bad(fmt::format("tensor '{}': element count overflows", info.t.name));
      n *= d;
    }
    const auto type = c.read<std::uint32_t>(info.t.name.c_str());
    if (!known_type(type))
      c.bad(
          fmt::format("tensor '{}': ggml type {} is not one Enclave reads (f32, f16, bf16, q8_0, "
                      "q4_0, q4_k, q6_k)",
                      info.t.name, type));
    info.t.type = static_cast<GgmlType>(type);
    if (n % ggml_block_size(info.t.type) != 0 || ne[0] % ggml_block_size(info.t.type) != 0)
      c.bad(fmt::format("tensor '{}': rows of {} are not whole blocks of {}", info.t.name, ne[0],
                        ggml_block_size(info.t.type)));
    info.t.shape.assign(ne.rbegin(), ne.rend());
    info.t.n_elements = n;
    info.offset = c.read<std::uint64_t>(info.t.name.c_str());
    infos.push_back(std::move(info));
  }
  const std::uint64_t data_start = checked_align(c.pos(), alignment, c);
  const std::uint64_t size = map_->size();
  std::uint64_t expected = 0;
  for (Info& info : infos) {
    const std::uint64_t nbytes = ggml_nbytes(info.t.type, info.t.n_elements);
    if (info.offset != expected)
      c.bad(fmt::format("tensor '{}': offset {} differs from the running total {}", info.t.name,
                        info.offset, expected));
    if (data_start > size || nbytes > size - data_start || info.offset > size - data_start - nbytes)
      c.bad(
          fmt::format("tensor '{}': data at {} + {} bytes runs past the end of the file ({} bytes)",
                      info.t.name, data_start + info.offset, nbytes, size));
    info.t.data = map_->bytes().subspan(data_start + info.offset, nbytes);
    expected = checked_align(info.offset + nbytes, alignment, c);
    for (const GgufTensor& prev : tensors_)
      if (prev.name == info.t.name) c.bad(fmt::format("tensor '{}' appears twice", info.t.name));
    tensors_.push_back(std::move(info.t));
  }
  // The data section holds every tensor padded to the alignment (as
  // llama.cpp reads it); shorter is a truncated file.
  if (data_start > size || expected > size - data_start)
    c.bad(fmt::format("the data section needs {} bytes from {}, the file has {} (truncated file)",
                      expected, data_start, size));
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = meta_.find(key);
  return it == meta_.end() ? nullptr : &it->second;
}

std::string GgufFile::get_string(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !std::holds_alternative<std::string>(v->v))
    fail_input("{}: metadata '{}': {}", path_.string(), key, v ? "expected a string" : "missing");
  return std::get<std::string>(v->v);
}

std::uint64_t GgufFile::get_uint(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) fail_input("{}: metadata '{}': missing", path_.string(), key);
  if (const auto* u = std::get_if<std::uint64_t>(&v->v)) return *u;
  if (const auto* i = std::get_if<std::int64_t>(&v->v); i && *i >= 0)
    return static_cast<std::uint64_t>(*i);
  fail_input("{}: metadata '{}': expected a non-negative integer", path_.string(), key);
}

std::uint64_t GgufFile::get_uint(const std::string& key, std::uint64_t fallback) const {
  return find(key) ? get_uint(key) : fallback;
}

double GgufFile::get_float(const std::string& key, double fallback) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return fallback;
  if (const auto* d = std::get_if<double>(&v->v)) return *d;
  fail_input("{}: metadata '{}': expected a float", path_.string(), key);
}

std::vector<std::string> GgufFile::get_strings(const std::string& key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || !v->is_array() || v->type != 8)
    fail_input("{}: metadata '{}': {}", path_.string(), key,
               v ? "expected an array of strings" : "missing");
  std::vector<std::string> out;
  for (const GgufValue& s : std::get<GgufArray>(v->v)) out.push_back(std::get<std::string>(s.v));
  return out;
}

const GgufTensor* GgufFile::tensor(const std::string& name) const {
  for (const GgufTensor& t : tensors_)
    if (t.name == name) return &t;
  return nullptr;
}

void ggml_decode(GgmlType type, std::span<const std::uint8_t> data, std::span<float> out) {
  ENCLAVE_CHECK(data.size() == ggml_nbytes(type, out.size()));
  const std::uint8_t* p = data.data();
  auto get16 = [&] {
    std::uint16_t bits;
    std::memcpy(&bits, p, 2);
    p += 2;
    return bits;
  };
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(out.data(), p, out.size() * 4);
      return;
    case GgmlType::kF16:
      for (float& x : out) x = f16_to_f32(get16());
      return;
    case GgmlType::kBF16:
      for (float& x : out) x = bf16_to_f32(get16());
      return;
    case GgmlType::kQ8_0:
      for (std::size_t b = 0; b < out.size(); b += 32) {
        const float d = f16_to_f32(get16());
        for (std::size_t i = 0; i < 32; ++i)
          out[b + i] = d * static_cast<float>(static_cast<std::int8_t>(*p++));
      }
      return;
    case GgmlType::kQ4_K:
      decode_q4_k(p, out);
      return;
    case GgmlType::kQ6_K:
      decode_q6_k(p, out);
      return;
    case GgmlType::kQ4_0:
      for (std::size_t b = 0; b < out.size(); b += 32) {
        const float d = f16_to_f32(get16());
        for (std::size_t i = 0; i < 16; ++i, ++p) {
          out[b + i] = d * static_cast<float>((*p & 0x0F) - 8);
          out[b + 16 + i] = d * static_cast<float>((*p >> 4) - 8);
        }
      }
      return;
  }
}

}  // namespace enclave
