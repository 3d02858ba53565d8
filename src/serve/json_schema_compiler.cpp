// JSON Schema -> JsonGrammar nodes (json_grammar.h): which keywords are
// followed, how each becomes a node, and the errors that name the keyword a
// schema uses outside the supported subset.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "serve/json_grammar.h"  // the nodes compiled here; JsonMatcher runs them

namespace enclave::serve {

template <class Json>
class SchemaCompiler {
 public:
  SchemaCompiler(JsonGrammar& g, const Json* root) : g_(g), root_(root) {}

  int add(JsonGrammar::Node node) {
    g_.nodes_.push_back(std::move(node));
    return static_cast<int>(g_.nodes_.size()) - 1;
  }

  // The value nodes kAny dispatches to, and the root of json_object.
  void add_any_nodes() {
    JsonGrammar::Node any;
    const int any_id = add(any);
    JsonGrammar::Node object;
    object.kind = JsonGrammar::Kind::kObject;
    object.open = true;
    object.open_value = any_id;
    object.next_required = {0};
    g_.any_object_ = add(object);
    JsonGrammar::Node array;
    array.kind = JsonGrammar::Kind::kArray;
    array.items = any_id;
    g_.any_array_ = add(array);
    JsonGrammar::Node string;
    string.kind = JsonGrammar::Kind::kString;
    g_.any_string_ = add(string);
    JsonGrammar::Node number;
    number.kind = JsonGrammar::Kind::kNumber;
    g_.any_number_ = add(number);
    JsonGrammar::Node literal;
    literal.kind = JsonGrammar::Kind::kLiterals;
    literal.literals = {"true", "false", "null"};
    g_.any_literal_ = add(literal);
  }

  int compile(const Json& s, const std::string& path, int depth) {
    if (depth > kMaxJsonDepth)
      fail(path, fmt::format("nested deeper than {} levels", kMaxJsonDepth));
    if (s.is_boolean() && s.template get<bool>()) return add({});
    if (!s.is_object()) fail(path, "a schema must be an object (or true)");
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (!known(it.key())) {
        fail(join(path, it.key()),
             fmt::format("the JSON Schema keyword '{}' is not supported for constrained output",
                         it.key()));
      }
    }
    if (auto ref = s.find("$ref"); ref != s.end()) return reference(s, *ref, path, depth);
    if (auto all_of = s.find("allOf"); all_of != s.end()) {
      // One-element allOf is how generators attach a description to a $ref.
      if (!all_of->is_array() || all_of->size() != 1 || !only_annotations(s, "allOf"))
        fail(join(path, "allOf"), "only a one-schema allOf (with nothing beside it) is supported");
      return compile((*all_of)[0], join(path, "allOf[0]"), depth + 1);
    }
    if (auto c = s.find("const"); c != s.end()) return literals(Json::array({*c}));
    if (auto e = s.find("enum"); e != s.end()) {
      if (!e->is_array() || e->empty()) fail(join(path, "enum"), "expected a non-empty array");
      return literals(*e);
    }
    if (auto any_of = s.find("anyOf"); any_of != s.end()) {
      if (!any_of->is_array() || any_of->empty())
        fail(join(path, "anyOf"), "expected a non-empty array of schemas");
      JsonGrammar::Node node;
      node.kind = JsonGrammar::Kind::kAnyOf;
      for (std::size_t i = 0; i < any_of->size(); ++i) {
        node.alternatives.push_back(
            compile((*any_of)[i], fmt::format("{}[{}]", join(path, "anyOf"), i), depth + 1));
      }
      return add(std::move(node));
    }
    auto type = s.find("type");
    if (type == s.end()) {
      if (s.contains("properties")) return typed(s, "object", path, depth);
      if (s.contains("items")) return typed(s, "array", path, depth);
      return add({});
    }
    if (type->is_string()) return typed(s, type->template get<std::string>(), path, depth);
    if (!type->is_array() || type->empty())
      fail(join(path, "type"), "expected a type name or a non-empty array of them");
    JsonGrammar::Node node;
    node.kind = JsonGrammar::Kind::kAnyOf;
    for (const Json& t : *type) {
      if (!t.is_string()) fail(join(path, "type"), "expected type names");
      node.alternatives.push_back(typed(s, t.template get<std::string>(), path, depth));
    }
    return add(std::move(node));
  }

  [[noreturn]] static void fail(const std::string& path, const std::string& message) {
    throw SchemaError(path, message);
  }

