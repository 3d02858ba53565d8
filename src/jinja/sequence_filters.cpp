// jinja2's sequence and collection filters (jinja2/filters.py, version 3.1):
// length, first/last, slicing and batching, sorting and grouping, map and the
// select/reject family, min/max/sum, join and unique, each with jinja2's
// parameter names and defaults. The string and number filters and the
// registry are in filters.cpp.
#include <algorithm>

#include "core/error.h"
#include "jinja/builtins.h"
#include "jinja/filters_internal.h"
#include "jinja/pystr.h"
#include "jinja/renderer.h"

namespace enclave::jinja {
namespace {

std::int64_t length_of(Renderer& r, const Value& v) {
  switch (v.kind()) {
    case Kind::kString:
      return static_cast<std::int64_t>(cp_length(v.str()));
    case Kind::kList:
      return static_cast<std::int64_t>(v.items().size());
    case Kind::kDict:
      return static_cast<std::int64_t>(v.dict().items.size());
    case Kind::kUndefined:
      r.check_defined(v);
      return 0;
    default:
      r.fail("object of type '" + type_name(v) + "' has no len()");
  }
}

// jinja2's make_attrgetter: "a.b.0" walks attributes/items; digits index.
Value attr_path(Renderer& r, const Value& item, const Value& attribute) {
  if (attribute.is_integral()) return get_item(r, item, attribute);
  std::string path = py_str(attribute);
  Value cur = item;
  std::size_t start = 0;
  while (true) {
    std::size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    r.check_defined(cur, true);
    bool digits = !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit);
    cur = get_item(
        r, cur, digits ? Value::integer(parse_digits(part, INT64_MAX / 10)) : Value::string(part));
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

Value ignore_case(const Value& v) { return v.is_string() ? Value::string(py_lower(v.str())) : v; }

void py_sort(Renderer& r, std::vector<std::pair<Value, Value>>& keyed, bool reverse) {
  std::stable_sort(keyed.begin(), keyed.end(), [&](const auto& x, const auto& y) {
    bool ok = true;
    bool less = reverse ? py_less(y.first, x.first, &ok) : py_less(x.first, y.first, &ok);
    if (!ok) {
      r.fail(fmt::format("'<' not supported between instances of '{}' and '{}'", type_name(x.first),
                         type_name(y.first)));
    }
    return less;
  });
}

Value dict_items(Renderer& r, const Value& v) {
  r.check_defined(v);
  if (v.is_undefined()) return Value::list({});
  if (!v.is_dict()) r.fail("can only get item pairs from a mapping, not " + type_name(v));
  List out;
  for (const auto& [k, e] : v.dict().items) out.push_back(Value::list({k, e}, true));
  return Value::list(std::move(out));
}

// jinja2's map and select family iterate only a truthy value (`if value:`),
// so none or false map to an empty list.
List truthy_items(Renderer& r, const Value& v) {
  r.check_defined(v);
  return v.truthy() ? r.iterate(v) : List{};
}

Value min_max(Renderer& r, const Value& v, Args& args, bool want_max) {
  Params p(r, args, want_max ? "max" : "min",
           {{"case_sensitive", Value::boolean(false)}, {"attribute", Value::none()}});
  List items = r.iterate(v);
  if (items.empty())
    return Value::undefined(std::string("No aggregated item, sequence was empty."));
  std::size_t best = 0;
  auto key = [&](const Value& item) {
    Value k = p[1].is_none() ? item : attr_path(r, item, p[1]);
    return p[0].truthy() ? k : ignore_case(k);
  };
  Value best_key = key(items[0]);
  for (std::size_t k = 1; k < items.size(); ++k) {
    Value kk = key(items[k]);
    bool ok = true;
    bool better = want_max ? py_less(best_key, kk, &ok) : py_less(kk, best_key, &ok);
    if (!ok)
      r.fail("'<' not supported between instances of '" + type_name(kk) + "' and '" +
             type_name(best_key) + "'");
    if (better) {
      best = k;
      best_key = kk;
    }
  }
  return items[best];
}

// select/reject/selectattr/rejectattr share jinja2's select_or_reject.
Value select_or_reject(Renderer& r, const Value& v, Args& args, bool want, bool lookup_attr) {
  List items = truthy_items(r, v);
  std::size_t off = 0;
  Value attribute;
  if (lookup_attr) {
    if (args.pos.empty()) r.fail("Missing parameter for attribute name");
    attribute = args.pos[0];
    off = 1;
  }
  TestFn test = nullptr;
  Args test_args;
  if (args.pos.size() > off) {
    std::string tname = py_str(args.pos[off]);
    test = find_test(tname);
    if (!test) r.fail("No test named '" + tname + "'.");
    test_args.pos.assign(args.pos.begin() + static_cast<std::ptrdiff_t>(off + 1), args.pos.end());
    test_args.kw = args.kw;
  }
  List out;
  for (const auto& item : items) {
    Value x = lookup_attr ? attr_path(r, item, attribute) : item;
    bool hit;
    if (test) {
      Args a = test_args;
      hit = test(r, x, a);
    } else {
      r.check_defined(x);
      hit = x.truthy();
    }
    if (hit == want) out.push_back(item);
  }
  return Value::list(std::move(out));
}

}  // namespace

Value f_batch(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "batch", {{"linecount", Value()}, {"fill_with", Value::none()}});
  if (!p[0].is_integral() || p[0].as_int() <= 0) r.fail("batch() needs a positive linecount");
  auto n = static_cast<std::size_t>(p[0].as_int());
  List all = r.iterate(v);
  List out;
  for (std::size_t k = 0; k < all.size(); k += n) {
    List chunk(all.begin() + static_cast<std::ptrdiff_t>(k),
               all.begin() + static_cast<std::ptrdiff_t>(std::min(all.size(), k + n)));
    if (chunk.size() < n && !p[1].is_none()) chunk.resize(n, p[1]);
    out.push_back(Value::list(std::move(chunk)));
  }
  return Value::list(std::move(out));
}

Value f_length(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "length", {});
  return Value::integer(length_of(r, v));
}

