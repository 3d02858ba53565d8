#include "model/gguf_writer.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/error.h"
#include "core/file.h"
#include "model/float_convert.h"
#include "model/gguf_kquants.h"

namespace enclave {
namespace {

constexpr std::uint64_t kAlignment = 32;

// gguf_type values.
enum : std::uint32_t {
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
};

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // GGUF is little-endian, as are our targets
  out.append(bytes, sizeof(T));
}

void put_string(std::string& out, std::string_view s) {
  put<std::uint64_t>(out, s.size());
  out.append(s);
}

std::uint64_t align(std::uint64_t n) { return (n + kAlignment - 1) / kAlignment * kAlignment; }

}  // namespace

std::string_view ggml_type_name(GgmlType type) {
  switch (type) {
    case GgmlType::kF32:
      return "f32";
    case GgmlType::kF16:
      return "f16";
    case GgmlType::kBF16:
      return "bf16";
    case GgmlType::kQ8_0:
      return "q8_0";
    case GgmlType::kQ4_0:
      return "q4_0";
    case GgmlType::kQ4_K:
      return "q4_k";
    case GgmlType::kQ6_K:
      return "q6_k";
  }
  return "?";
}

std::uint64_t ggml_block_size(GgmlType type) {
  if (type == GgmlType::kQ4_K || type == GgmlType::kQ6_K) return kKQuantBlock;
  return type == GgmlType::kQ8_0 || type == GgmlType::kQ4_0 ? 32 : 1;
}

std::uint64_t ggml_nbytes(GgmlType type, std::uint64_t n) {
  switch (type) {
    case GgmlType::kF32:
      return 4 * n;
    case GgmlType::kF16:
    case GgmlType::kBF16:
      return 2 * n;
    case GgmlType::kQ8_0:
      return n / 32 * (2 + 32);
    case GgmlType::kQ4_0:
      return n / 32 * (2 + 16);
    case GgmlType::kQ4_K:
      return n / kKQuantBlock * kQ4KBytes;
    case GgmlType::kQ6_K:
      return n / kKQuantBlock * kQ6KBytes;
  }
  return 0;
}

void ggml_encode(GgmlType type, std::span<const float> v, std::vector<std::uint8_t>& out) {
  const std::size_t base = out.size();
  out.resize(base + ggml_nbytes(type, v.size()));
  std::uint8_t* p = out.data() + base;
  auto put16 = [&](std::uint16_t bits) {
    std::memcpy(p, &bits, 2);
    p += 2;
  };
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(p, v.data(), v.size() * 4);
      return;
    case GgmlType::kF16:
      for (float x : v) put16(f32_to_f16(x));
      return;
    case GgmlType::kBF16:
      for (float x : v) put16(f32_to_bf16(x));
      return;
    case GgmlType::kQ8_0:
      ENCLAVE_CHECK(v.size() % 32 == 0);
      for (std::size_t b = 0; b < v.size(); b += 32) {
        float amax = 0;
        for (std::size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(v[b + i]));
        const float d = amax / 127.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        put16(f32_to_f16(d));
        for (std::size_t i = 0; i < 32; ++i)
          *p++ = static_cast<std::uint8_t>(static_cast<std::int8_t>(std::round(v[b + i] * id)));
      }
      return;
    case GgmlType::kQ4_K:
      ENCLAVE_CHECK(v.size() % kKQuantBlock == 0);
      encode_q4_k(v, p);
      return;
    case GgmlType::kQ6_K:
      ENCLAVE_CHECK(v.size() % kKQuantBlock == 0);
      encode_q6_k(v, p);
      return;
    case GgmlType::kQ4_0:
      ENCLAVE_CHECK(v.size() % 32 == 0);
      for (std::size_t b = 0; b < v.size(); b += 32) {
        float amax = 0, max = 0;  // the value of largest magnitude, with its sign
        for (std::size_t i = 0; i < 32; ++i) {
          if (std::fabs(v[b + i]) > amax) {
            amax = std::fabs(v[b + i]);
            max = v[b + i];
          }
        }
        const float d = max / -8.0f;
        const float id = d != 0 ? 1.0f / d : 0.0f;
        put16(f32_to_f16(d));
        for (std::size_t i = 0; i < 16; ++i) {
          auto code = [&](float x) {
            return static_cast<std::uint8_t>(std::min(15, static_cast<int>(x * id + 8.5f)));
          };
          *p++ = static_cast<std::uint8_t>(code(v[b + i]) | (code(v[b + 16 + i]) << 4));
        }
      }
      return;
  }
}

