#include <algorithm>
#include <map>
#include <pugixml.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/document_blocks.h"
#include "data/readers.h"
#include "data/safe_xml.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

// What word/styles.xml and word/numbering.xml say about paragraphs: the
// heading level of each paragraph style (its name, "heading 2" / "Title",
// or its outline level, following basedOn), and whether each list level of
// each numbering definition is a bullet or a number.
struct DocxStyles {
  std::map<std::string, int> heading_by_style;             // styleId -> level
  std::map<std::string, std::string> abstract_by_num;      // numId -> abstractNumId
  std::map<std::string, std::vector<bool>> bullet_levels;  // abstractNumId -> per ilvl
};

int outline_heading(const pugi::xml_node& ppr) {
  const pugi::xml_attribute lvl = ppr.child("w:outlineLvl").attribute("w:val");
  // Levels 0-8 are headings; 9 is body text.
  return lvl && lvl.as_int(9) >= 0 && lvl.as_int(9) <= 8 ? lvl.as_int(9) + 1 : 0;
}

DocxStyles read_styles(std::string_view styles_xml, std::string_view numbering_xml,
                       std::string_view what) {
  DocxStyles out;
  if (!styles_xml.empty()) {
    pugi::xml_document doc;
    load_untrusted_xml(doc, styles_xml, what, "word/styles.xml");
    std::map<std::string, std::string> based_on;
    for (const pugi::xml_node& st : doc.child("w:styles").children("w:style")) {
      if (std::string_view(st.attribute("w:type").value()) != "paragraph") continue;
      const std::string id = st.attribute("w:styleId").value();
      int level = heading_level_of_style(st.child("w:name").attribute("w:val").value());
      if (level == 0) level = outline_heading(st.child("w:pPr"));
      if (level > 0) out.heading_by_style[id] = level;
      if (const char* base = st.child("w:basedOn").attribute("w:val").value(); *base)
        based_on[id] = base;
    }
    // A style without its own level takes its base's (bounded: chains may loop).
    for (const auto& entry : based_on) {
      if (out.heading_by_style.count(entry.first)) continue;
      std::string at = entry.second;
      for (int step = 0; step < 20 && !at.empty(); ++step) {
        if (auto it = out.heading_by_style.find(at); it != out.heading_by_style.end()) {
          out.heading_by_style[entry.first] = it->second;
          break;
        }
        auto next = based_on.find(at);
        at = next == based_on.end() ? "" : next->second;
      }
    }
  }
  if (!numbering_xml.empty()) {
    pugi::xml_document doc;
    load_untrusted_xml(doc, numbering_xml, what, "word/numbering.xml");
    const pugi::xml_node numbering = doc.child("w:numbering");
    for (const pugi::xml_node& an : numbering.children("w:abstractNum")) {
      std::vector<bool>& levels = out.bullet_levels[an.attribute("w:abstractNumId").value()];
      for (const pugi::xml_node& lvl : an.children("w:lvl")) {
        const int ilvl = lvl.attribute("w:ilvl").as_int(-1);
        if (ilvl < 0 || ilvl > 9) continue;
        if (levels.size() <= static_cast<std::size_t>(ilvl)) levels.resize(ilvl + 1, true);
        const std::string_view fmt = lvl.child("w:numFmt").attribute("w:val").value();
        levels[ilvl] = fmt == "bullet" || fmt == "none" || fmt.empty();
      }
    }
    for (const pugi::xml_node& num : numbering.children("w:num")) {
      out.abstract_by_num[num.attribute("w:numId").value()] =
          num.child("w:abstractNumId").attribute("w:val").value();
    }
  }
  return out;
}

// Heading level of a paragraph style id without styles.xml ("Heading2",
// "Title", "제목1"), or 0.
int heading_level(std::string_view style_id) {
  if (style_id == "Title") return 1;
  for (std::string_view prefix : {"Heading", "heading", "제목"}) {
    if (style_id.size() == prefix.size() + 1 && style_id.starts_with(prefix) &&
        style_id.back() >= '1' && style_id.back() <= '9') {
      return style_id.back() - '0';
    }
  }
  return 0;
}

void collect_runs(const pugi::xml_node& node, std::string& out, int depth = 0) {
  check_xml_depth(depth);
  for (const pugi::xml_node& child : node.children()) {
    const std::string_view name = child.name();
    if (name == "w:t") {
      out += child.text().get();
    } else if (name == "w:tab") {
      out += '\t';
    } else if (name == "w:br" || name == "w:cr") {
      out += '\n';
    } else if (name == "w:tbl" || name == "w:pPr" || name == "w:rPr" || name == "w:instrText" ||
               name == "w:delText") {
      continue;  // nested tables are read as tables; deleted and field-code text is not text
    } else {
      collect_runs(child, out, depth + 1);
    }
  }
}

std::string paragraph_text(const pugi::xml_node& paragraph) {
  std::string text;
  collect_runs(paragraph, text);
  return text;
}

std::string cell_text(const pugi::xml_node& cell) {
  std::string out;
  for (const pugi::xml_node& p : cell.children("w:p")) {
    const std::string t = paragraph_text(p);
    if (t.empty()) continue;
    if (!out.empty()) out += ' ';
    out += t;
  }
  return out;
}