Value f_dictsort(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "dictsort",
           {{"case_sensitive", Value::boolean(false)},
            {"by", Value::string("key")},
            {"reverse", Value::boolean(false)}});
  std::string by = py_str(p[1]);
  if (by != "key" && by != "value") r.fail("You can only sort by either 'key' or 'value'");
  if (!v.is_dict()) r.fail("dictsort() needs a mapping, not " + type_name(v));
  std::vector<std::pair<Value, Value>> keyed;
  for (const auto& [k, e] : v.dict().items) {
    Value key = by == "key" ? k : e;
    keyed.emplace_back(p[0].truthy() ? key : ignore_case(key), Value::list({k, e}, true));
  }
  py_sort(r, keyed, p[2].truthy());
  List out;
  for (auto& [k, item] : keyed) out.push_back(item);
  return Value::list(std::move(out));
}

Value f_first(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "first", {});
  List items = r.iterate(v);
  if (items.empty()) return Value::undefined("No first item, sequence was empty.");
  return items.front();
}

Value f_last(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "last", {});
  List items = r.iterate(v);
  if (items.empty()) return Value::undefined("No last item, sequence was empty.");
  return items.back();
}

// Sorted by the attribute, then runs of equal keys; without
// case_sensitive, strings group case-insensitively and the grouper is the
// first item's own value.
Value f_groupby(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "groupby",
           {{"attribute", Value()},
            {"default", Value::none()},
            {"case_sensitive", Value::boolean(false)}});
  auto key_of = [&](const Value& item) {
    Value k = attr_path(r, item, p[0]);
    if (k.is_undefined() && !p[1].is_none()) k = p[1];
    return k;
  };
  std::vector<std::pair<Value, Value>> keyed;
  for (const auto& item : r.iterate(v)) {
    Value k = key_of(item);
    keyed.emplace_back(p[2].truthy() ? k : ignore_case(k), item);
  }
  py_sort(r, keyed, false);
  List out;
  for (std::size_t k = 0; k < keyed.size();) {
    std::size_t end = k + 1;
    while (end < keyed.size() && py_equal(keyed[end].first, keyed[k].first)) ++end;
    List members;
    for (std::size_t j = k; j < end; ++j) members.push_back(keyed[j].second);
    Value grouper = p[2].truthy() ? keyed[k].first : key_of(members.front());
    out.push_back(Value::group_tuple(std::move(grouper), Value::list(std::move(members))));
    k = end;
  }
  return Value::list(std::move(out));
}

Value f_items(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "items", {});
  return dict_items(r, v);
}

Value f_join(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "join", {{"d", Value::string("")}, {"attribute", Value::none()}});
  List items = r.iterate(v);
  std::string sep = py_str(p[0]);
  std::string out;
  for (std::size_t k = 0; k < items.size(); ++k) {
    if (k) out += sep;
    const Value item = p[1].is_none() ? items[k] : attr_path(r, items[k], p[1]);
    out += text_of(r, item);
  }
  return Value::string(std::move(out));
}

Value f_list(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "list", {});
  return Value::list(r.iterate(v));
}

