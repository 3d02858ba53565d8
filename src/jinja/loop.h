// jinja/loop: the state behind a for loop's `loop` variable (index, length,
// previtem/nextitem, changed()), which the renderer advances per iteration.
// Thread safety: confined to one render.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>

#include "jinja/value.h"

namespace enclave::jinja {

struct LoopState {
  std::size_t index = 0;  // 0-based position of the current item
  std::size_t length = 0;
  std::shared_ptr<const List> items;  // the (filtered) items iterated
  Value last_changed;                 // loop.changed()'s memory; Undefined before the first call
  std::size_t depth = 1;              // loop.depth: 1, plus one per loop(...) recursion
  // For `recursive` loops: renders the loop body over other items, as
  // calling `loop(items)` does; empty otherwise.
  std::function<std::string(const Value& items)> recurse;
};

}  // namespace enclave::jinja
