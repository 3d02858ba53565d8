#include "train/distributed.h"

#include <cstdlib>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "core/error.h"

namespace enclave::train {

struct ProcessGroup::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
};

namespace {

std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master_addr) {
  if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      ifname != nullptr && *ifname != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (master_addr == "localhost" || master_addr.rfind("127.", 0) == 0) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

}  // namespace

ProcessGroup::ProcessGroup(const DistOptions& options, std::chrono::milliseconds timeout)
    : options_(options), impl_(std::make_unique<Impl>()) {
  ENCLAVE_CHECK(options.world_size >= 1 && options.rank >= 0 && options.rank < options.world_size);
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    store_options.numWorkers = static_cast<std::size_t>(options.world_size);
    store_options.waitWorkers = true;
    store_options.timeout = timeout;
    impl_->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);
    auto group_options = c10d::ProcessGroupGloo::Options::create(timeout);
    group_options->devices.push_back(gloo_device(options.master_addr));
    impl_->group = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, options.rank,
                                                               options.world_size, group_options);
  } catch (const c10::Error& e) {
    fail(ErrorKind::kIo, "distributed rendezvous at {}:{} (rank {} of {}) failed: {}",
         options.master_addr, options.master_port, options.rank, options.world_size,
         e.what_without_backtrace());
  }
}

ProcessGroup::~ProcessGroup() = default;

void ProcessGroup::all_reduce_sum(const std::vector<torch::Tensor>& tensors) {
  if (tensors.empty() || options_.world_size == 1) return;
  std::vector<torch::Tensor> flat_parts;
  for (const torch::Tensor& t : tensors) flat_parts.push_back(t.reshape({-1}));
  torch::Tensor flat = torch::cat(flat_parts);
  std::vector<torch::Tensor> buffers{flat};
  try {
    impl_->group->allreduce(buffers)->wait();
  } catch (const c10::Error& e) {
    fail(ErrorKind::kIo, "distributed all-reduce (rank {} of {}) failed: {}", options_.rank,
         options_.world_size, e.what_without_backtrace());
  }
  std::int64_t offset = 0;
  for (const torch::Tensor& t : tensors) {
    const std::int64_t n = t.numel();
    t.copy_(flat.slice(0, offset, offset + n).view(t.sizes()));
    offset += n;
  }
}

void ProcessGroup::barrier() {
  if (options_.world_size == 1) return;
  try {
    impl_->group->barrier()->wait();
  } catch (const c10::Error& e) {
    fail(ErrorKind::kIo, "distributed barrier (rank {} of {}) failed: {}", options_.rank,
         options_.world_size, e.what_without_backtrace());
  }
}

}  // namespace enclave::train
