// Data-parallel communication for training: a c10d process group over a
// TCPStore rendezvous (PyTorch's own distributed engine, as torchrun sets
// it up): node 0 hosts the store at master_addr:master_port, every process
// connects with its global rank, and the group is Gloo. Gradients are
// all-reduced as one flat buffer per step. With --device cuda each process
// of a machine takes card local_rank (train.cpp); the group stays Gloo,
// which c10d also runs on CUDA tensors. NCCL is not wired in: Debian's
// libtorch is CPU-only, so a NCCL group could be neither built nor tested
// here.
// Gloo's network interface: $GLOO_SOCKET_IFNAME if set, loopback when the
// master is local, else the interface of this host's name.
// Thread safety: one group per process, used by the training thread only.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "train/train.h"  // DistOptions

namespace enclave::train {

class ProcessGroup {
 public:
  // Connects (blocking until all world_size processes joined or timeout).
  // Throws Error(kIo) naming the address when the rendezvous fails.
  explicit ProcessGroup(const DistOptions& options,
                        std::chrono::milliseconds timeout = std::chrono::milliseconds(300000));
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return options_.rank; }
  int world_size() const { return options_.world_size; }
  // Sums the tensors over all processes, in place (flattened into one
  // buffer, so one round trip). Tensors must be contiguous and have the
  // same shapes and dtypes on every process.
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors);
  void barrier();

 private:
  struct Impl;
  DistOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace enclave::train
