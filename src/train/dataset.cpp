#include "train/dataset.h"

#include <fmt/format.h>

#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <set>

#include "core/error.h"
#include "core/json.h"

namespace enclave::train {
namespace {

using nlohmann::json;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

const json& field(const Record& r, const char* key) {
  auto it = r.value.find(key);
  if (it == r.value.end()) fail_input("{}: missing field '{}'", r.where, key);
  return *it;
}

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

void append(std::vector<TokenId>& ids, std::vector<std::uint8_t>& targets,
            const std::vector<TokenId>& piece, bool target) {
  ids.insert(ids.end(), piece.begin(), piece.end());
  targets.insert(targets.end(), piece.size(), target ? 1 : 0);
}

}  // namespace

std::int64_t SequenceExample::n_targets() const {
  std::int64_t n = 0;
  for (std::uint8_t t : targets) n += t != 0;
  return n;
}

std::vector<Record> read_jsonl(const std::filesystem::path& path, std::size_t max_line_bytes) {
  std::vector<Record> records;
  for_each_jsonl(
      path, [&](Record&& r) { records.push_back(std::move(r)); }, max_line_bytes);
  return records;
}

std::size_t for_each_jsonl(const std::filesystem::path& path,
                           const std::function<void(Record&&)>& fn, std::size_t max_line_bytes) {
  return for_each_jsonl_line(
      path, [&](JsonlLine&& line) { fn(parse_jsonl_line(path, line, max_line_bytes)); },
      max_line_bytes);
}

std::size_t for_each_jsonl_line(const std::filesystem::path& path,
                                const std::function<void(JsonlLine&&)>& fn,
                                std::size_t max_line_bytes) {
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    if (!std::filesystem::exists(path))
      fail(ErrorKind::kNotFound, "{}: no such data file", path.string());
    fail(ErrorKind::kIo, "{}: cannot open", path.string());
  }
  if (std::filesystem::is_directory(path))
    fail_input("{}: is a folder, expected a JSONL file", path.string());
  std::size_t n_lines = 0;
  JsonlLine line;
  auto finish_line = [&] {
    ++line.number;
    if (!line.text.empty() && line.text.back() == '\r') line.text.pop_back();
    if (line.too_long || line.text.find_first_not_of(" \t") != std::string::npos) {
      ++n_lines;
      const std::size_t number = line.number;
      fn(std::move(line));
      line = JsonlLine{};
      line.number = number;
    }
    line.text.clear();
    line.too_long = false;
  };
  // Appends [p, p + n) to the line, holding at most max_line_bytes of it.
  auto take = [&](const char* p, std::size_t n) {
    if (line.too_long) return;
    if (line.text.size() + n > max_line_bytes) {
      line.too_long = true;  // reported when the line is parsed; memory stays bounded
      line.text.clear();
      return;
    }
    line.text.append(p, n);
  };
  std::vector<char> buffer(std::size_t{1} << 16);
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), file.get())) > 0;) {
    const char* p = buffer.data();
    const char* end = p + n;
    while (p < end) {
      const auto* nl =
          static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      if (nl == nullptr) {
        take(p, static_cast<std::size_t>(end - p));
        break;
      }
      take(p, static_cast<std::size_t>(nl - p));
      finish_line();
      p = nl + 1;
    }
  }
  if (std::ferror(file.get())) fail(ErrorKind::kIo, "{}: read error", path.string());
  if (!line.text.empty() || line.too_long) finish_line();
  if (n_lines == 0) fail_input("{}: no records", path.string());
  return n_lines;
}

Record parse_jsonl_line(const std::filesystem::path& path, const JsonlLine& line,
                        std::size_t max_line_bytes) {
  std::string where = fmt::format("{}:{}", path.string(), line.number);
  if (line.too_long) fail_input("{}: line longer than {} bytes", where, max_line_bytes);
  if (line.number == 1 && starts_with(line.text, "\xEF\xBB\xBF"))
    fail_input("{}: file starts with a UTF-8 byte-order mark; save it without one", where);
  json value = parse_json(line.text, where);
  if (!value.is_object())
    fail_input("{}: expected a JSON object, got {}", where, json_type_name(value));
  return {std::move(value), std::move(where)};
}