void GgufWriter::key(const std::string& key, std::uint32_t type) {
  put_string(kv_, key);
  put<std::uint32_t>(kv_, type);
  ++n_kv_;
}

void GgufWriter::add_string(const std::string& k, std::string_view value) {
  key(k, kString);
  put_string(kv_, value);
}
void GgufWriter::add_u32(const std::string& k, std::uint32_t value) {
  key(k, kUint32);
  put(kv_, value);
}
void GgufWriter::add_i32(const std::string& k, std::int32_t value) {
  key(k, kInt32);
  put(kv_, value);
}
void GgufWriter::add_f32(const std::string& k, float value) {
  key(k, kFloat32);
  put(kv_, value);
}
void GgufWriter::add_bool(const std::string& k, bool value) {
  key(k, kBool);
  put<std::uint8_t>(kv_, value ? 1 : 0);
}
void GgufWriter::add_strings(const std::string& k, const std::vector<std::string>& values) {
  key(k, kArray);
  put<std::uint32_t>(kv_, kString);
  put<std::uint64_t>(kv_, values.size());
  for (const std::string& s : values) put_string(kv_, s);
}
void GgufWriter::add_i32s(const std::string& k, const std::vector<std::int32_t>& values) {
  key(k, kArray);
  put<std::uint32_t>(kv_, kInt32);
  put<std::uint64_t>(kv_, values.size());
  for (std::int32_t v : values) put(kv_, v);
}
void GgufWriter::add_f32s(const std::string& k, const std::vector<float>& values) {
  key(k, kArray);
  put<std::uint32_t>(kv_, kFloat32);
  put<std::uint64_t>(kv_, values.size());
  for (float v : values) put(kv_, v);
}

void GgufWriter::add_tensor(const std::string& name, GgmlType type,
                            std::vector<std::uint64_t> shape, Fill fill) {
  tensors_.push_back({name, type, std::move(shape), std::move(fill)});
}

void GgufWriter::write(const std::filesystem::path& path) const {
  std::string head;
  head.append("GGUF");
  put<std::uint32_t>(head, 3);
  put<std::uint64_t>(head, tensors_.size());
  put<std::uint64_t>(head, n_kv_);
  head += kv_;
  std::uint64_t offset = 0;
  std::vector<std::uint64_t> sizes;
  for (const Tensor& t : tensors_) {
    std::uint64_t n = 1;
    for (std::uint64_t d : t.shape) n *= d;
    put_string(head, t.name);
    put<std::uint32_t>(head, static_cast<std::uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put<std::uint64_t>(head, *it);
    put<std::uint32_t>(head, static_cast<std::uint32_t>(t.type));
    put<std::uint64_t>(head, offset);
    sizes.push_back(ggml_nbytes(t.type, n));
    offset = align(offset + sizes.back());
  }
  head.resize(align(head.size()), '\0');
  AtomicFile file(path);
  file.write(head);
  std::vector<std::uint8_t> data;
  const std::string padding(kAlignment, '\0');
  for (std::size_t i = 0; i < tensors_.size(); ++i) {
    data.clear();
    tensors_[i].fill(data);
    if (data.size() != sizes[i]) {
      fail(ErrorKind::kInternal, "gguf: tensor '{}' filled {} bytes, expected {}", tensors_[i].name,
           data.size(), sizes[i]);
    }
    file.write(data.data(), data.size());
    file.write(padding.data(), align(sizes[i]) - sizes[i]);
  }
  file.commit();
}

}  // namespace enclave
