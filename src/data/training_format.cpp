#include "data/training_format.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/error.h"
#include "data/document_stream.h"

namespace enclave::data {

TrainingFormat parse_training_format(std::string_view name) {
  if (name == "text") return TrainingFormat::kText;
  if (name == "messages" || name == "chat") return TrainingFormat::kMessages;
  if (name == "prompt/completion" || name == "prompt-completion")
    return TrainingFormat::kPromptCompletion;
  if (name == "prompt/chosen/rejected" || name == "preference") return TrainingFormat::kPreference;
  fail_input(
      "unknown training format '{}' (expected text, messages, prompt/completion or "
      "prompt/chosen/rejected)",
      name);
}

std::string_view to_string(TrainingFormat format) {
  switch (format) {
    case TrainingFormat::kText:
      return "text";
    case TrainingFormat::kMessages:
      return "messages";
    case TrainingFormat::kPromptCompletion:
      return "prompt/completion";
    case TrainingFormat::kPreference:
      return "prompt/chosen/rejected";
  }
  return "text";
}

namespace {

// A rejection, carried as an exception inside this file only.
struct Invalid {
  std::string reason;
};

[[noreturn]] void invalid(std::string reason) { throw Invalid{std::move(reason)}; }

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

// Who speaks first in a list of turns. A conversation or a prompt opens
// with the user (after an optional system turn); a completion, chosen or
// rejected answer continues the prompt, so it opens with the assistant, as
// in TRL's conversational prompt/completion and preference formats.
enum class Opener { kUser, kAssistant };

// Validates a conversation; returns its text for length checks.
std::string check_messages(const nlohmann::json& messages, std::string_view field, Opener opener,
                           bool must_end_with_assistant) {
  if (!messages.is_array() || messages.empty())
    invalid(fmt::format("'{}' must be a non-empty list of turns", field));
  std::string text;
  std::string previous;
  for (std::size_t i = 0; i < messages.size(); ++i) {
    const auto& turn = messages[i];
    if (!turn.is_object()) invalid(fmt::format("{}[{}]: expected an object", field, i));
    if (!turn.contains("role") || !turn["role"].is_string())
      invalid(fmt::format("{}[{}]: missing 'role'", field, i));
    const std::string role = turn["role"].get<std::string>();
    if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
      invalid(fmt::format("{}[{}]: unknown role '{}'", field, i, role));
    }
    if (!turn.contains("content") || !turn["content"].is_string()) {
      invalid(fmt::format("{}[{}]: 'content' must be a string", field, i));
    }
    const std::string content = turn["content"].get<std::string>();
    if (blank(content)) invalid(fmt::format("{}[{}]: empty turn", field, i));
    if (role == "system" && opener == Opener::kAssistant) {
      invalid(fmt::format("{}[{}]: system turn in an answer", field, i));
    }
    if (role == "system" && i != 0)
      invalid(fmt::format("{}[{}]: system turn after the start", field, i));
    if (role != "system" && previous.empty() && opener == Opener::kUser && role != "user") {
      invalid(fmt::format("{}[{}]: the conversation must start with the user", field, i));
    }
    if (previous.empty() && opener == Opener::kAssistant && role != "assistant") {
      invalid(fmt::format("{}[{}]: an answer must start with the assistant", field, i));
    }
    if (role == previous && role != "tool")
      invalid(fmt::format("{}[{}]: two '{}' turns in a row", field, i, role));
    if (role != "system") previous = role;
    text += content;
    text += '\n';
  }
  if (must_end_with_assistant && previous != "assistant") {
    invalid(fmt::format("'{}': the last turn must be the assistant's", field));
  }
  return text;
}

// A prompt/completion-like field: non-empty string or a list of turns
// (the prompt's opened by the user, an answer's by the assistant).
std::string check_part(const nlohmann::json& record, std::string_view field) {
  if (!record.contains(field)) invalid(fmt::format("missing '{}'", field));
  const auto& v = record[std::string(field)];
  if (v.is_string()) {
    if (blank(v.get<std::string>())) invalid(fmt::format("empty '{}'", field));
    return v.get<std::string>();
  }
  if (v.is_array())
    return check_messages(v, field, field == "prompt" ? Opener::kUser : Opener::kAssistant, false);
  invalid(fmt::format("'{}' must be a string or a list of turns", field));
}

// The whole conversation a record holds (prompt turns, then the longer
// answer), or null for plain-text records.
nlohmann::json conversation(const nlohmann::json& record, TrainingFormat to) {
  if (to == TrainingFormat::kMessages) return record["messages"];
  if (to == TrainingFormat::kText || !record["prompt"].is_array()) return nullptr;
  nlohmann::json turns = record["prompt"];
  auto add = [&](const nlohmann::json& answer) {
    if (answer.is_string()) {
      turns.push_back({{"role", "assistant"}, {"content", answer}});
    } else {
      for (const auto& t : answer) turns.push_back(t);
    }
  };
  if (to == TrainingFormat::kPromptCompletion) {
    add(record["completion"]);
  } else {
    const bool chosen_longer = record["chosen"].dump().size() >= record["rejected"].dump().size();
    add(record[chosen_longer ? "chosen" : "rejected"]);
  }
  return turns;
}

}  // namespace

