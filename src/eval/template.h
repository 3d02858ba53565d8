// Prompt templates of task files: `{{field}}` substitution into text, as the
// Jinja templates of lm-evaluation-harness task files use it, limited to
// field access: `{{ question }}`, `{{ meta.source }}`, `{{ choices[2] }}`.
// No expressions, filters or control flow: a template that needs them is
// rejected, never half rendered. A string value renders as itself, a number
// as its shortest decimal form, true/false as `true`/`false`, an array or
// object as compact JSON; a missing field or null is an error.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::eval {

// Renders tmpl against doc. `what` names the template in errors
// ("reverse.yaml: doc_to_text"). Throws Error(kInvalidInput) for an
// unterminated `{{`, a placeholder that is not a field path, or a field
// missing from (or null in) doc, naming the field.
std::string render_template(std::string_view tmpl, const nlohmann::json& doc,
                            std::string_view what);

// The value a path ("a.b[2]") names in doc; errors as render_template.
const nlohmann::json& lookup_field(const nlohmann::json& doc, std::string_view path,
                                   std::string_view what);

// A value as text, the way render_template writes it.
std::string value_to_text(const nlohmann::json& value);

// doc_to_choice: a list of templates renders each one; a string that is one
// placeholder naming an array gives the array's items as text; any other
// string is an error (a choice list cannot come from plain text). Throws
// Error(kInvalidInput) for fewer than one choice.
std::vector<std::string> render_choices(const nlohmann::json& spec, const nlohmann::json& doc,
                                        std::string_view what);

// doc_to_target with several accepted answers: a placeholder naming an
// array gives every item; anything else one rendered string.
std::vector<std::string> render_targets(const nlohmann::json& spec, const nlohmann::json& doc,
                                        std::string_view what);

// Checks a template's syntax without a document (for errors at load time).
void check_template(std::string_view tmpl, std::string_view what);

}  // namespace enclave::eval
