// HWP 5.0 reader after Hancom's published specification "한글 문서 파일
// 형식 5.0" (revision 1.3): a compound file (cfb.h) whose FileHeader stream
// holds the signature, version and property flags (bit 0 compressed, 1
// password, 2 distribution document, 4 DRM, 8 and 10 certificate
// encryption/DRM), DocInfo the shared records (paragraph shapes, styles),
// and BodyText/Section<N> the text, each stream a sequence of records
// (a 32-bit header: tag 10 bits, level 10 bits, size 12 bits or 0xFFF and
// a 32-bit size) raw-deflated when the file is compressed. The level nests
// records into a tree: a paragraph header (HWPTAG_PARA_HEADER) holds its
// text (UTF-16LE with control characters), and one control header per
// extended control character, in order; a control's lists (a list header
// followed by its paragraphs) are table cells, text boxes or notes.
#include <zlib.h>

#include <algorithm>
#include <fstream>

#include "core/error.h"
#include "data/cfb.h"
#include "data/document_blocks.h"
#include "data/readers.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

constexpr std::uint16_t kTagBegin = 0x10;
constexpr std::uint16_t kTagParaShape = kTagBegin + 9;
constexpr std::uint16_t kTagStyle = kTagBegin + 10;
constexpr std::uint16_t kTagParaHeader = kTagBegin + 50;
constexpr std::uint16_t kTagParaText = kTagBegin + 51;
constexpr std::uint16_t kTagCtrlHeader = kTagBegin + 55;
constexpr std::uint16_t kTagListHeader = kTagBegin + 56;
constexpr std::uint16_t kTagShapeComponent = kTagBegin + 60;
constexpr std::uint16_t kTagTable = kTagBegin + 61;

// Tables in text boxes in tables...: refuse rather than recurse without bound.
constexpr int kMaxDepth = 64;

constexpr std::uint32_t ctrl_id(const char (&s)[5]) {
  return (static_cast<std::uint32_t>(s[0]) << 24) | (static_cast<std::uint32_t>(s[1]) << 16) |
         (static_cast<std::uint32_t>(s[2]) << 8) | static_cast<std::uint32_t>(s[3]);
}
constexpr std::uint32_t kCtrlTable = ctrl_id("tbl ");
constexpr std::uint32_t kCtrlShape = ctrl_id("gso ");
constexpr std::uint32_t kCtrlFootnote = ctrl_id("fn  ");
constexpr std::uint32_t kCtrlEndnote = ctrl_id("en  ");

struct Node {
  std::uint16_t tag = 0;
  std::string_view data;
  std::vector<std::size_t> children;
};

// The record tree of one stream; nodes[0] is a virtual root above level 0.
// Throws naming `what` for a record past the stream's end or a level that
// skips one.
std::vector<Node> parse_records(std::string_view stream, std::string_view what) {
  std::vector<Node> nodes(1);
  std::vector<std::size_t> open{0};  // open[L] is the last node at level L - 1
  std::size_t pos = 0;
  while (pos < stream.size()) {
    if (stream.size() - pos < 4)
      fail_input("{}: record {} truncated in its header", what, nodes.size() - 1);
    const std::uint32_t header = le32(stream, pos);
    pos += 4;
    const auto tag = static_cast<std::uint16_t>(header & 0x3FF);
    const std::size_t level = (header >> 10) & 0x3FF;
    std::size_t size = header >> 20;
    if (size == 0xFFF) {
      if (stream.size() - pos < 4)
        fail_input("{}: record {} truncated in its size", what, nodes.size() - 1);
      size = le32(stream, pos);
      pos += 4;
    }
    if (size > stream.size() - pos) {
      fail_input("{}: record {} (tag {}) declares {} bytes, {} left in the stream", what,
                 nodes.size() - 1, tag, size, stream.size() - pos);
    }
    if (level + 1 > open.size()) {
      fail_input("{}: record {} (tag {}) at level {} has no parent at level {}", what,
                 nodes.size() - 1, tag, level, level - 1);
    }
    if (level >= kMaxDepth) fail_input("{}: records nested deeper than {} levels", what, kMaxDepth);
    open.resize(level + 1);
    const std::size_t index = nodes.size();
    nodes.push_back({tag, stream.substr(pos, size), {}});
    nodes[open[level]].children.push_back(index);
    open.push_back(index);
    pos += size;
  }
  return nodes;
}

