#include "model/gguf_kquants.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "model/float_convert.h"

namespace enclave {
namespace {

float half_at(const std::uint8_t* p) {
  std::uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

void put_half(std::uint8_t* p, float v) {
  const std::uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
}

int clamp_round(float x, int lo, int hi) {
  return std::clamp(static_cast<int>(std::nearbyint(x)), lo, hi);
}

// Sub-block j's 6-bit scale and min from the 12 packed bytes.
void scale_min(const std::uint8_t* s, int j, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

// w ~ scale * q - min with q in [0, nmax]: min = -min(0, x), and the scale
// with the least squared error among (max - lo) / (nmax + t), t in [-1, 1].
void fit_affine(const float* x, int n, int nmax, float& scale, float& min) {
  float lo = 0, hi = 0;
  for (int i = 0; i < n; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  min = -lo;
  scale = 0;
  if (hi <= lo) return;
  float best = INFINITY;
  for (int t = -4; t <= 4; ++t) {
    const float s = (hi - lo) / (static_cast<float>(nmax) + 0.25f * static_cast<float>(t));
    float err = 0;
    for (int i = 0; i < n; ++i) {
      const float q = static_cast<float>(clamp_round((x[i] - lo) / s, 0, nmax));
      const float d = s * q + lo - x[i];
      err += d * d;
    }
    if (err < best) {
      best = err;
      scale = s;
    }
  }
}

}  // namespace

void encode_q4_k(std::span<const float> values, std::uint8_t* out) {
  for (std::size_t b = 0; b < values.size() / kKQuantBlock; ++b, out += kQ4KBytes) {
    const float* x = values.data() + b * kKQuantBlock;
    float scales[8], mins[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {
      fit_affine(x + 32 * j, 32, 15, scales[j], mins[j]);
      max_scale = std::max(max_scale, scales[j]);
      max_min = std::max(max_min, mins[j]);
    }
    std::memset(out, 0, kQ4KBytes);
    const float d = max_scale / 63, dmin = max_min / 63;
    put_half(out, d);
    put_half(out + 2, dmin);
    std::uint8_t* s = out + 4;
    for (int j = 0; j < 8; ++j) {
      const int sc = d > 0 ? clamp_round(scales[j] / d, 0, 63) : 0;
      const int m = dmin > 0 ? clamp_round(mins[j] / dmin, 0, 63) : 0;
      if (j < 4) {
        s[j] = static_cast<std::uint8_t>(sc);
        s[j + 4] = static_cast<std::uint8_t>(m);
      } else {
        s[j + 4] = static_cast<std::uint8_t>((sc & 0x0F) | ((m & 0x0F) << 4));
        s[j - 4] |= static_cast<std::uint8_t>((sc >> 4) << 6);
        s[j] |= static_cast<std::uint8_t>((m >> 4) << 6);
      }
    }
    // Codes against the scales as stored (after rounding).
    std::uint8_t q[kKQuantBlock] = {};
    const float dq = half_at(out), mq = half_at(out + 2);
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      scale_min(s, j, sc, m);
      const float step = dq * static_cast<float>(sc);
      if (step == 0) continue;
      const float offset = mq * static_cast<float>(m);
      for (int i = 0; i < 32; ++i)
        q[32 * j + i] =
            static_cast<std::uint8_t>(clamp_round((x[32 * j + i] + offset) / step, 0, 15));
    }
    std::uint8_t* qs = out + 16;
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        qs[32 * c + l] = static_cast<std::uint8_t>(q[64 * c + l] | (q[64 * c + l + 32] << 4));
  }
}

void decode_q4_k(const std::uint8_t* data, std::span<float> out) {
  for (std::size_t b = 0; b < out.size() / kKQuantBlock; ++b, data += kQ4KBytes) {
    const float d = half_at(data), dmin = half_at(data + 2);
    const std::uint8_t* qs = data + 16;
    float* y = out.data() + b * kKQuantBlock;
    for (int j = 0; j < 8; ++j) {
      int sc, m;
      scale_min(data + 4, j, sc, m);
      const float step = d * static_cast<float>(sc), offset = dmin * static_cast<float>(m);
      const std::uint8_t* bytes = qs + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) {
        const int code = j % 2 == 0 ? bytes[l] & 0x0F : bytes[l] >> 4;
        y[32 * j + l] = step * static_cast<float>(code) - offset;
      }
    }
  }
}

void encode_q6_k(std::span<const float> values, std::uint8_t* out) {
  for (std::size_t b = 0; b < values.size() / kKQuantBlock; ++b, out += kQ6KBytes) {
    const float* x = values.data() + b * kKQuantBlock;
    // Symmetric per 16: the value of largest magnitude maps to code -32.
    float scales[16], max_abs = 0;
    for (int j = 0; j < 16; ++j) {
      float amax = 0, extreme = 0;
      for (int i = 0; i < 16; ++i) {
        if (std::fabs(x[16 * j + i]) > amax) {
          amax = std::fabs(x[16 * j + i]);
          extreme = x[16 * j + i];
        }
      }
      scales[j] = extreme / -32.0f;
      max_abs = std::max(max_abs, std::fabs(scales[j]));
    }
    std::memset(out, 0, kQ6KBytes);
    auto* sc = reinterpret_cast<std::int8_t*>(out + 192);
    const float d = max_abs / 127;
    put_half(out + 208, d);
    const float dq = half_at(out + 208);
    std::uint8_t q[kKQuantBlock];
    for (int j = 0; j < 16; ++j) {
      sc[j] = static_cast<std::int8_t>(dq > 0 ? clamp_round(scales[j] / dq, -127, 127) : 0);
      const float step = dq * static_cast<float>(sc[j]);
      for (int i = 0; i < 16; ++i)
        q[16 * j + i] = static_cast<std::uint8_t>(
            step != 0 ? clamp_round(x[16 * j + i] / step, -32, 31) + 32 : 32);
    }
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* qh_src = q + 128 * h;
      std::uint8_t* ql = out + 64 * h;
      std::uint8_t* qh = out + 128 + 32 * h;
      for (int l = 0; l < 32; ++l) {
        ql[l] = static_cast<std::uint8_t>((qh_src[l] & 0x0F) | ((qh_src[l + 64] & 0x0F) << 4));
        ql[l + 32] =
            static_cast<std::uint8_t>((qh_src[l + 32] & 0x0F) | ((qh_src[l + 96] & 0x0F) << 4));
        qh[l] =
            static_cast<std::uint8_t>((qh_src[l] >> 4) | ((qh_src[l + 32] >> 4) << 2) |
                                      ((qh_src[l + 64] >> 4) << 4) | ((qh_src[l + 96] >> 4) << 6));
      }
    }
  }
}

void decode_q6_k(const std::uint8_t* data, std::span<float> out) {
  for (std::size_t b = 0; b < out.size() / kKQuantBlock; ++b, data += kQ6KBytes) {
    const auto* sc = reinterpret_cast<const std::int8_t*>(data + 192);
    const float d = half_at(data + 208);
    float* y = out.data() + b * kKQuantBlock;
    for (int h = 0; h < 2; ++h) {
      const std::uint8_t* ql = data + 64 * h;
      const std::uint8_t* qh = data + 128 + 32 * h;
      for (int l = 0; l < 32; ++l) {
        const int codes[4] = {(ql[l] & 0x0F) | ((qh[l] & 3) << 4),
                              (ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4),
                              (ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4),
                              (ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)};
        for (int k = 0; k < 4; ++k) {
          const int e = 128 * h + 32 * k + l;
          y[e] = d * static_cast<float>(sc[e / 16]) * static_cast<float>(codes[k] - 32);
        }
      }
    }
  }
}

}  // namespace enclave