 private:
  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  static bool known(const std::string& key) {
    static constexpr std::string_view kKeywords[] = {"type",
                                                     "properties",
                                                     "required",
                                                     "enum",
                                                     "const",
                                                     "items",
                                                     "anyOf",
                                                     "minLength",
                                                     "maxLength",
                                                     "minimum",
                                                     "maximum",
                                                     "exclusiveMinimum",
                                                     "exclusiveMaximum",
                                                     "minItems",
                                                     "maxItems",
                                                     "additionalProperties",
                                                     "$ref",
                                                     "allOf"};
    return annotation(key) ||
           std::find(std::begin(kKeywords), std::end(kKeywords), key) != std::end(kKeywords);
  }

  int literals(const Json& values) {
    JsonGrammar::Node node;
    node.kind = JsonGrammar::Kind::kLiterals;
    for (const Json& v : values) node.literals.push_back(v.dump());
    return add(std::move(node));
  }

  static std::int64_t count(const Json& s, const char* key, const std::string& path,
                            std::int64_t fallback) {
    auto it = s.find(key);
    if (it == s.end()) return fallback;
    if (!it->is_number_unsigned() &&
        !(it->is_number_integer() && it->template get<std::int64_t>() >= 0))
      fail(join(path, key), "expected a non-negative integer");
    return std::min<std::int64_t>(it->template get<std::int64_t>(), INT32_MAX);
  }

  static bool bound(const Json& s, const char* key, const std::string& path, double& out) {
    auto it = s.find(key);
    if (it == s.end()) return false;
    if (!it->is_number()) fail(join(path, key), "expected a number");
    out = it->template get<double>();
    return true;
  }

  int typed(const Json& s, const std::string& type, const std::string& path, int depth) {
    JsonGrammar::Node node;
    if (type == "string") {
      node.kind = JsonGrammar::Kind::kString;
      node.min_length = count(s, "minLength", path, 0);
      node.max_length = count(s, "maxLength", path, INT32_MAX);
      if (node.min_length > node.max_length)
        fail(join(path, "minLength"), "greater than maxLength");
    } else if (type == "number" || type == "integer") {
      node.kind = JsonGrammar::Kind::kNumber;
      node.integer = type == "integer";
      double v = 0;
      if (bound(s, "minimum", path, v)) node.has_min = true, node.min = v;
      if (bound(s, "maximum", path, v)) node.has_max = true, node.max = v;
      if (bound(s, "exclusiveMinimum", path, v) && (!node.has_min || v >= node.min))
        node.has_min = true, node.min = v, node.exclusive_min = true;
      if (bound(s, "exclusiveMaximum", path, v) && (!node.has_max || v <= node.max))
        node.has_max = true, node.max = v, node.exclusive_max = true;
      if (node.has_min && node.has_max &&
          (node.min > node.max ||
           (node.min == node.max && (node.exclusive_min || node.exclusive_max)))) {
        fail(join(path, "minimum"), "no number lies in the range");
      }
      if (node.integer && node.has_min && node.has_max &&
          std::floor(node.max) < std::ceil(node.min)) {
        fail(join(path, "minimum"), "no integer lies in the range");
      }
    } else if (type == "boolean") {
      return literals(Json::array({true, false}));
    } else if (type == "null") {
      return literals(Json::array({nullptr}));
    } else if (type == "array") {
      node.kind = JsonGrammar::Kind::kArray;
      auto items = s.find("items");
      node.items = items == s.end() ? add({}) : compile(*items, join(path, "items"), depth + 1);
      node.min_items = count(s, "minItems", path, 0);
      node.max_items = count(s, "maxItems", path, INT32_MAX);
      if (node.min_items > node.max_items) fail(join(path, "minItems"), "greater than maxItems");
    } else if (type == "object") {
      return object(s, path, depth);
    } else {
      fail(join(path, "type"), fmt::format("unknown type '{}'", type));
    }
    return add(std::move(node));
  }

