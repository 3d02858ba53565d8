#include <gumbo.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "data/markdown.h"
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

std::string_view attribute(const GumboNode* node, const char* name) {
  const GumboAttribute* a = gumbo_get_attribute(&node->v.element.attributes, name);
  return a == nullptr ? std::string_view() : std::string_view(a->value);
}

// Page chrome that main-content extraction drops, as trafilatura-style
// extractors do: navigation, asides, footers, page headers (outside the
// main content), hidden elements, landmark roles other than main, and
// elements whose id or class names a menu, a cookie or consent banner, a
// sidebar, sharing links or ads (whole tokens: "nav-bar" is, "canvas" is not).
bool is_boilerplate(const GumboNode* node, bool in_main) {
  const GumboTag tag = node->v.element.tag;
  if (tag == GUMBO_TAG_NAV || tag == GUMBO_TAG_ASIDE || tag == GUMBO_TAG_FOOTER) return true;
  if (tag == GUMBO_TAG_HEADER && !in_main) return true;
  if (tag == GUMBO_TAG_BODY || tag == GUMBO_TAG_HTML || tag == GUMBO_TAG_MAIN ||
      tag == GUMBO_TAG_ARTICLE)
    return false;
  if (gumbo_get_attribute(&node->v.element.attributes, "hidden") != nullptr ||
      attribute(node, "aria-hidden") == "true")
    return true;
  static const std::string_view kRoles[] = {"navigation",    "banner", "contentinfo",
                                            "complementary", "search", "dialog",
                                            "alertdialog",   "menu",   "menubar"};
  const std::string_view role = attribute(node, "role");
  if (std::find(std::begin(kRoles), std::end(kRoles), role) != std::end(kRoles)) return true;
  static const std::string_view kTokens[] = {
      "cookie", "cookies",       "consent",     "gdpr",    "nav",       "navbar", "navigation",
      "menu",   "breadcrumb",    "breadcrumbs", "sidebar", "footer",    "social", "share",
      "advert", "advertisement", "ads",         "popup",   "newsletter"};
  for (const char* name : {"id", "class"}) {
    const std::string_view value = attribute(node, name);
    std::size_t pos = 0;
    while (pos < value.size()) {
      while (pos < value.size() && !std::isalnum(static_cast<unsigned char>(value[pos]))) ++pos;
      std::size_t end = pos;
      while (end < value.size() && std::isalnum(static_cast<unsigned char>(value[end]))) ++end;
      std::string token(value.substr(pos, end - pos));
      for (char& c : token) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!token.empty() &&
          std::find(std::begin(kTokens), std::end(kTokens), token) != std::end(kTokens))
        return true;
      pos = end;
    }
  }
  return false;
}

