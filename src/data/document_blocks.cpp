#include "data/document_blocks.h"

#include <algorithm>

#include "text/utf8.h"

namespace enclave::data {

int heading_level_of_style(std::string_view name) {
  if (name == "Title" || name == "title" || name == "제목") return 1;
  for (std::string_view prefix : {"Heading", "heading", "제목", "개요", "Outline", "outline"}) {
    if (!name.starts_with(prefix)) continue;
    std::string_view rest = name.substr(prefix.size());
    if (rest.starts_with(' ')) rest.remove_prefix(1);
    if (rest.size() == 1 && rest[0] >= '1' && rest[0] <= '9') return rest[0] - '0';
  }
  return 0;
}

void DocumentBlocks::paragraph(std::string text, int heading_level, ListKind list, int list_level) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\t'))
    text.pop_back();
  const std::size_t start = text.find_first_not_of(" \t\n");
  if (start == std::string::npos) return;
  text.erase(0, start);
  if (heading_level > 0) {
    sections_.push_back(text);
    add(std::string(static_cast<std::size_t>(std::min(heading_level, 6)), '#') + " " + text,
        ListKind::kNone);
    return;
  }
  if (list == ListKind::kNone) {
    add(std::move(text), ListKind::kNone);
    return;
  }
  const auto level = static_cast<std::size_t>(std::clamp(list_level, 0, 9));
  const std::string indent(2 * level, ' ');
  if (list == ListKind::kBullet) {
    add(indent + "- " + text, list);
    return;
  }
  // A new list starts at 1, so does a deeper level; going back up keeps
  // the outer count.
  if (block_lists_.empty() || block_lists_.back() != ListKind::kNumbered) numbers_.clear();
  numbers_.resize(level + 1, 1);
  add(indent + std::to_string(numbers_[level]++) + ". " + text, list);
}

void DocumentBlocks::add(std::string block, ListKind list) {
  blocks_.push_back(std::move(block));
  block_lists_.push_back(list);
}

void DocumentBlocks::table(const std::vector<std::vector<std::string>>& rows) {
  const std::string t = markdown_table(rows);
  if (t.empty()) return;
  add(t, ListKind::kNone);
  ++n_tables_;
}

std::string DocumentBlocks::note(NoteKind kind, const std::string& text) {
  (kind == NoteKind::kFootnote ? n_footnotes_ : n_endnotes_)++;
  const std::string marker = "[^" + std::to_string(notes_.size() + 1) + "]";
  std::string body = text;
  std::replace(body.begin(), body.end(), '\n', ' ');
  notes_.push_back(marker + ": " + body);
  return marker;
}

ExtractedText DocumentBlocks::finish() {
  ExtractedText out;
  // Items of one list sit on consecutive lines; other blocks are separated
  // by a blank line.
  for (std::size_t i = 0; i < blocks_.size(); ++i) {
    if (i > 0) {
      const bool same_list =
          block_lists_[i] != ListKind::kNone && block_lists_[i] == block_lists_[i - 1];
      out.text += same_list ? "\n" : "\n\n";
    }
    out.text += blocks_[i];
  }
  if (!notes_.empty()) {
    if (!out.text.empty()) out.text += "\n\n";
    for (std::size_t i = 0; i < notes_.size(); ++i) {
      if (i > 0) out.text += '\n';
      out.text += notes_[i];
    }
  }
  out.text = sanitize_utf8(out.text);
  out.meta["sections"] = sections_;
  out.meta["tables"] = n_tables_;
  out.meta["footnotes"] = n_footnotes_;
  out.meta["endnotes"] = n_endnotes_;
  return out;
}

}  // namespace enclave::data
