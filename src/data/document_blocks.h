// DocumentBlocks: collects what a word-processor reader finds (paragraphs,
// headings, list items, tables, footnotes and endnotes) in reading order and
// joins it into the readers' Markdown-flavoured text (readers.h): headings
// as "#", bullets as "- ", numbered items as "1. " with the numbers counted
// per level, tables as Markdown tables, notes as "[^n]" markers in the text
// and "[^n]: text" lines at the end. Used by the HWP and HWPX readers.
// Thread safety: one DocumentBlocks per document.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "data/readers.h"

namespace enclave::data {

// Heading level a paragraph style's name gives ("Heading 2", "Heading2",
// "제목 2", "개요 2", "Outline 2" -> 2; "Title", "제목" -> 1), or 0.
int heading_level_of_style(std::string_view name);

enum class ListKind { kNone, kBullet, kNumbered };
enum class NoteKind { kFootnote, kEndnote };

class DocumentBlocks {
 public:
  // A paragraph; blank ones are dropped. heading_level 1-9 makes it a
  // heading (levels past 6 are written as 6); list_level is 0-based.
  void paragraph(std::string text, int heading_level = 0, ListKind list = ListKind::kNone,
                 int list_level = 0);
  void table(const std::vector<std::vector<std::string>>& rows);
  // Records a note and returns the marker to put where it is referenced.
  std::string note(NoteKind kind, const std::string& text);

  // The text (sanitised to valid UTF-8) and meta: "sections" (headings),
  // "tables", "footnotes", "endnotes".
  ExtractedText finish();

 private:
  void add(std::string block, ListKind list);

  std::vector<std::string> blocks_;
  std::vector<ListKind> block_lists_;  // the list each block is an item of

  std::vector<std::string> notes_;
  nlohmann::json sections_ = nlohmann::json::array();
  std::vector<int> numbers_;  // the next number per list level
  int n_tables_ = 0;
  int n_footnotes_ = 0;
  int n_endnotes_ = 0;
};

}  // namespace enclave::data