nlohmann::ordered_json parse_messages(const json& value, const std::string& where) {
  if (!value.is_array() || value.empty())
    fail_input("{}: 'messages' must be a non-empty list", where);
  for (std::size_t i = 0; i < value.size(); ++i) {
    const std::string what = fmt::format("{}: message {}", where, i);
    const json& m = value[i];
    if (!m.is_object()) fail_input("{}: expected an object with role and content", what);
    const std::string role = json_string(m, "role", what);
    // The roles chat APIs and published templates know; anything else is a
    // typo a template would silently drop or render as is.
    static const std::set<std::string> kRoles = {"system",    "developer", "user",
                                                 "assistant", "tool",      "ipython"};
    if (kRoles.count(role) == 0)
      fail_input("{}: unknown role '{}' (expected system, user, assistant or tool)", what, role);
    auto content = m.find("content");
    bool has_tool_calls = m.contains("tool_calls");
    if (content == m.end() ? !has_tool_calls
                           : !content->is_string() && !content->is_array() &&
                                 !(content->is_null() && has_tool_calls)) {
      fail_input("{}: field 'content': expected a string or a list of parts", what);
    }
  }
  return nlohmann::ordered_json(value);
}

ExampleBuilder::ExampleBuilder(const Tokenizer& tokenizer,
                               std::optional<ChatTemplate> chat_template, std::int64_t max_length)
    : tokenizer_(tokenizer), chat_template_(std::move(chat_template)), max_length_(max_length) {
  if (max_length < 2) fail_input("max_length: {} must be at least 2", max_length);
}

std::vector<TokenId> ExampleBuilder::encode_segment(const std::string& text) const {
  // Rendered templates carry their own BOS text and special markers.
  return tokenizer_.encode(text, /*add_special=*/false, /*parse_special=*/true);
}

const ChatTemplate& ExampleBuilder::require_template(const std::string& where) const {
  if (!chat_template_) {
    fail_input(
        "{}: conversational record, but the model's tokenizer_config.json has no chat_template",
        where);
  }
  return *chat_template_;
}

std::vector<TokenId> ExampleBuilder::document_ids(const Record& r) const {
  const json& text = field(r, "text");
  if (!text.is_string())
    fail_input("{}: field 'text': expected a string, got {}", r.where, json_type_name(text));
  std::vector<TokenId> ids = tokenizer_.encode(text.get<std::string>(), /*add_special=*/true);
  if (tokenizer_.eos_id()) ids.push_back(*tokenizer_.eos_id());
  return ids;
}

std::vector<SequenceExample> ExampleBuilder::pretrain(const std::vector<Record>& records,
                                                      BuildStats* stats) const {
  std::vector<SequenceExample> out;
  SequencePacker packer(max_length_, [&](SequenceExample&& e) { out.push_back(std::move(e)); });
  std::int64_t n_tokens = 0;
  for (const Record& r : records) {
    const std::vector<TokenId> ids = document_ids(r);
    n_tokens += static_cast<std::int64_t>(ids.size());
    packer.add(ids);
  }
  packer.finish();
  if (out.empty()) fail_input("{}: the texts hold fewer than 2 tokens", records.front().where);
  if (stats != nullptr) {
    stats->n_records += static_cast<std::int64_t>(records.size());
    stats->n_sequences += static_cast<std::int64_t>(out.size());
    stats->n_tokens += n_tokens;
  }
  return out;
}

SequencePacker::SequencePacker(std::int64_t max_length, std::function<void(SequenceExample&&)> emit)
    : max_length_(static_cast<std::size_t>(max_length)), emit_(std::move(emit)) {}

