#include <pugixml.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "data/readers.h"
#include "data/safe_xml.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

// Heading level of a paragraph style ("Heading2" -> 2, "Title" -> 1), or 0.
int heading_level(const pugi::xml_node& paragraph) {
  const std::string style = paragraph.child("w:pPr").child("w:pStyle").attribute("w:val").value();
  if (style == "Title") return 1;
  for (const char* prefix : {"Heading", "heading", "제목"}) {
    const std::string p(prefix);
    if (style.size() == p.size() + 1 && style.starts_with(p) && style.back() >= '1' &&
        style.back() <= '9') {
      return style.back() - '0';
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
  std::vector<std::string> blocks;
  nlohmann::json sections = nlohmann::json::array();
  int tables = 0;

  void paragraph(const pugi::xml_node& p) {
    std::string text = paragraph_text(p);
    if (text.find_first_not_of(" \t\n") == std::string::npos) return;
    if (const int level = heading_level(p); level > 0) {
      sections.push_back(text);
      blocks.push_back(std::string(static_cast<std::size_t>(std::min(level, 6)), '#') + " " + text);
    } else if (p.child("w:pPr").child("w:numPr")) {
      blocks.push_back("- " + text);
    } else {
      blocks.push_back(std::move(text));
    }
  }

  void table(const pugi::xml_node& tbl, int depth = 0) {
    check_xml_depth(depth);
    std::vector<std::vector<std::string>> rows;
    for (const pugi::xml_node& tr : tbl.children("w:tr")) {
      rows.emplace_back();
      for (const pugi::xml_node& tc : tr.children("w:tc")) {
        rows.back().push_back(cell_text(tc));
        for (const pugi::xml_node& nested : tc.children("w:tbl")) table(nested, depth + 1);
      }
    }
    if (rows.empty()) return;
    blocks.push_back(markdown_table(rows));
    ++tables;
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
  return docx_text_from_xml(*xml, path.string());
}

ExtractedText docx_text_from_xml(std::string_view xml, std::string_view what) {
  pugi::xml_document doc;
  load_untrusted_xml(doc, xml, what, "word/document.xml");
  const pugi::xml_node body = doc.child("w:document").child("w:body");
  if (!body) fail_input("{}: word/document.xml has no w:document/w:body", what);
  DocxWriter writer;
  try {
    writer.body(body);
  } catch (const Error& e) {
    fail_input("{}: word/document.xml: {}", what, e.what());
  }
  ExtractedText out;
  for (const auto& b : writer.blocks) {
    if (!out.text.empty()) out.text += "\n\n";
    out.text += b;
  }
  out.text = sanitize_utf8(out.text);
  out.meta["sections"] = writer.sections;
  out.meta["tables"] = writer.tables;
  return out;
}

}  // namespace enclave::data
