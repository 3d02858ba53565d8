// Gradient checkpointing (Chen et al. 2016): each decoder layer's forward
// runs without keeping its activations; the backward pass runs the layer
// again with gradients on and backpropagates through that copy, as
// torch.utils.checkpoint's reentrant variant does. Memory for activations
// drops from all layers' to one layer's at about a third more compute. The
// RNG state is replayed so dropout (LoRA) draws the same masks twice.
// Thread safety: installs a hook on the model; not while it runs forward.
#pragma once

#include "model/transformer.h"

namespace enclave::train {

// Sets (enabled) or clears the model's layer runner.
void set_gradient_checkpointing(TransformerImpl& model, bool enabled);

}  // namespace enclave::train
