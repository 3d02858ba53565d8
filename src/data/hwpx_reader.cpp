// HWPX reader: OWPML (KS X 6101, Hancom's "Open Word-Processor Markup
// Language"), a ZIP container (read through SafeZip) with
// Contents/content.hpf (an OPF package whose spine orders the sections),
// Contents/header.xml (paragraph properties and styles) and
// Contents/section<N>.xml: hs:sec > hp:p (paraPrIDRef, styleIDRef) >
// hp:run > hp:t (text with hp:lineBreak, hp:tab, ...), hp:tbl > hp:tr >
// hp:tc (hp:subList of paragraphs, hp:cellAddr, hp:cellSpan), hp:ctrl >
// hp:footNote / hp:endNote (hp:subList), and drawing objects whose
// hp:drawText holds a text box's hp:subList. Elements are matched by local
// name, so any namespace prefix works. An encrypted package (encryption
// data in META-INF/manifest.xml) is refused.
#include <algorithm>
#include <map>

#include "core/error.h"
#include "data/document_blocks.h"
#include "data/readers.h"
#include "data/safe_xml.h"

namespace enclave::data {

namespace {

struct ParaStyle {
  int heading = 0;
  ListKind list = ListKind::kNone;
  int level = 0;
};

struct Header {
  std::map<std::string, ParaStyle> para_props;     // paraPr id -> heading/list
  std::map<std::string, std::string> style_names;  // style id -> name
};

pugi::xml_node child_named(const pugi::xml_node& node, std::string_view name) {
  for (const pugi::xml_node& c : node.children())
    if (local_name(c) == name) return c;
  return {};
}

void read_header(const pugi::xml_node& node, Header& header, int depth) {
  check_xml_depth(depth);
  for (const pugi::xml_node& c : node.children()) {
    const std::string_view name = local_name(c);
    if (name == "paraPr") {
      ParaStyle s;
      if (const pugi::xml_node h = child_named(c, "heading")) {
        const std::string_view type = h.attribute("type").value();
        s.level = std::clamp(h.attribute("level").as_int(0), 0, 9);
        if (type == "OUTLINE") s.heading = s.level + 1;
        if (type == "NUMBER") s.list = ListKind::kNumbered;
        if (type == "BULLET") s.list = ListKind::kBullet;
      }
      header.para_props[c.attribute("id").value()] = s;
    } else if (name == "style") {
      std::string style = c.attribute("name").value();
      if (heading_level_of_style(style) == 0) {
        const std::string english = c.attribute("engName").value();
        if (heading_level_of_style(english) > 0) style = english;
      }
      header.style_names[c.attribute("id").value()] = std::move(style);
    } else {
      read_header(c, header, depth + 1);
    }
  }
}

class SectionWalker {
 public:
  SectionWalker(const Header& header, DocumentBlocks& out, std::string_view what)
      : header_(header), out_(out), what_(what) {}

  void section(const pugi::xml_node& sec) {
    for (const pugi::xml_node& p : sec.children())
      if (local_name(p) == "p") body_paragraph(p, 1);
  }

 private:
  // Text of an hp:t: character data and the inline marks that stand for text.
  static void t_text(const pugi::xml_node& t, std::string& out) {
    for (const pugi::xml_node& c : t.children()) {
      if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
        out += c.value();
        continue;
      }
      const std::string_view name = local_name(c);
      if (name == "lineBreak") out += '\n';
      if (name == "tab") out += '\t';
      if (name == "nbSpace" || name == "fwSpace") out += ' ';
      if (name == "hyphen") out += '-';
    }
  }

