#include "eval/template.h"

#include <map>
#include <memory>
#include <mutex>

#include "core/error.h"
#include "core/json.h"
#include "jinja/jinja.h"

namespace enclave::eval {
namespace {

jinja::Options lm_eval_options() {
  jinja::Options options;
  options.keep_trailing_newline = true;
  options.strict_undefined = true;
  return options;
}

// Task files render the same few templates for every document: parse once,
// under a fixed name, and put the caller's `what` into errors instead.
constexpr std::string_view kName = "template";

[[noreturn]] void rethrow(const Error& e, std::string_view what) {
  std::string_view message = e.what();
  // "template:LINE: reason" -> "line LINE: reason"
  if (message.substr(0, kName.size() + 1) == std::string(kName) + ":")
    throw Error(e.kind(), fmt::format("{}: line {}", what, message.substr(kName.size() + 1)));
  throw Error(e.kind(), fmt::format("{}: {}", what, message));
}

std::shared_ptr<const jinja::Template> compiled(std::string_view tmpl, std::string_view what) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<const jinja::Template>, std::less<>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(tmpl);
  if (it != cache.end()) return it->second;
  std::shared_ptr<const jinja::Template> parsed;
  try {
    parsed = std::make_shared<const jinja::Template>(
        jinja::Template::parse(tmpl, std::string(kName), lm_eval_options()));
  } catch (const Error& e) {
    rethrow(e, what);
  }
  if (cache.size() > 4096) cache.clear();  // bounded: task files hold a handful
  cache.emplace(std::string(tmpl), parsed);
  return parsed;
}

// A field as lm-evaluation-harness takes a dataset column: a spec that is
// exactly one of the document's keys.
const nlohmann::json* column(const nlohmann::json& spec, const nlohmann::json& doc) {
  if (!spec.is_string() || !doc.is_object()) return nullptr;
  auto it = doc.find(spec.get_ref<const std::string&>());
  return it == doc.end() ? nullptr : &*it;
}

std::string item_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  // Python's str() of the value, as a template would print it; parsed once,
  // as this runs for every choice of every document.
  static const jinja::Template kPrint = jinja::Template::parse("{{ v }}", "value");
  return kPrint.render({{"v", nlohmann::ordered_json(value)}});
}

std::vector<std::string> items_of(const nlohmann::json& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item_text(item));
  return out;
}

class LiteralReader {
 public:
  LiteralReader(std::string_view text, std::string_view what) : s_(text), what_(what) {}

  std::vector<std::string> list() {
    skip_space();
    expect('[');
    std::vector<std::string> out;
    skip_space();
    if (peek() == ']') {
      ++pos_;
    } else {
      while (true) {
        out.push_back(value());
        skip_space();
        if (peek() == ',') {
          ++pos_;
          skip_space();
          if (peek() == ']') {
            ++pos_;
            break;
          }
          continue;
        }
        expect(']');
        break;
      }
    }
    skip_space();
    if (pos_ != s_.size()) bad("text after the list");
    return out;
  }

 private:
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t')) ++pos_;
  }
  [[noreturn]] void bad(std::string_view why) const {
    fail_input("{}: '{}' is not a Python list literal: {} at byte {}", what_,
               s_.substr(0, std::min<std::size_t>(s_.size(), 80)), why, pos_);
  }
  void expect(char c) {
    if (peek() != c) bad(fmt::format("expected '{}'", c));
    ++pos_;
  }
  std::string value() {
    char c = peek();
    if (c == '\'' || c == '"') return quoted(c);
    std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ',' && s_[pos_] != ']' && s_[pos_] != ' ') ++pos_;
    std::string_view word = s_.substr(start, pos_ - start);
    if (word.empty()) bad("expected a value");
    bool number = word.find_first_not_of("+-0123456789.eE") == std::string_view::npos;
    if (!number && word != "True" && word != "False" && word != "None")
      bad(fmt::format("unsupported value '{}'", word));
    return std::string(word);
  }
  std::string quoted(char q) {
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != q) {
      char c = s_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) break;
      char e = s_[pos_++];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 't':
          out += '\t';
          break;
        case 'r':
          out += '\r';
          break;
        case '0':
          out += '\0';
          break;
        default:
          out += e;  // \\ \' \"
      }
    }
    expect(q);
    return out;
  }

  std::string_view s_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

bool looks_like_list(std::string_view s) {
  return s.size() >= 2 && s.front() == '[' && s.back() == ']';
}

}  // namespace

std::string render_template(std::string_view tmpl, const nlohmann::json& doc,
                            std::string_view what) {
  if (!doc.is_object())
    fail_input("{}: the document is a {}, not an object", what, doc.type_name());
  std::shared_ptr<const jinja::Template> parsed = compiled(tmpl, what);
  try {
    return parsed->render(nlohmann::ordered_json(doc));
  } catch (const Error& e) {
    rethrow(e, what);
  }
}

void check_template(std::string_view tmpl, std::string_view what) { compiled(tmpl, what); }

std::vector<std::string> python_list_items(std::string_view text, std::string_view what) {
  return LiteralReader(text, what).list();
}

std::vector<std::string> render_choices(const nlohmann::json& spec, const nlohmann::json& doc,
                                        std::string_view doc_what) {
  const std::string what = fmt::format("{}: doc_to_choice", doc_what);
  std::vector<std::string> choices;
  if (spec.is_array()) {
    for (std::size_t i = 0; i < spec.size(); ++i) {
      if (!spec[i].is_string()) fail_input("{}[{}]: expected a string template", what, i);
      choices.push_back(render_template(spec[i].get<std::string>(), doc, what));
    }
  } else if (const nlohmann::json* field = column(spec, doc)) {
    if (!field->is_array())
      fail_input("{}: field '{}' is a {}, expected a list", what, spec.get<std::string>(),
                 field->type_name());
    choices = items_of(*field);
  } else if (spec.is_string()) {
    choices = python_list_items(render_template(spec.get<std::string>(), doc, what), what);
  } else {
    fail_input("{}: expected a list of templates or a string, got {}", what, json_type_name(spec));
  }
  if (choices.empty()) fail_input("{}: no choices", what);
  return choices;
}

std::vector<std::string> render_targets(const nlohmann::json& spec, const nlohmann::json& doc,
                                        std::string_view doc_what) {
  const std::string what = fmt::format("{}: doc_to_target", doc_what);
  if (spec.is_number_integer()) return {item_text(spec)};
  if (!spec.is_string())
    fail_input("{}: expected a template string, got {}", what, json_type_name(spec));
  std::vector<std::string> out;
  if (const nlohmann::json* field = column(spec, doc)) {
    out = field->is_array() ? items_of(*field) : std::vector<std::string>{item_text(*field)};
  } else {
    std::string text = render_template(spec.get_ref<const std::string&>(), doc, what);
    if (!looks_like_list(text)) return {text};
    out = python_list_items(text, what);
  }
  if (out.empty()) fail_input("{}: no target (an empty list)", what);
  return out;
}

}  // namespace enclave::eval
