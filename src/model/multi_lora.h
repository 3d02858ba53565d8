// MultiLora: several saved LoRA adapters on one base model at once, each
// batch row applying its own (S-LoRA, Sheng et al. 2023; Punica): the base
// weights and the KV pool are shared, and each adapted Linear adds, for the
// rows of adapter k only, scaling_k * x A_k^T B_k^T. Rows of the base (and
// adapters that do not adapt a layer) get nothing added. The batch decoder
// sets the rows' adapters before each forward.
// Thread safety: none; set_rows and forward on one thread.
#pragma once

#include <torch/torch.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "model/transformer.h"

namespace enclave {

class MultiLora {
 public:
  // Reads each PEFT directory like LoraAdapter::attach_saved (same checks
  // and errors) and hooks every adapted Linear; adapter k of `dirs` is id
  // k + 1 (0 is the base).
  static std::shared_ptr<MultiLora> attach(TransformerImpl& model,
                                           const std::vector<std::filesystem::path>& dirs);
  ~MultiLora();  // unhooks
  MultiLora(const MultiLora&) = delete;
  MultiLora& operator=(const MultiLora&) = delete;

  int n_adapters() const { return n_adapters_; }
  // The adapter id of each batch row of the next forward passes.
  void set_rows(const std::vector<int>& adapters);

 private:
  struct Rows;
  struct Layer;
  MultiLora() = default;

  int n_adapters_ = 0;
  std::shared_ptr<Rows> rows_;
  std::vector<std::shared_ptr<Layer>> layers_;
};

}  // namespace enclave
