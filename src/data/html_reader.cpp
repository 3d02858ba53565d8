#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "data/readers.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

// gumbo frees its tree recursively; refuse documents nested deeper than this
// before handing them to it (and before our own walk recurses).
constexpr int kMaxNesting = 5000;

bool is_void_tag(std::string_view name) {
  static const std::string_view kVoid[] = {
      "area",   "base",  "br",  "col", "embed", "hr", "img", "input", "link",   "meta", "param",
      "source", "track", "wbr", "p",   "li",    "td", "th",  "tr",    "option", "dt",   "dd"};
  return std::find(std::begin(kVoid), std::end(kVoid), name) != std::end(kVoid);
}

// Upper bound on element nesting from a tag count: opening tags of elements
// that must be closed, minus closing tags.
int naive_nesting(std::string_view html) {
  int depth = 0;
  int max_depth = 0;
  for (std::size_t i = 0; i + 1 < html.size(); ++i) {
    if (html[i] != '<') continue;
    if (html[i + 1] == '/') {
      depth = std::max(0, depth - 1);
      continue;
    }
    if (!std::isalpha(static_cast<unsigned char>(html[i + 1]))) continue;
    std::size_t end = i + 1;
    while (end < html.size() && std::isalnum(static_cast<unsigned char>(html[end]))) ++end;
    std::string name(html.substr(i + 1, end - i - 1));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (is_void_tag(name)) continue;
    max_depth = std::max(max_depth, ++depth);
  }
  return max_depth;
}

bool skipped(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_SCRIPT:
    case GUMBO_TAG_STYLE:
    case GUMBO_TAG_NOSCRIPT:
    case GUMBO_TAG_TEMPLATE:
    case GUMBO_TAG_SVG:
    case GUMBO_TAG_MATH:
    case GUMBO_TAG_IFRAME:
    case GUMBO_TAG_OBJECT:
    case GUMBO_TAG_EMBED:
    case GUMBO_TAG_CANVAS:
    case GUMBO_TAG_SELECT:
    case GUMBO_TAG_BUTTON:
    case GUMBO_TAG_HEAD:
      return true;
    default:
      return false;
  }
}

bool is_block(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_P:
    case GUMBO_TAG_DIV:
    case GUMBO_TAG_SECTION:
    case GUMBO_TAG_ARTICLE:
    case GUMBO_TAG_MAIN:
    case GUMBO_TAG_HEADER:
    case GUMBO_TAG_FOOTER:
    case GUMBO_TAG_NAV:
    case GUMBO_TAG_ASIDE:
    case GUMBO_TAG_UL:
    case GUMBO_TAG_OL:
    case GUMBO_TAG_LI:
    case GUMBO_TAG_BLOCKQUOTE:
    case GUMBO_TAG_PRE:
    case GUMBO_TAG_H1:
    case GUMBO_TAG_H2:
    case GUMBO_TAG_H3:
    case GUMBO_TAG_H4:
    case GUMBO_TAG_H5:
    case GUMBO_TAG_H6:
    case GUMBO_TAG_DL:
    case GUMBO_TAG_DT:
    case GUMBO_TAG_DD:
    case GUMBO_TAG_FIGURE:
    case GUMBO_TAG_FIGCAPTION:
    case GUMBO_TAG_HR:
    case GUMBO_TAG_ADDRESS:
    case GUMBO_TAG_FORM:
    case GUMBO_TAG_FIELDSET:
    case GUMBO_TAG_BODY:
    case GUMBO_TAG_HTML:
      return true;
    default:
      return false;
  }
}

int heading_level(GumboTag tag) {
  switch (tag) {
    case GUMBO_TAG_H1:
      return 1;
    case GUMBO_TAG_H2:
      return 2;
    case GUMBO_TAG_H3:
      return 3;
    case GUMBO_TAG_H4:
      return 4;
    case GUMBO_TAG_H5:
      return 5;
    case GUMBO_TAG_H6:
      return 6;
    default:
      return 0;
  }
}

// Appends text with whitespace runs collapsed (outside <pre>).
void append_collapsed(std::string& out, std::string_view text) {
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!out.empty() && out.back() != ' ' && out.back() != '\n') out += ' ';
    } else {
      out += c;
    }
  }
}

struct HtmlWriter {
  std::vector<std::string> blocks;
  std::string current;
  std::string prefix;  // "# ", "- " for the block being written
  nlohmann::json sections = nlohmann::json::array();
  int tables = 0;

  void flush() {
    std::string text = current;
    while (!text.empty() && (text.back() == ' ' || text.back() == '\n')) text.pop_back();
    const std::size_t start = text.find_first_not_of(" \n");
    if (start != std::string::npos) blocks.push_back(prefix + text.substr(start));
    current.clear();
    prefix.clear();
  }