  int object(const Json& s, const std::string& path, int depth) {
    JsonGrammar::Node node;
    node.kind = JsonGrammar::Kind::kObject;
    auto props = s.find("properties");
    auto additional = s.find("additionalProperties");
    if (additional != s.end() && !additional->is_boolean() && !additional->is_object())
      fail(join(path, "additionalProperties"), "expected a boolean or a schema");
    std::vector<std::string> required;
    if (auto r = s.find("required"); r != s.end()) {
      if (!r->is_array()) fail(join(path, "required"), "expected an array of property names");
      for (const Json& name : *r) {
        if (!name.is_string()) fail(join(path, "required"), "expected property names");
        required.push_back(name.template get<std::string>());
      }
    }
    if (props == s.end() || (props->is_object() && props->empty())) {
      if (!required.empty())
        fail(join(path, "required"), "names properties that 'properties' does not define");
      // No named properties: any keys, unless additionalProperties is false.
      node.open =
          additional == s.end() || !additional->is_boolean() || additional->template get<bool>();
      node.open_value = additional != s.end() && additional->is_object()
                            ? compile(*additional, join(path, "additionalProperties"), depth + 1)
                            : add({});
      node.next_required = {0};
      return add(std::move(node));
    }
    if (!props->is_object()) fail(join(path, "properties"), "expected an object of schemas");
    // Properties come out in the schema's order: declared for an
    // ordered_json, sorted for a json (any order is valid).
    for (auto it = props->begin(); it != props->end(); ++it) {
      JsonGrammar::Property p;
      p.quoted = Json(it.key()).dump();
      p.node = compile(it.value(), join(join(path, "properties"), it.key()), depth + 1);
      p.required = std::find(required.begin(), required.end(), it.key()) != required.end();
      node.properties.push_back(std::move(p));
    }
    for (const std::string& name : required) {
      if (!props->contains(name)) {
        fail(join(path, "required"),
             fmt::format("names '{}', which 'properties' does not define", name));
      }
    }
    const int n = static_cast<int>(node.properties.size());
    node.next_required.assign(static_cast<std::size_t>(n) + 1, n);
    for (int i = n - 1; i >= 0; --i) {
      node.next_required[static_cast<std::size_t>(i)] =
          node.properties[static_cast<std::size_t>(i)].required
              ? i
              : node.next_required[static_cast<std::size_t>(i) + 1];
    }
    return add(std::move(node));
  }

  // Annotations and definitions: they change nothing about what is valid.
  static bool annotation(const std::string& key) {
    return key == "description" || key == "title" || key == "default" || key == "examples" ||
           key == "$schema" || key == "$id" || key == "$comment" || key == "$defs" ||
           key == "definitions";
  }

  static bool only_annotations(const Json& s, const char* keyword) {
    for (auto it = s.begin(); it != s.end(); ++it) {
      if (it.key() != keyword && !annotation(it.key())) return false;
    }
    return true;
  }

  // A local reference ("#", "#/$defs/Name", "#/definitions/Name", any JSON
  // pointer into this schema). Each target is compiled once; a reference
  // back into itself (a recursive schema) finds its node already
  // allocated, and the depth limit of generation bounds the recursion.
  int reference(const Json& s, const Json& ref, const std::string& path, int depth) {
    if (!ref.is_string() || !ref.template get<std::string>().starts_with("#"))
      fail(join(path, "$ref"), "only references into the same schema (\"#/...\") are supported");
    if (!only_annotations(s, "$ref"))
      fail(join(path, "$ref"), "keywords beside $ref are not supported");
    const std::string target = ref.template get<std::string>();
    if (auto it = refs_.find(target); it != refs_.end()) return it->second;
    const Json* resolved = nullptr;
    try {
      resolved = &root_->at(typename Json::json_pointer(target.substr(1)));
    } catch (const std::exception&) {
      fail(join(path, "$ref"), fmt::format("'{}' does not point into the schema", target));
    }
    const int id = add({});
    refs_[target] = id;
    std::string ref_path = target.size() > 2 ? target.substr(2) : "";
    std::replace(ref_path.begin(), ref_path.end(), '/', '.');
    const int compiled = compile(*resolved, ref_path, depth + 1);
    g_.nodes_[static_cast<std::size_t>(id)] = g_.nodes_[static_cast<std::size_t>(compiled)];
    return id;
  }

  JsonGrammar& g_;
  const Json* root_;
  std::map<std::string, int> refs_;
};

JsonGrammar::JsonGrammar() = default;

std::shared_ptr<const JsonGrammar> JsonGrammar::any_object() {
  std::shared_ptr<JsonGrammar> g(new JsonGrammar());
  SchemaCompiler<nlohmann::json> c(*g, nullptr);
  c.add_any_nodes();
  g->root_ = g->any_object_;
  return g;
}

template <class Json>
std::shared_ptr<const JsonGrammar> JsonGrammar::compile(const Json& schema, std::string prefix,
                                                        std::string suffix) {
  std::shared_ptr<JsonGrammar> g(new JsonGrammar());
  SchemaCompiler<Json> c(*g, &schema);
  c.add_any_nodes();
  g->root_ = c.compile(schema, "", 0);
  g->prefix_ = std::move(prefix);
  g->suffix_ = std::move(suffix);
  return g;
}

std::shared_ptr<const JsonGrammar> JsonGrammar::from_schema(const nlohmann::json& schema,
                                                            std::string prefix,
                                                            std::string suffix) {
  return compile(schema, std::move(prefix), std::move(suffix));
}

std::shared_ptr<const JsonGrammar> JsonGrammar::from_schema(const nlohmann::ordered_json& schema,
                                                            std::string prefix,
                                                            std::string suffix) {
  return compile(schema, std::move(prefix), std::move(suffix));
}

}  // namespace enclave::serve