// The page's main content: the first <main> or role="main", else the only
// <article>; nullptr when there is none (the whole body is read).
const GumboNode* find_main(const GumboNode* node, int depth,
                           std::vector<const GumboNode*>& articles) {
  if (depth > kMaxNesting || node->type != GUMBO_NODE_ELEMENT) return nullptr;
  if (node->v.element.tag == GUMBO_TAG_MAIN || attribute(node, "role") == "main") return node;
  if (node->v.element.tag == GUMBO_TAG_ARTICLE) articles.push_back(node);
  const GumboVector& ch = node->v.element.children;
  for (unsigned i = 0; i < ch.length; ++i) {
    if (const GumboNode* m =
            find_main(static_cast<const GumboNode*>(ch.data[i]), depth + 1, articles))
      return m;
  }
  return nullptr;
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
  bool in_main = false;            // walking inside <main>/<article>
  std::vector<long> list_numbers;  // per open list: the next number (<ol>) or -1 (<ul>)

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
    if (node->type != GUMBO_NODE_ELEMENT || skipped(node->v.element.tag) ||
        is_boilerplate(node, true))
      return;
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
    // Cells placed as HTML's table model places them: each after the slots
    // that cells spanning down from earlier rows hold, colspan/rowspan
    // keeping every column.
    std::vector<SpannedCell> cells;
    std::vector<std::vector<bool>> taken(trs.size());
    std::vector<bool> has_cells(trs.size(), false);
    std::size_t marked = 0;  // slots marked taken, bounded against overlapping spans
    for (std::size_t r = 0; r < trs.size(); ++r) {
      std::size_t col = 0;
      const GumboVector& tds = trs[r]->v.element.children;
      for (unsigned i = 0; i < tds.length; ++i) {
        const auto* c = static_cast<const GumboNode*>(tds.data[i]);
        if (c->type != GUMBO_NODE_ELEMENT ||
            (c->v.element.tag != GUMBO_TAG_TD && c->v.element.tag != GUMBO_TAG_TH)) {
          continue;
        }
        while (col < taken[r].size() && taken[r][col]) ++col;
        // colspan 0 means 1, rowspan 0 "to the end of the table".
        auto span = [&](const char* name, long most, long if_zero) {
          const std::string value(attribute(c, name));
          const long n = value.empty() ? 1 : std::atol(value.c_str());
          return static_cast<std::size_t>(n <= 0 ? if_zero : std::min(n, most));
        };
        const std::size_t cs = span("colspan", 1000, 1);
        const long rows_left = static_cast<long>(trs.size() - r);
        const std::size_t rs = span("rowspan", rows_left, rows_left);
        marked += cs * rs;
        if ((col + cs) * (r + rs) > (std::size_t{1} << 20) || marked > (std::size_t{1} << 22))
          fail_input("table of more than {} cells", std::size_t{1} << 20);
        for (std::size_t rr = r; rr < r + rs; ++rr) {
          if (taken[rr].size() < col + cs) taken[rr].resize(col + cs, false);
          std::fill(taken[rr].begin() + static_cast<long>(col),
                    taken[rr].begin() + static_cast<long>(col + cs), true);
        }
        std::string text;
        inline_text(c, text, depth + 1);
        while (!text.empty() && text.back() == ' ') text.pop_back();
        text.erase(0, std::min(text.size(), text.find_first_not_of(' ')));
        cells.push_back({r, col, rs, cs, std::move(text)});
        has_cells[r] = true;
        col += cs;
      }
    }
    for (auto& row : spanned_table_rows(cells, 0, 0, "table")) rows.push_back(std::move(row));
    // Rows without a cell of their own (only spanned into, or empty) add nothing.
    for (std::size_t r = rows.size(); r-- > 0;) {
      if (!has_cells[r] && std::all_of(rows[r].begin(), rows[r].end(),
                                       [](const std::string& t) { return t.empty(); }))
        rows.erase(rows.begin() + static_cast<long>(r));
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
      if (skipped(tag) || is_boilerplate(node, in_main)) return;
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
        if (tag == GUMBO_TAG_LI) {
          prefix = "- ";
          if (!list_numbers.empty() && list_numbers.back() >= 0)
            prefix = std::to_string(list_numbers.back()++) + ". ";
        }
        pre = pre || tag == GUMBO_TAG_PRE;
      }
    }
    const bool is_list = node->type == GUMBO_NODE_ELEMENT && (node->v.element.tag == GUMBO_TAG_OL ||
                                                              node->v.element.tag == GUMBO_TAG_UL);
    if (is_list) {
      const std::string start(node->v.element.tag == GUMBO_TAG_OL ? attribute(node, "start") : "");
      list_numbers.push_back(node->v.element.tag == GUMBO_TAG_UL ? -1
                             : start.empty()                     ? 1
                                             : std::max(0L, std::atol(start.c_str())));
    }
    for (unsigned i = 0; i < children->length; ++i) {
      walk(static_cast<const GumboNode*>(children->data[i]), depth + 1, pre);
    }
    if (is_list) list_numbers.pop_back();
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
  std::vector<const GumboNode*> articles;
  const GumboNode* main = find_main(output->root, 0, articles);
  if (main == nullptr && articles.size() == 1) main = articles[0];
  try {
    writer.in_main = main != nullptr;
    writer.walk(main != nullptr ? main : output->document, 0, false);
    writer.flush();
  } catch (const Error& e) {
    fail_input("{}: {}", path.string(), e.what());
  }
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