  // The paragraph's text with note markers; tables and drawing objects
  // with text go to `anchored`, written after it.
  std::string paragraph_text(const pugi::xml_node& p, std::vector<pugi::xml_node>& anchored,
                             int depth) {
    check_xml_depth(depth);
    std::string out;
    for (const pugi::xml_node& run : p.children()) {
      if (local_name(run) != "run") continue;
      for (const pugi::xml_node& c : run.children()) {
        const std::string_view name = local_name(c);
        if (name == "t") {
          t_text(c, out);
        } else if (name == "ctrl") {
          for (const pugi::xml_node& k : c.children()) {
            const std::string_view kind = local_name(k);
            if (kind != "footNote" && kind != "endNote") continue;  // headers, fields: not text
            std::vector<pugi::xml_node> inner;
            const std::string note = sub_list_text(child_named(k, "subList"), inner, depth + 1);
            out += out_.note(kind == "footNote" ? NoteKind::kFootnote : NoteKind::kEndnote, note);
            write_anchored(inner, depth + 1);
          }
        } else if (name == "tbl") {
          anchored.push_back(c);
        } else if (name != "secPr" && name != "pic" && name != "equation") {
          anchored.push_back(c);  // a drawing object: its text boxes, if any
        }
      }
    }
    return out;
  }

  std::string sub_list_text(const pugi::xml_node& sub, std::vector<pugi::xml_node>& anchored,
                            int depth) {
    std::string out;
    for (const pugi::xml_node& p : sub.children()) {
      if (local_name(p) != "p") continue;
      std::string t = paragraph_text(p, anchored, depth + 1);
      if (t.empty()) continue;
      if (!out.empty()) out += ' ';
      out += t;
    }
    return out;
  }

  void body_paragraph(const pugi::xml_node& p, int depth) {
    std::vector<pugi::xml_node> anchored;
    std::string text = paragraph_text(p, anchored, depth);
    ParaStyle style;
    if (auto it = header_.para_props.find(p.attribute("paraPrIDRef").value());
        it != header_.para_props.end())
      style = it->second;
    if (auto it = header_.style_names.find(p.attribute("styleIDRef").value());
        it != header_.style_names.end()) {
      if (const int level = heading_level_of_style(it->second); level > 0) style.heading = level;
    }
    out_.paragraph(std::move(text), style.heading, style.heading > 0 ? ListKind::kNone : style.list,
                   style.level);
    write_anchored(anchored, depth);
  }

  void write_anchored(const std::vector<pugi::xml_node>& anchored, int depth) {
    for (const pugi::xml_node& a : anchored) {
      if (local_name(a) == "tbl") {
        table(a, depth + 1);
      } else {
        text_boxes(a, depth + 1);
      }
    }
  }

  void table(const pugi::xml_node& tbl, int depth) {
    check_xml_depth(depth);
    std::vector<SpannedCell> cells;
    std::vector<pugi::xml_node> nested;
    std::size_t row = 0;
    for (const pugi::xml_node& tr : tbl.children()) {
      if (local_name(tr) != "tr") continue;
      std::size_t col = 0;
      for (const pugi::xml_node& tc : tr.children()) {
        if (local_name(tc) != "tc") continue;
        SpannedCell cell;
        // cellAddr places the cell; without it, the cell follows the last one.
        const pugi::xml_node addr = child_named(tc, "cellAddr");
        cell.row = addr ? addr.attribute("rowAddr").as_uint(0) : row;
        cell.col = addr ? addr.attribute("colAddr").as_uint(0) : col;
        const pugi::xml_node span = child_named(tc, "cellSpan");
        cell.row_span = span ? span.attribute("rowSpan").as_uint(1) : 1;
        cell.col_span = span ? span.attribute("colSpan").as_uint(1) : 1;
        cell.text = sub_list_text(child_named(tc, "subList"), nested, depth + 1);
        col = cell.col + std::max<std::size_t>(cell.col_span, 1);
        cells.push_back(std::move(cell));
      }
      ++row;
    }
    out_.table(spanned_table_rows(cells, tbl.attribute("rowCnt").as_uint(0),
                                  tbl.attribute("colCnt").as_uint(0), what_));
    write_anchored(nested, depth);
  }

  // A drawing object's caption, then its text boxes anywhere inside it
  // (grouped shapes included).
  void text_boxes(const pugi::xml_node& node, int depth) {
    check_xml_depth(depth);
    for (const pugi::xml_node& c : node.children()) {
      if (local_name(c) != "caption") continue;
      for (const pugi::xml_node& p : child_named(c, "subList").children())
        if (local_name(p) == "p") body_paragraph(p, depth + 1);
    }
    for (const pugi::xml_node& c : node.children()) {
      if (local_name(c) == "caption") continue;
      if (local_name(c) == "drawText") {
        for (const pugi::xml_node& p : child_named(c, "subList").children())
          if (local_name(p) == "p") body_paragraph(p, depth + 1);
      } else if (c.type() == pugi::node_element) {
        text_boxes(c, depth + 1);
      }
    }
  }