  // Text of a subtree on one line (table cells).
  void inline_text(const GumboNode* node, std::string& out, int depth) {
    if (depth > kMaxNesting) return;
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA ||
        node->type == GUMBO_NODE_WHITESPACE) {
      append_collapsed(out, node->v.text.text);
      return;
    }
    if (node->type != GUMBO_NODE_ELEMENT || skipped(node->v.element.tag)) return;
    if (node->v.element.tag == GUMBO_TAG_BR) out += ' ';
    const GumboVector& children = node->v.element.children;
    for (unsigned i = 0; i < children.length; ++i) {
      inline_text(static_cast<const GumboNode*>(children.data[i]), out, depth + 1);
    }
  }

  void table(const GumboNode* node, int depth) {
    std::vector<std::vector<std::string>> rows;
    // Rows may sit under thead/tbody/tfoot.
    std::vector<const GumboNode*> trs;
    auto collect = [&](const GumboNode* n, auto&& self, int d) -> void {
      if (d > kMaxNesting || n->type != GUMBO_NODE_ELEMENT) return;
      const GumboVector& ch = n->v.element.children;
      for (unsigned i = 0; i < ch.length; ++i) {
        const auto* c = static_cast<const GumboNode*>(ch.data[i]);
        if (c->type != GUMBO_NODE_ELEMENT) continue;
        if (c->v.element.tag == GUMBO_TAG_TR) {
          trs.push_back(c);
        } else if (c->v.element.tag != GUMBO_TAG_TABLE) {
          self(c, self, d + 1);
        }
      }
    };
    collect(node, collect, depth);
    for (const GumboNode* tr : trs) {
      rows.emplace_back();
      const GumboVector& cells = tr->v.element.children;
      for (unsigned i = 0; i < cells.length; ++i) {
        const auto* c = static_cast<const GumboNode*>(cells.data[i]);
        if (c->type != GUMBO_NODE_ELEMENT ||
            (c->v.element.tag != GUMBO_TAG_TD && c->v.element.tag != GUMBO_TAG_TH)) {
          continue;
        }
        std::string text;
        inline_text(c, text, depth + 1);
        while (!text.empty() && text.back() == ' ') text.pop_back();
        rows.back().push_back(text.substr(std::min(text.size(), text.find_first_not_of(' '))));
      }
      if (rows.back().empty()) rows.pop_back();
    }
    if (rows.empty()) return;
    flush();
    blocks.push_back(markdown_table(rows));
    ++tables;
  }

  void walk(const GumboNode* node, int depth, bool pre) {
    if (depth > kMaxNesting) return;
    if (node->type == GUMBO_NODE_TEXT || node->type == GUMBO_NODE_CDATA ||
        node->type == GUMBO_NODE_WHITESPACE) {
      if (pre) {
        current += node->v.text.text;
      } else {
        append_collapsed(current, node->v.text.text);
      }
      return;
    }
    if (node->type != GUMBO_NODE_ELEMENT && node->type != GUMBO_NODE_DOCUMENT) return;
    const GumboVector* children = nullptr;
    if (node->type == GUMBO_NODE_DOCUMENT) {
      children = &node->v.document.children;
    } else {
      const GumboTag tag = node->v.element.tag;
      if (skipped(tag)) return;
      if (tag == GUMBO_TAG_TABLE) {
        table(node, depth);
        return;
      }
      if (tag == GUMBO_TAG_BR) {
        current += '\n';
        return;
      }
      children = &node->v.element.children;
      if (is_block(tag)) {
        flush();
        if (const int level = heading_level(tag); level > 0) prefix = std::string(level, '#') + " ";
        if (tag == GUMBO_TAG_LI) prefix = "- ";
        pre = pre || tag == GUMBO_TAG_PRE;
      }
    }
    for (unsigned i = 0; i < children->length; ++i) {
      walk(static_cast<const GumboNode*>(children->data[i]), depth + 1, pre);
    }
    if (node->type == GUMBO_NODE_ELEMENT && is_block(node->v.element.tag)) {
      if (heading_level(node->v.element.tag) > 0) {
        std::string title = current;
        while (!title.empty() && title.back() == ' ') title.pop_back();
        if (!title.empty())
          sections.push_back(title.substr(std::min(title.size(), title.find_first_not_of(' '))));
      }
      flush();
    }
  }
};

std::string find_title(const GumboNode* node, int depth) {
  if (depth > 64 || node->type != GUMBO_NODE_ELEMENT) return "";
  if (node->v.element.tag == GUMBO_TAG_TITLE) {
    std::string out;
    const GumboVector& ch = node->v.element.children;
    for (unsigned i = 0; i < ch.length; ++i) {
      const auto* c = static_cast<const GumboNode*>(ch.data[i]);
      if (c->type == GUMBO_NODE_TEXT) append_collapsed(out, c->v.text.text);
    }
    return out;
  }
  const GumboVector& ch = node->v.element.children;
  for (unsigned i = 0; i < ch.length; ++i) {
    std::string t = find_title(static_cast<const GumboNode*>(ch.data[i]), depth + 1);
    if (!t.empty()) return t;
  }
  return "";
}

}  // namespace

ExtractedText read_html(const std::filesystem::path& path, std::uint64_t max_bytes) {
  const std::string html = decode_text_bytes(read_file(path, max_bytes));
  if (naive_nesting(html) > kMaxNesting)
    fail_input("{}: elements nested deeper than {}", path.string(), kMaxNesting);
  GumboOptions options = kGumboDefaultOptions;
  options.max_errors = 100;
  std::unique_ptr<GumboOutput, void (*)(GumboOutput*)> output(
      gumbo_parse_with_options(&options, html.data(), html.size()),
      [](GumboOutput* o) { gumbo_destroy_output(&kGumboDefaultOptions, o); });
  if (!output) fail_input("{}: cannot parse HTML", path.string());
  HtmlWriter writer;
  writer.walk(output->document, 0, false);
  writer.flush();
  ExtractedText out;
  for (const auto& b : writer.blocks) {
    if (!out.text.empty()) out.text += "\n\n";
    out.text += b;
  }
  out.text = sanitize_utf8(out.text);
  out.meta["title"] = sanitize_utf8(find_title(output->root, 0));
  out.meta["sections"] = writer.sections;
  out.meta["tables"] = writer.tables;
  return out;
}

}  // namespace enclave::data