FormattedRecord format_record(const Document& doc, const FormatOptions& options) {
  FormattedRecord out;
  try {
    nlohmann::json fields =
        doc.extra.empty() ? nlohmann::json::object() : nlohmann::json::parse("{" + doc.extra + "}");
    nlohmann::json record;
    std::string text;  // what the length checks measure
    switch (options.to) {
      case TrainingFormat::kText:
        if (blank(doc.text)) invalid("empty text");
        record = {{"text", doc.text}};
        text = doc.text;
        break;
      case TrainingFormat::kMessages:
        if (!fields.contains("messages") && fields.contains("prompt") &&
            fields.contains("completion") && fields["prompt"].is_string() &&
            fields["completion"].is_string()) {
          fields["messages"] = {{{"role", "user"}, {"content", fields["prompt"]}},
                                {{"role", "assistant"}, {"content", fields["completion"]}}};
        }
        if (!fields.contains("messages"))
          invalid("no 'messages' (nor 'prompt' and 'completion') in the record");
        text = check_messages(fields["messages"], "messages", Opener::kUser, true);
        record = {{"messages", fields["messages"]}};
        break;
      case TrainingFormat::kPromptCompletion:
        text = check_part(fields, "prompt") + "\n" + check_part(fields, "completion");
        record = {{"prompt", fields["prompt"]}, {"completion", fields["completion"]}};
        break;
      case TrainingFormat::kPreference: {
        text = check_part(fields, "prompt");
        const std::string chosen = check_part(fields, "chosen");
        const std::string rejected = check_part(fields, "rejected");
        if (fields["chosen"] == fields["rejected"]) invalid("'chosen' and 'rejected' are the same");
        text += "\n" + (chosen.size() > rejected.size() ? chosen : rejected);
        record = {{"prompt", fields["prompt"]},
                  {"chosen", fields["chosen"]},
                  {"rejected", fields["rejected"]}};
        break;
      }
    }
    out.chars = count_code_points(text);
    if (options.tokenizer != nullptr) {
      nlohmann::json turns =
          options.chat_template ? conversation(record, options.to) : nlohmann::json();
      if (turns.is_null()) {
        out.tokens = static_cast<std::int64_t>(
            options.tokenizer->encode(text, /*add_special=*/true, false).size());
      } else {
        std::string rendered;
        try {
          ChatRenderOptions render;
          render.add_generation_prompt = false;
          rendered = render_chat(*options.chat_template, nlohmann::ordered_json(turns), render);
        } catch (const Error& e) {
          invalid(fmt::format("the model's chat template refuses it: {}", e.what()));
        }
        // The rendering carries its own BOS and special markers.
        out.tokens = static_cast<std::int64_t>(
            options.tokenizer->encode(rendered, /*add_special=*/false, true).size());
      }
      if (options.max_tokens > 0 && out.tokens > options.max_tokens) {
        invalid(fmt::format("{} tokens, over the limit of {}", out.tokens, options.max_tokens));
      }
      if (out.tokens < options.min_tokens) {
        invalid(fmt::format("{} tokens, under the minimum of {}", out.tokens, options.min_tokens));
      }
    }
    out.line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  } catch (const Invalid& e) {
    out.error = e.reason;
    out.line.clear();
  } catch (const nlohmann::json::exception& e) {
    out.error = fmt::format("record fields are not valid JSON: {}", e.what());
    out.line.clear();
  }
  return out;
}

}  // namespace enclave::data