  const Header& header_;
  DocumentBlocks& out_;
  std::string_view what_;
};

// The section parts in reading order: the package's spine, else every
// Contents/section<N>.xml by number.
std::vector<std::string> section_names(SafeZip& zip, std::string_view what) {
  std::vector<std::string> names;
  if (auto hpf = zip.read("Contents/content.hpf")) {
    pugi::xml_document doc;
    load_untrusted_xml(doc, *hpf, what, "Contents/content.hpf");
    std::map<std::string, std::string> hrefs;
    std::vector<std::string> spine;
    const pugi::xml_node package = doc.first_child();
    for (const pugi::xml_node& part : package.children()) {
      for (const pugi::xml_node& item : part.children()) {
        if (local_name(item) == "item")
          hrefs[item.attribute("id").value()] = item.attribute("href").value();
        if (local_name(item) == "itemref") spine.push_back(item.attribute("idref").value());
      }
    }
    for (const std::string& id : spine) {
      auto it = hrefs.find(id);
      if (it == hrefs.end()) continue;
      const std::string& href = it->second;
      // Only parts inside the package; an href is never fetched from anywhere else.
      const std::size_t slash = href.rfind('/');
      const std::string base = slash == std::string::npos ? href : href.substr(slash + 1);
      if (base.starts_with("section") && base.ends_with(".xml") &&
          unsafe_entry_name_reason(href).empty())
        names.push_back(href);
    }
    if (!names.empty()) return names;
  }
  std::vector<std::pair<unsigned long, std::string>> numbered;
  for (const std::string& n : zip.names()) {
    if (!n.starts_with("Contents/section") || !n.ends_with(".xml")) continue;
    const std::string digits = n.substr(16, n.size() - 16 - 4);
    if (digits.empty() || digits.size() > 6 ||
        digits.find_first_not_of("0123456789") != std::string::npos)
      continue;
    numbered.emplace_back(std::stoul(digits), n);
  }
  std::sort(numbered.begin(), numbered.end());
  for (auto& [number, name] : numbered) names.push_back(std::move(name));
  return names;
}

}  // namespace

ExtractedText read_hwpx(const std::filesystem::path& path, const ZipLimits& limits) {
  const std::string what = path.string();
  SafeZip zip(path, limits);
  if (auto mimetype = zip.read("mimetype"); mimetype && !mimetype->starts_with("application/hwp"))
    fail_input("{}: not an HWPX file (mimetype '{}')", what, mimetype->substr(0, 80));
  if (auto manifest = zip.read("META-INF/manifest.xml");
      manifest && manifest->find("encryption-data") != std::string::npos) {
    fail(ErrorKind::kUnsupported, "{}: encrypted or distribution-protected HWPX document", what);
  }
  Header header;
  if (auto xml = zip.read("Contents/header.xml")) {
    pugi::xml_document doc;
    load_untrusted_xml(doc, *xml, what, "Contents/header.xml");
    try {
      read_header(doc, header, 0);
    } catch (const Error& e) {
      fail_input("{}: Contents/header.xml: {}", what, e.what());
    }
  }
  const auto names = section_names(zip, what);
  if (names.empty()) fail_input("{}: not an HWPX file (no Contents/section0.xml)", what);
  DocumentBlocks blocks;
  SectionWalker walker(header, blocks, what);
  for (const std::string& name : names) {
    auto xml = zip.read(name);
    if (!xml) fail_input("{}: the package lists {} but has no such part", what, name);
    pugi::xml_document doc;
    load_untrusted_xml(doc, *xml, what, name);
    try {
      walker.section(doc.first_child());
    } catch (const Error& e) {
      if (std::string_view(e.what()).starts_with(what)) throw;
      fail_input("{}: {}: {}", what, name, e.what());
    }
  }
  ExtractedText out = blocks.finish();
  out.meta["hwpx_sections"] = names.size();
  return out;
}

}  // namespace enclave::data