void SequencePacker::add(const std::vector<TokenId>& ids) {
  carry_.insert(carry_.end(), ids.begin(), ids.end());
  while (carry_.size() - start_ >= max_length_) emit(max_length_);
  if (start_ > carry_.size() / 2) {  // keep the buffer at about one sequence
    carry_.erase(carry_.begin(), carry_.begin() + static_cast<std::ptrdiff_t>(start_));
    start_ = 0;
  }
}

void SequencePacker::finish() {
  if (carry_.size() - start_ >= 2) emit(carry_.size() - start_);
  carry_.clear();
  start_ = 0;
}

void SequencePacker::emit(std::size_t n) {
  SequenceExample e;
  const auto begin = carry_.begin() + static_cast<std::ptrdiff_t>(start_);
  e.ids.assign(begin, begin + static_cast<std::ptrdiff_t>(n));
  e.targets.assign(n, 1);
  e.targets[0] = 0;
  start_ += n;
  emit_(std::move(e));
}

SequenceExample ExampleBuilder::messages_example(const json& value,
                                                 const std::string& where) const {
  const ChatTemplate& tmpl = require_template(where);
  const nlohmann::ordered_json messages = parse_messages(value, where);
  if (messages[0]["role"] == "assistant")
    fail_input("{}: message 0: an assistant turn needs a prompt before it", where);
  ChatRenderOptions options;
  options.add_generation_prompt = false;
  const ChatSpans rendered = render_chat_spans(tmpl, messages, options, where);
  if (rendered.assistant.empty())
    fail_input("{}: 'messages' has no assistant turn to learn from", where);
  SequenceExample e;
  std::size_t done = 0;  // bytes of the rendering already tokenised
  for (const auto& [begin, end] : rendered.assistant) {
    append(e.ids, e.targets, encode_segment(rendered.text.substr(done, begin - done)), false);
    append(e.ids, e.targets, encode_segment(rendered.text.substr(begin, end - begin)), true);
    done = end;
  }
  if (done < rendered.text.size())
    append(e.ids, e.targets, encode_segment(rendered.text.substr(done)), false);
  if (!e.targets.empty()) e.targets[0] = 0;
  return e;
}

std::vector<TokenId> ExampleBuilder::prompt_ids(const json& prompt,
                                                const std::string& where) const {
  if (prompt.is_string()) return tokenizer_.encode(prompt.get<std::string>(), /*add_special=*/true);
  if (prompt.is_array()) {
    return encode_segment(
        render_chat(require_template(where), parse_messages(prompt, where), ChatRenderOptions{}));
  }
  fail_input("{}: field 'prompt': expected a string or a list of messages, got {}", where,
             json_type_name(prompt));
}

std::pair<std::vector<TokenId>, std::vector<TokenId>> ExampleBuilder::prompt_completion(
    const json& prompt, const json& completion, const std::string& where) const {
  if (!completion.is_string() && !completion.is_array()) {
    fail_input("{}: completion: expected a string or a list of messages, got {}", where,
               json_type_name(completion));
  }
  std::vector<TokenId> prompt_tokens = prompt_ids(prompt, where);
  std::vector<TokenId> completion_tokens;
  if (prompt.is_string()) {
    if (!completion.is_string())
      fail_input("{}: a plain-text prompt needs a plain-text completion", where);
    completion_tokens = tokenizer_.encode(completion.get<std::string>(), /*add_special=*/false);
    if (tokenizer_.eos_id()) completion_tokens.push_back(*tokenizer_.eos_id());
    return {prompt_tokens, completion_tokens};
  }
  const ChatTemplate& tmpl = require_template(where);
  nlohmann::ordered_json messages = parse_messages(prompt, where);
  ChatRenderOptions options;
  const std::string prompt_text = render_chat(tmpl, messages, options);
  if (completion.is_string()) {
    messages.push_back({{"role", "assistant"}, {"content", completion.get<std::string>()}});
  } else {
    for (const auto& m : parse_messages(completion, where)) messages.push_back(m);
  }
  options.add_generation_prompt = false;
  const std::string full = render_chat(tmpl, messages, options);
  if (!starts_with(full, prompt_text)) {
    fail(ErrorKind::kUnsupported,
         "{}: {} does not render the prompt as a prefix of the conversation", where, tmpl.origin);
  }
  completion_tokens = encode_segment(full.substr(prompt_text.size()));
  return {prompt_tokens, completion_tokens};
}

