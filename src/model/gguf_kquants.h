// ggml's K-quant super-block formats (256 weights per block), as used by
// llama.cpp's Q4_K_M files: encoding for export and decoding for import.
//   Q4_K (144 bytes): fp16 d, fp16 dmin, 12 bytes of eight 6-bit scales sc
//     and eight 6-bit mins m, 128 bytes of 4-bit codes q; sub-block j of 32
//     weights is w = d * sc_j * q - dmin * m_j. Scale/min packing: j < 4 in
//     the low 6 bits of bytes j and j + 4; j >= 4 split into a low nibble in
//     byte j + 4 and the top 2 bits in bits 6-7 of bytes j - 4 and j. Codes:
//     chunk c of 64 weights holds byte c*32 + l = q[64c + l] | q[64c + l + 32] << 4.
//   Q6_K (210 bytes): 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits),
//     16 int8 scales, fp16 d; sub-block j of 16 is w = d * sc_j * (q - 32).
//     Half h of 128 weights: ql[64h + l] = low(q[l]) | low(q[l + 64]) << 4,
//     ql[64h + l + 32] = low(q[l + 32]) | low(q[l + 96]) << 4, qh[32h + l]
//     the high 2 bits of q[l], q[l + 32], q[l + 64], q[l + 96] at bits 0, 2,
//     4, 6 (q indices relative to the half).
// The encoders are Enclave's own (per sub-block a least-squares scale
// chosen among a few candidates, scales rounded to 6 / 8 bits against the
// block's largest); llama.cpp decodes any valid encoding.
// Torch-free. Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <span>

namespace enclave {

constexpr std::uint64_t kKQuantBlock = 256;
constexpr std::uint64_t kQ4KBytes = 144;
constexpr std::uint64_t kQ6KBytes = 210;

// values.size() a multiple of 256; out has size / 256 * kQ4KBytes (kQ6KBytes) bytes.
void encode_q4_k(std::span<const float> values, std::uint8_t* out);
void encode_q6_k(std::span<const float> values, std::uint8_t* out);
// data holds out.size() / 256 blocks.
void decode_q4_k(const std::uint8_t* data, std::span<float> out);
void decode_q6_k(const std::uint8_t* data, std::span<float> out);

}  // namespace enclave
