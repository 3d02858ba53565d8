// Prompt templates of task files, run as lm-evaluation-harness runs them: a
// Jinja template rendered with the document's fields as variables
// (jinja2.Environment with StrictUndefined and keep_trailing_newline), so a
// missing field is an error, never an empty string, and values print as
// Python prints them (True, 0.25, ['a', 'b']). A template string that is
// exactly a field name gives that field, as lm-evaluation-harness does for a
// dataset column.
// Thread safety: safe from any thread (parsed templates are cached behind a
// mutex and immutable).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::eval {

// Renders tmpl against doc (a JSON object). `what` names the template in
// errors ("reverse.yaml: doc_to_text"). Throws Error(kInvalidInput) naming
// `what` and the line for a syntax error or an undefined field.
std::string render_template(std::string_view tmpl, const nlohmann::json& doc,
                            std::string_view what);

// doc_to_choice: a list of templates renders each one; a string naming a
// field gives that list; any other string is rendered and read as a Python
// list literal (`{{choices}}` renders "['a', 'b']"). Throws
// Error(kInvalidInput) for a result that is not a list, or no choices.
std::vector<std::string> render_choices(const nlohmann::json& spec, const nlohmann::json& doc,
                                        std::string_view what);

// doc_to_target: an integer as is; a field name gives the field (every item
// of a list); a rendered text that is a Python list literal gives its items
// (several accepted answers); anything else one rendered string.
std::vector<std::string> render_targets(const nlohmann::json& spec, const nlohmann::json& doc,
                                        std::string_view what);

// Checks a template's syntax without a document (for errors at load time).
void check_template(std::string_view tmpl, std::string_view what);

// The items of a Python list literal ("['a', \"b\", 3, True]") as text:
// strings unquoted, other values as written. Throws Error(kInvalidInput)
// naming `what` for anything else.
std::vector<std::string> python_list_items(std::string_view text, std::string_view what);

}  // namespace enclave::eval
