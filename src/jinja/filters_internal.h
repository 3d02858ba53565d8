// jinja/filters_internal: what filters.cpp and sequence_filters.cpp share: the
// argument binder every filter uses and the sequence filters the registry
// (find_filter in filters.cpp) lists. Internal to src/jinja.
// Thread safety: stateless; each call works on one render's values.
#pragma once

#include <algorithm>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/error.h"
#include "jinja/renderer.h"
#include "jinja/value.h"

namespace enclave::jinja {

// Binds a filter's arguments to its parameters (positional, then by name);
// an unknown keyword or too many positional arguments is an error.
class Params {
 public:
  Params(Renderer& r, Args& args, std::string_view fname,
         std::initializer_list<std::pair<const char*, Value>> params)
      : values_(params.size()) {
    std::size_t k = 0;
    for (const auto& [name, def] : params) names_.push_back(name), values_[k++] = def;
    if (args.pos.size() > params.size()) {
      r.fail(fmt::format("{}() takes at most {} arguments ({} given)", fname, params.size(),
                         args.pos.size()));
    }
    for (k = 0; k < args.pos.size(); ++k) values_[k] = args.pos[k];
    for (auto& [key, v] : args.kw) {
      auto it = std::find(names_.begin(), names_.end(), key);
      if (it == names_.end())
        r.fail(fmt::format("{}() got an unexpected keyword argument '{}'", fname, key));
      values_[static_cast<std::size_t>(it - names_.begin())] = v;
    }
  }
  const Value& operator[](std::size_t k) const { return values_[k]; }

 private:
  std::vector<std::string> names_;
  std::vector<Value> values_;
};

// The sequence and collection filters (sequence_filters.cpp).
Value f_batch(Renderer& r, const Value& v, Args& args);
Value f_length(Renderer& r, const Value& v, Args& args);
Value f_dictsort(Renderer& r, const Value& v, Args& args);
Value f_first(Renderer& r, const Value& v, Args& args);
Value f_last(Renderer& r, const Value& v, Args& args);
Value f_groupby(Renderer& r, const Value& v, Args& args);
Value f_items(Renderer& r, const Value& v, Args& args);
Value f_join(Renderer& r, const Value& v, Args& args);
Value f_list(Renderer& r, const Value& v, Args& args);
Value f_map(Renderer& r, const Value& v, Args& args);
Value f_max(Renderer& r, const Value& v, Args& args);
Value f_min(Renderer& r, const Value& v, Args& args);
Value f_select(Renderer& r, const Value& v, Args& args);
Value f_reject(Renderer& r, const Value& v, Args& args);
Value f_selectattr(Renderer& r, const Value& v, Args& args);
Value f_rejectattr(Renderer& r, const Value& v, Args& args);
Value f_reverse(Renderer& r, const Value& v, Args& args);
Value f_slice(Renderer& r, const Value& v, Args& args);
Value f_sort(Renderer& r, const Value& v, Args& args);
Value f_sum(Renderer& r, const Value& v, Args& args);
Value f_unique(Renderer& r, const Value& v, Args& args);

}  // namespace enclave::jinja