Value f_map(Renderer& r, const Value& v, Args& args) {
  List items = truthy_items(r, v);
  List out;
  out.reserve(items.size());
  const Value* attribute = nullptr;
  const Value* def = nullptr;
  for (const auto& [k, e] : args.kw) {
    if (k == "attribute") attribute = &e;
    if (k == "default") def = &e;
  }
  if (attribute) {
    for (const auto& item : items) {
      Value x = attr_path(r, item, *attribute);
      out.push_back(x.is_undefined() && def ? *def : x);
    }
    return Value::list(std::move(out));
  }
  if (args.pos.empty()) r.fail("map requires a filter argument");
  std::string fname = py_str(args.pos[0]);
  FilterFn fn = find_filter(fname);
  if (!fn) r.fail("No filter named '" + fname + "'.");
  for (const auto& item : items) {
    Args rest;
    rest.pos.assign(args.pos.begin() + 1, args.pos.end());
    rest.kw = args.kw;
    out.push_back(fn(r, item, rest));
  }
  return Value::list(std::move(out));
}

Value f_max(Renderer& r, const Value& v, Args& args) { return min_max(r, v, args, true); }
Value f_min(Renderer& r, const Value& v, Args& args) { return min_max(r, v, args, false); }

Value f_select(Renderer& r, const Value& v, Args& a) {
  return select_or_reject(r, v, a, true, false);
}
Value f_reject(Renderer& r, const Value& v, Args& a) {
  return select_or_reject(r, v, a, false, false);
}
Value f_selectattr(Renderer& r, const Value& v, Args& a) {
  return select_or_reject(r, v, a, true, true);
}
Value f_rejectattr(Renderer& r, const Value& v, Args& a) {
  return select_or_reject(r, v, a, false, true);
}

Value f_reverse(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "reverse", {});
  List items = r.iterate(v);
  std::reverse(items.begin(), items.end());
  if (v.is_string()) {
    std::string out;
    for (const auto& c : items) out += c.str();
    return Value::string(std::move(out));
  }
  return Value::list(std::move(items));
}

Value f_slice(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "slice", {{"slices", Value()}, {"fill_with", Value::none()}});
  if (!p[0].is_integral() || p[0].as_int() <= 0)
    r.fail("slice() needs a positive number of slices");
  List seq = r.iterate(v);
  auto slices = static_cast<std::size_t>(p[0].as_int());
  std::size_t per = seq.size() / slices, extra = seq.size() % slices, offset = 0;
  List out;
  for (std::size_t k = 0; k < slices; ++k) {
    std::size_t start = offset + k * per;
    if (k < extra) ++offset;
    std::size_t end = offset + (k + 1) * per;
    List part(seq.begin() + static_cast<std::ptrdiff_t>(start),
              seq.begin() + static_cast<std::ptrdiff_t>(end));
    if (!p[1].is_none() && k >= extra) part.push_back(p[1]);
    out.push_back(Value::list(std::move(part)));
  }
  return Value::list(std::move(out));
}

Value f_sort(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "sort",
           {{"reverse", Value::boolean(false)},
            {"case_sensitive", Value::boolean(false)},
            {"attribute", Value::none()}});
  List items = r.iterate(v);
  std::vector<std::pair<Value, Value>> keyed;
  for (auto& item : items) {
    Value k = p[2].is_none() ? item : attr_path(r, item, p[2]);
    keyed.emplace_back(p[1].truthy() ? k : ignore_case(k), item);
  }
  py_sort(r, keyed, p[0].truthy());
  List out;
  for (auto& [k, item] : keyed) out.push_back(item);
  return Value::list(std::move(out));
}

Value f_sum(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "sum", {{"attribute", Value::none()}, {"start", Value::integer(0)}});
  Value total = p[1];
  for (const auto& item : r.iterate(v)) {
    Value x = p[0].is_none() ? item : attr_path(r, item, p[0]);
    if (!total.is_number() || !x.is_number()) {
      r.fail("unsupported operand type(s) for +: '" + type_name(total) + "' and '" + type_name(x) +
             "'");
    }
    if (total.is_integral() && x.is_integral()) {
      total = Value::integer(total.as_int() + x.as_int());
    } else {
      total = Value::floating(total.as_double() + x.as_double());
    }
  }
  return total;
}

Value f_unique(Renderer& r, const Value& v, Args& args) {
  Params p(r, args, "unique",
           {{"case_sensitive", Value::boolean(false)}, {"attribute", Value::none()}});
  List out;
  List seen;
  for (const auto& item : r.iterate(v)) {
    Value k = p[1].is_none() ? item : attr_path(r, item, p[1]);
    if (!p[0].truthy()) k = ignore_case(k);
    if (std::any_of(seen.begin(), seen.end(), [&](const Value& s) { return py_equal(s, k); }))
      continue;
    seen.push_back(k);
    out.push_back(item);
  }
  return Value::list(std::move(out));
}

}  // namespace enclave::jinja