// Raw deflate (windowBits -15) with the ZIP limits: bytes out and ratio.
std::string inflate_raw(std::string_view in, std::string_view what, const ZipLimits& limits) {
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) fail(ErrorKind::kIo, "{}: zlib init failed", what);
  std::string out;
  char buf[1 << 16];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      // A stream cut short reads as Z_BUF_ERROR: no more input, no end.
      fail_input("{}: corrupt compressed data ({})", what,
                 rc == Z_BUF_ERROR ? "truncated" : (z.msg != nullptr ? z.msg : "zlib error"));
    }
    out.append(buf, sizeof(buf) - z.avail_out);
    if (out.size() > limits.max_entry_bytes) {
      inflateEnd(&z);
      fail_input("{}: inflates past {} bytes (decompression bomb?)", what, limits.max_entry_bytes);
    }
  }
  inflateEnd(&z);
  if (out.size() > (std::size_t{1} << 20) &&
      static_cast<double>(out.size()) >
          limits.max_ratio * static_cast<double>(std::max<std::size_t>(in.size(), 1))) {
    fail_input("{}: compression ratio {}:1 (decompression bomb?)", what,
               out.size() / std::max<std::size_t>(in.size(), 1));
  }
  return out;
}

struct ParaShape {
  int head = 0;  // 0 none, 1 outline, 2 numbering, 3 bullet
  int level = 0;
};

struct DocInfo {
  std::vector<ParaShape> para_shapes;
  std::vector<std::string> style_names;
};

DocInfo parse_doc_info(std::string_view stream, std::string_view what) {
  const auto nodes = parse_records(stream, what);
  DocInfo info;
  for (const Node& n : nodes) {
    if (n.tag == kTagParaShape && n.data.size() >= 4) {
      const std::uint32_t attr = le32(n.data, 0);
      info.para_shapes.push_back(
          {static_cast<int>((attr >> 23) & 3), static_cast<int>((attr >> 25) & 7)});
    } else if (n.tag == kTagStyle) {
      // Local name: a UINT16 length and that many UTF-16 units.
      std::string name;
      if (n.data.size() >= 2) {
        const std::size_t len = le16(n.data, 0);
        if (2 + 2 * len <= n.data.size()) name = utf16le_to_utf8(n.data.substr(2, 2 * len));
        // The English name follows; it names the style when the local one
        // is not a heading name.
        const std::size_t eng = 2 + 2 * len;
        if (heading_level_of_style(name) == 0 && eng + 2 <= n.data.size()) {
          const std::size_t elen = le16(n.data, eng);
          if (eng + 2 + 2 * elen <= n.data.size()) {
            std::string english = utf16le_to_utf8(n.data.substr(eng + 2, 2 * elen));
            if (heading_level_of_style(english) > 0) name = std::move(english);
          }
        }
      }
      info.style_names.push_back(std::move(name));
    }
  }
  return info;
}

class SectionWalker {
 public:
  SectionWalker(const DocInfo& info, DocumentBlocks& out, std::string_view what)
      : info_(info), out_(out), what_(what) {}

  void section(const std::vector<Node>& nodes) {
    nodes_ = &nodes;
    for (std::size_t i : nodes[0].children) {
      if (nodes[i].tag == kTagParaHeader) body_paragraph(nodes[i], 0);
    }
  }

 private:
  struct List {
    const Node* header = nullptr;
    std::vector<const Node*> paragraphs;
    bool after_table = false;  // after a HWPTAG_TABLE record: a cell, not a caption
  };

  const Node& node(std::size_t i) const { return (*nodes_)[i]; }

  // The lists under a control: each list header and the paragraphs after it.
  std::vector<List> lists(const Node& parent) const {
    std::vector<List> out;
    bool after_table = false;
    for (std::size_t i : parent.children) {
      const Node& n = node(i);
      after_table = after_table || n.tag == kTagTable;
      if (n.tag == kTagListHeader) {
        out.push_back({&n, {}, after_table});
      } else if (n.tag == kTagParaHeader && !out.empty()) {
        out.back().paragraphs.push_back(&n);
      }
    }
    return out;
  }

  void check_depth(int depth) const {
    if (depth > kMaxDepth) fail_input("{}: objects nested deeper than {} levels", what_, kMaxDepth);
  }