std::optional<SequenceExample> ExampleBuilder::sft_example(const Record& r,
                                                           BuildStats& stats) const {
  SequenceExample e;
  if (r.value.contains("messages")) {
    e = messages_example(r.value["messages"], r.where);
  } else if (r.value.contains("prompt") && r.value.contains("completion")) {
    auto [p, c] = prompt_completion(r.value["prompt"], r.value["completion"], r.where);
    append(e.ids, e.targets, p, false);
    append(e.ids, e.targets, c, true);
    e.targets[0] = 0;
  } else {
    fail_input(
        "{}: expected an sft record: {{\"messages\": [...]}} or {{\"prompt\", \"completion\"}}",
        r.where);
  }
  ++stats.n_records;
  if (static_cast<std::int64_t>(e.ids.size()) > max_length_) {
    e.ids.resize(static_cast<std::size_t>(max_length_));
    e.targets.resize(static_cast<std::size_t>(max_length_));
    ++stats.n_truncated;
  }
  if (e.n_targets() == 0) return std::nullopt;  // truncation left nothing to learn
  stats.n_tokens += static_cast<std::int64_t>(e.ids.size());
  ++stats.n_sequences;
  return e;
}

std::vector<SequenceExample> ExampleBuilder::sft(const std::vector<Record>& records,
                                                 BuildStats* stats) const {
  std::vector<SequenceExample> out;
  BuildStats local;
  for (const Record& r : records) {
    if (std::optional<SequenceExample> e = sft_example(r, local)) out.push_back(std::move(*e));
  }
  if (out.empty())
    fail_input("{}: no record has a completion within max_length {}", records.front().where,
               max_length_);
  if (stats != nullptr) *stats = local;
  return out;
}

PreferenceExample ExampleBuilder::preference_example(const Record& r, BuildStats& stats) const {
  const std::size_t max_len = static_cast<std::size_t>(max_length_);
  const json& prompt = field(r, "prompt");
  PreferenceExample e;
  std::tie(e.prompt, e.chosen) =
      prompt_completion(prompt, field(r, "chosen"), r.where + " (chosen)");
  e.rejected = prompt_completion(prompt, field(r, "rejected"), r.where + " (rejected)").second;
  if (e.chosen.empty() || e.rejected.empty())
    fail_input("{}: chosen and rejected must not be empty", r.where);
  ++stats.n_records;
  const std::size_t longest = std::max(e.chosen.size(), e.rejected.size());
  if (e.prompt.size() + longest > max_len) {
    ++stats.n_truncated;
    // Keep the end of a long prompt (half the budget at most), then cut the completions.
    const std::size_t keep_prompt =
        std::min(e.prompt.size(), std::max<std::size_t>(1, max_len / 2));
    if (e.prompt.size() > keep_prompt)
      e.prompt.erase(e.prompt.begin(), e.prompt.end() - static_cast<std::ptrdiff_t>(keep_prompt));
    const std::size_t room = max_len - e.prompt.size();
    if (e.chosen.size() > room) e.chosen.resize(room);
    if (e.rejected.size() > room) e.rejected.resize(room);
  }
  stats.n_tokens +=
      static_cast<std::int64_t>(2 * e.prompt.size() + e.chosen.size() + e.rejected.size());
  ++stats.n_sequences;
  return e;
}

std::vector<PreferenceExample> ExampleBuilder::preference(const std::vector<Record>& records,
                                                          BuildStats* stats) const {
  std::vector<PreferenceExample> out;
  BuildStats local;
  for (const Record& r : records) out.push_back(preference_example(r, local));
  if (stats != nullptr) *stats = local;
  return out;
}

}  // namespace enclave::train
