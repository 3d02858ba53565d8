// Spherical linear interpolation (Shoemake 1985) of two whole tensors, as
// mergekit's `slerp` (after dvschultz's gist): the angle theta between the
// normalised tensors gives s0 = sin((1 - t) theta) / sin(theta) and
// s1 = sin(t theta) / sin(theta), applied to the original tensors. Nearly
// colinear tensors (|cos theta| > 0.9995) fall back to linear interpolation,
// where the formula loses precision.
#include <cmath>

#include "core/error.h"
#include "merge/methods.h"

namespace enclave::merge {

void slerp(double t, std::span<const float> v0, std::span<const float> v1, std::span<float> out) {
  ENCLAVE_CHECK(v0.size() == out.size() && v1.size() == out.size());
  constexpr double kDotThreshold = 0.9995;
  constexpr double kEps = 1e-8;
  double norm0 = 0.0, norm1 = 0.0, dot = 0.0;
  for (std::size_t j = 0; j < out.size(); ++j) {
    const double a = v0[j], b = v1[j];
    norm0 += a * a;
    norm1 += b * b;
    dot += a * b;
  }
  norm0 = std::sqrt(norm0);
  norm1 = std::sqrt(norm1);
  // mergekit leaves a (near) zero tensor unnormalised.
  if (norm0 > kEps) dot /= norm0;
  if (norm1 > kEps) dot /= norm1;

  double s0 = 1.0 - t, s1 = t;
  if (std::fabs(dot) <= kDotThreshold) {
    const double theta = std::acos(dot);
    const double sin_theta = std::sin(theta);
    s0 = std::sin(theta - theta * t) / sin_theta;
    s1 = std::sin(theta * t) / sin_theta;
  }
  for (std::size_t j = 0; j < out.size(); ++j) {
    out[j] = static_cast<float>(s0 * static_cast<double>(v0[j]) + s1 * static_cast<double>(v1[j]));
  }
}

}  // namespace enclave::merge