struct DocxWriter {
  const DocxStyles& styles;
  DocumentBlocks out;

  void paragraph(const pugi::xml_node& p) {
    const pugi::xml_node ppr = p.child("w:pPr");
    const std::string style = ppr.child("w:pStyle").attribute("w:val").value();
    int level = outline_heading(ppr);
    if (level == 0) {
      auto it = styles.heading_by_style.find(style);
      level = it != styles.heading_by_style.end() ? it->second : heading_level(style);
    }
    ListKind list = ListKind::kNone;
    int ilvl = 0;
    if (const pugi::xml_node num = ppr.child("w:numPr")) {
      const std::string num_id = num.child("w:numId").attribute("w:val").value();
      ilvl = std::clamp(num.child("w:ilvl").attribute("w:val").as_int(0), 0, 9);
      // numId 0 removes numbering; without numbering.xml a list is a bullet list.
      list = num_id == "0" ? ListKind::kNone : ListKind::kBullet;
      if (auto a = styles.abstract_by_num.find(num_id); a != styles.abstract_by_num.end()) {
        if (auto levels = styles.bullet_levels.find(a->second);
            levels != styles.bullet_levels.end() &&
            static_cast<std::size_t>(ilvl) < levels->second.size() && !levels->second[ilvl]) {
          list = ListKind::kNumbered;
        }
      }
    }
    out.paragraph(paragraph_text(p), level, level > 0 ? ListKind::kNone : list, ilvl);
  }

  // Merged cells keep their columns: w:gridSpan widens a cell, w:vMerge
  // "restart" opens a vertical merge that the following rows' w:vMerge
  // cells in the same column extend, w:gridBefore skips leading columns.
  void table(const pugi::xml_node& tbl, int depth = 0) {
    check_xml_depth(depth);
    std::vector<SpannedCell> cells;
    std::map<std::size_t, std::size_t> open_merges;  // column -> index in cells
    std::size_t row = 0;
    for (const pugi::xml_node& tr : tbl.children("w:tr")) {
      std::size_t col = std::clamp(
          tr.child("w:trPr").child("w:gridBefore").attribute("w:val").as_int(0), 0, 1000);
      for (const pugi::xml_node& tc : tr.children("w:tc")) {
        const pugi::xml_node tcpr = tc.child("w:tcPr");
        const std::size_t span =
            std::clamp(tcpr.child("w:gridSpan").attribute("w:val").as_int(1), 1, 1000);
        const pugi::xml_node vmerge = tcpr.child("w:vMerge");
        const std::string_view vmerge_val = vmerge.attribute("w:val").value();
        std::string text = cell_text(tc);
        if (vmerge && vmerge_val != "restart" && open_merges.count(col)) {
          SpannedCell& top = cells[open_merges[col]];
          top.row_span = row - top.row + 1;
          if (!text.empty()) top.text += (top.text.empty() ? "" : " ") + text;
        } else {
          if (vmerge && vmerge_val == "restart") {
            open_merges[col] = cells.size();
          } else {
            open_merges.erase(col);
          }
          cells.push_back({row, col, 1, span, std::move(text)});
        }
        col += span;
      }
      ++row;
    }
    out.table(spanned_table_rows(cells, row, 0, "table"));
    for (const pugi::xml_node& tr : tbl.children("w:tr")) {
      for (const pugi::xml_node& tc : tr.children("w:tc")) {
        for (const pugi::xml_node& nested : tc.children("w:tbl")) table(nested, depth + 1);
      }
    }
  }

  void body(const pugi::xml_node& node, int depth = 0) {
    check_xml_depth(depth);
    for (const pugi::xml_node& child : node.children()) {
      const std::string_view name = child.name();
      if (name == "w:p") {
        paragraph(child);
      } else if (name == "w:tbl") {
        table(child);
      } else if (name == "w:sdt") {
        body(child.child("w:sdtContent"), depth + 1);
      }
    }
  }
};

}  // namespace

ExtractedText read_docx(const std::filesystem::path& path, const ZipLimits& limits) {
  SafeZip zip(path, limits);
  std::optional<std::string> xml = zip.read("word/document.xml");
  if (!xml) fail_input("{}: not a DOCX file (no word/document.xml)", path.string());
  const std::string styles = zip.read("word/styles.xml").value_or("");
  const std::string numbering = zip.read("word/numbering.xml").value_or("");
  return docx_text_from_xml(*xml, path.string(), styles, numbering);
}

ExtractedText docx_text_from_xml(std::string_view xml, std::string_view what,
                                 std::string_view styles_xml, std::string_view numbering_xml) {
  const DocxStyles styles = read_styles(styles_xml, numbering_xml, what);
  pugi::xml_document doc;
  load_untrusted_xml(doc, xml, what, "word/document.xml");
  const pugi::xml_node body = doc.child("w:document").child("w:body");
  if (!body) fail_input("{}: word/document.xml has no w:document/w:body", what);
  DocxWriter writer{styles, {}};
  try {
    writer.body(body);
  } catch (const Error& e) {
    fail_input("{}: word/document.xml: {}", what, e.what());
  }
  ExtractedText out = writer.out.finish();
  out.meta.erase("footnotes");
  out.meta.erase("endnotes");
  return out;
}

}  // namespace enclave::data