  // The paragraph's text with note markers in place; tables and text boxes
  // anchored in it go to `anchored`, to be written after it.
  std::string paragraph_text(const Node& para, std::vector<const Node*>& anchored, int depth) {
    check_depth(depth);
    std::vector<const Node*> controls;
    const Node* text = nullptr;
    for (std::size_t i : para.children) {
      const Node& n = node(i);
      if (n.tag == kTagCtrlHeader) controls.push_back(&n);
      if (n.tag == kTagParaText && text == nullptr) text = &n;
    }
    std::string out;
    if (text == nullptr) return out;
    const std::string_view b = text->data;
    std::size_t next_control = 0;
    for (std::size_t i = 0; i + 1 < b.size(); i += 2) {
      const std::uint16_t c = le16(b, i);
      if (c >= 32) {
        std::size_t end = i + 2;
        while (end + 1 < b.size() && le16(b, end) >= 32) end += 2;
        out += utf16le_to_utf8(b.substr(i, end - i));
        i = end - 2;
        continue;
      }
      switch (c) {
        case 10:
          out += '\n';
          break;
        case 24:
          out += '-';
          break;
        case 30:
        case 31:
          out += ' ';
          break;
        case 0:
        case 13:
        case 25:
        case 26:
        case 27:
        case 28:
        case 29:
          break;  // unusable, paragraph end, reserved: one unit, no text
        case 9:
          out += '\t';
          i += 14;  // inline control: 8 units
          break;
        case 4:
        case 5:
        case 6:
        case 7:
        case 8:
        case 19:
        case 20:
          i += 14;
          break;
        default: {  // extended control: 8 units and the next control header
          i += 14;
          if (next_control < controls.size())
            control(*controls[next_control++], out, anchored, depth);
        }
      }
    }
    return out;
  }

  void control(const Node& ctrl, std::string& text, std::vector<const Node*>& anchored, int depth) {
    if (ctrl.data.size() < 4) return;
    const std::uint32_t id = le32(ctrl.data, 0);
    if (id == kCtrlTable || id == kCtrlShape) {
      anchored.push_back(&ctrl);
    } else if (id == kCtrlFootnote || id == kCtrlEndnote) {
      std::vector<const Node*> inner;
      std::string note;
      for (const List& list : lists(ctrl)) note += list_text(list, inner, depth + 1);
      text += out_.note(id == kCtrlFootnote ? NoteKind::kFootnote : NoteKind::kEndnote, note);
      write_anchored(inner, depth + 1);
    }
    // Headers, footers, hidden comments, fields, page numbers: not body text.
  }

  std::string list_text(const List& list, std::vector<const Node*>& anchored, int depth) {
    std::string out;
    for (const Node* p : list.paragraphs) {
      std::string t = paragraph_text(*p, anchored, depth);
      if (t.empty()) continue;
      if (!out.empty()) out += ' ';
      out += t;
    }
    return out;
  }

  void body_paragraph(const Node& para, int depth) {
    std::vector<const Node*> anchored;
    std::string text = paragraph_text(para, anchored, depth);
    int heading = 0;
    ListKind list = ListKind::kNone;
    int level = 0;
    if (para.data.size() >= 11) {
      const std::uint16_t shape_id = le16(para.data, 8);
      const std::uint8_t style_id = static_cast<std::uint8_t>(para.data[10]);
      if (style_id < info_.style_names.size())
        heading = heading_level_of_style(info_.style_names[style_id]);
      if (shape_id < info_.para_shapes.size()) {
        const ParaShape& s = info_.para_shapes[shape_id];
        level = s.level;
        if (s.head == 1 && heading == 0) heading = s.level + 1;
        if (s.head == 2) list = ListKind::kNumbered;
        if (s.head == 3) list = ListKind::kBullet;
      }
    }
    out_.paragraph(std::move(text), heading, heading > 0 ? ListKind::kNone : list, level);
    write_anchored(anchored, depth);
  }

  void write_anchored(const std::vector<const Node*>& anchored, int depth) {
    for (const Node* ctrl : anchored) {
      if (le32(ctrl->data, 0) == kCtrlTable) {
        table(*ctrl, depth + 1);
      } else {
        // A drawing object's own lists are its caption; its text boxes sit
        // in its shape components.
        for (const List& caption : lists(*ctrl)) {
          std::vector<const Node*> inner;
          out_.paragraph(list_text(caption, inner, depth + 1));
          write_anchored(inner, depth + 1);
        }
        text_box(*ctrl, depth + 1);
      }
    }
  }

  void table(const Node& ctrl, int depth) {
    check_depth(depth);
    std::size_t n_rows = 0, n_cols = 0;
    std::vector<SpannedCell> cells;
    std::vector<const Node*> nested;
    for (std::size_t i : ctrl.children) {
      const Node& n = node(i);
      if (n.tag == kTagTable && n.data.size() >= 8) {
        n_rows = le16(n.data, 4);
        n_cols = le16(n.data, 6);
      }
    }
    for (const List& list : lists(ctrl)) {
      const std::string_view h = list.header->data;
      std::string text = list_text(list, nested, depth);
      if (!list.after_table) {
        out_.paragraph(std::move(text));  // a caption
        continue;
      }
      // Cell properties follow the list's paragraph count and attributes
      // (6 bytes in the specification, 8 in files Hancom writes).
      const std::size_t off = (h.size() == 30 || h.size() == 32) ? 6 : 8;
      if (h.size() < off + 8) fail_input("{}: table cell list header of {} bytes", what_, h.size());
      cells.push_back({le16(h, off + 2), le16(h, off), std::max<std::size_t>(le16(h, off + 6), 1),
                       std::max<std::size_t>(le16(h, off + 4), 1), std::move(text)});
    }
    out_.table(spanned_table_rows(cells, n_rows, n_cols, what_));
    write_anchored(nested, depth);
  }

