// AutocastScope: matmuls in bf16 over fp32 weights for the scope's
// lifetime (Precision::kBf16Autocast), restoring the previous state after.
// Thread safety: autocast state is per thread; use on the training thread.
#pragma once

#include <ATen/autocast_mode.h>

namespace enclave::train {

class AutocastScope {
 public:
  explicit AutocastScope(bool on) : on_(on) {
    if (!on_) return;
    previous_ = at::autocast::is_cpu_enabled();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~AutocastScope() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(previous_);
  }
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  bool on_;
  bool previous_ = false;
};

}  // namespace enclave::train