  // A drawing object's text (text boxes, also inside grouped shapes).
  void text_box(const Node& parent, int depth) {
    check_depth(depth);
    for (std::size_t i : parent.children) {
      const Node& n = node(i);
      if (n.tag == kTagShapeComponent) {
        for (const List& list : lists(n)) {
          for (const Node* p : list.paragraphs) body_paragraph(*p, depth + 1);
        }
        text_box(n, depth + 1);
      }
    }
  }

  const DocInfo& info_;
  DocumentBlocks& out_;
  std::string_view what_;
  const std::vector<Node>* nodes_ = nullptr;
};

}  // namespace

ExtractedText hwp_text_from_bytes(std::string bytes, std::string_view what,
                                  const ZipLimits& limits) {
  const std::string name(what);
  // HWP 3.x and older are not compound files; they start with the signature itself.
  if (bytes.starts_with("HWP Document File"))
    fail(ErrorKind::kUnsupported, "{}: HWP 3.x document (only HWP 5.0 and HWPX are read)", what);
  const CompoundFile file(std::move(bytes), name, limits.max_entry_bytes);
  const auto header = file.read("FileHeader");
  if (!header) fail_input("{}: not an HWP 5.0 file (no FileHeader stream)", what);
  if (header->size() < 40 || header->compare(0, 17, "HWP Document File") != 0)
    fail_input("{}: FileHeader: not an HWP document signature", what);
  const std::uint32_t version = le32(*header, 32);
  if ((version >> 24) != 5)
    fail(ErrorKind::kUnsupported, "{}: HWP version {}.{} (only 5.x is read)", what, version >> 24,
         (version >> 16) & 0xFF);
  const std::uint32_t flags = le32(*header, 36);
  if (flags & (1u << 1)) fail(ErrorKind::kUnsupported, "{}: password-encrypted HWP document", what);
  if (flags & (1u << 2))
    fail(ErrorKind::kUnsupported, "{}: distribution-protected HWP document (배포용 문서)", what);
  if (flags & ((1u << 4) | (1u << 8) | (1u << 10)))
    fail(ErrorKind::kUnsupported, "{}: DRM- or certificate-protected HWP document", what);
  const bool compressed = (flags & 1u) != 0;

  std::uint64_t total = 0;
  auto stream = [&](const std::string& path) {
    auto raw = file.read(path);
    if (!raw) fail_input("{}: no {} stream", what, path);
    std::string data = compressed ? inflate_raw(*raw, name + ": " + path, limits) : std::move(*raw);
    total += data.size();
    if (total > limits.max_total_bytes)
      fail_input("{}: streams inflate to more than {} bytes (decompression bomb?)", what,
                 limits.max_total_bytes);
    return data;
  };

  const DocInfo info = parse_doc_info(stream("DocInfo"), name + ": DocInfo");
  const auto names = file.children("BodyText");
  if (!names) fail_input("{}: no BodyText storage", what);
  std::vector<std::pair<std::uint32_t, std::string>> sections;
  for (const std::string& n : *names) {
    if (!n.starts_with("Section") || n.size() == 7 || n.size() > 16) continue;
    const std::string digits = n.substr(7);
    if (digits.find_first_not_of("0123456789") != std::string::npos) continue;
    sections.emplace_back(static_cast<std::uint32_t>(std::stoul(digits)), n);
  }
  std::sort(sections.begin(), sections.end());
  DocumentBlocks blocks;
  SectionWalker walker(info, blocks, what);
  for (const auto& s : sections) {
    const std::string path = "BodyText/" + s.second;
    const std::string data = stream(path);
    walker.section(parse_records(data, name + ": " + path));
  }
  ExtractedText out = blocks.finish();
  out.meta["hwp_sections"] = sections.size();
  return out;
}

ExtractedText read_hwp(const std::filesystem::path& path, const ZipLimits& limits) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(ErrorKind::kNotFound, "{}: cannot open", path.string());
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return hwp_text_from_bytes(std::move(bytes), path.string(), limits);
}

}  // namespace enclave::data
