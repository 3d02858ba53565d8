#include "data/pdf_drawing_testing.h"

#include <cairo-pdf.h>
#include <cairo.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "text/utf8.h"

namespace enclave::data::testing {

namespace {

std::vector<char32_t> code_points(const std::string& s) {
  std::vector<char32_t> out;
  for (std::size_t pos = 0; pos < s.size();) out.push_back(next_code_point(s, pos));
  return out;
}

std::string trim(const std::string& s) {
  const std::size_t a = s.find_first_not_of(' ');
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(' ') - a + 1);
}

}  // namespace

CairoPdf::CairoPdf(const std::filesystem::path& path, std::string font, double width, double height)
    : width_(width), height_(height), font_(std::move(font)) {
  surface_ = cairo_pdf_surface_create(path.c_str(), width, height);
  cr_ = cairo_create(surface_);
  cairo_set_source_rgb(cr_, 0, 0, 0);
}

CairoPdf::~CairoPdf() { finish(); }

void CairoPdf::font(double size) {
  cairo_select_font_face(cr_, font_.c_str(), CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr_, size);
}

double CairoPdf::text_width(const std::string& text, double size) {
  font(size);
  cairo_text_extents_t e;
  cairo_text_extents(cr_, text.c_str(), &e);
  return e.x_advance;
}

void CairoPdf::text(double x, double y, double size, const std::string& text) {
  font(size);
  cairo_move_to(cr_, x, y);
  cairo_show_text(cr_, text.c_str());
}

void CairoPdf::line(double x0, double y0, double x1, double y1, double width) {
  cairo_set_line_width(cr_, width);
  cairo_move_to(cr_, x0, y0);
  cairo_line_to(cr_, x1, y1);
  cairo_stroke(cr_);
}

void CairoPdf::rect(double x, double y, double w, double h, double width) {
  cairo_set_line_width(cr_, width);
  cairo_rectangle(cr_, x, y, w, h);
  cairo_stroke(cr_);
}

void CairoPdf::next_page() { cairo_show_page(cr_); }

void CairoPdf::finish() {
  if (finished_) return;
  finished_ = true;
  cairo_show_page(cr_);
  cairo_destroy(cr_);
  cairo_surface_finish(surface_);
  cairo_surface_destroy(surface_);
}

std::vector<std::string> CairoPdf::wrap(const std::string& text, double width, double size,
                                        Wrap mode) {
  std::vector<std::string> lines;
  std::string line;
  if (mode == Wrap::kCharacters) {
    for (char32_t c : code_points(text)) {
      std::string next = line;
      append_utf8(next, c);
      if (!line.empty() && text_width(next, size) > width) {
        while (!line.empty() && line.back() == ' ') line.pop_back();
        lines.push_back(line);
        line.clear();
        if (c == U' ') continue;
        append_utf8(line, c);
      } else {
        line = std::move(next);
      }
    }
    if (!line.empty()) lines.push_back(line);
    return lines;
  }
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find(' ', pos);
    if (end == std::string::npos) end = text.size();
    std::string word = text.substr(pos, end - pos);
    pos = end + 1;
    std::string next = line.empty() ? word : line + " " + word;
    if (line.empty() || text_width(next, size) <= width) {
      line = std::move(next);
      continue;
    }
    const bool alphabetic = std::all_of(word.begin(), word.end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    });
    if (mode == Wrap::kWordsHyphenated && alphabetic && word.size() >= 8) {
      for (std::size_t cut = word.size() - 3; cut >= 3; --cut) {
        const std::string head = line + " " + word.substr(0, cut) + "-";
        if (text_width(head, size) <= width) {
          lines.push_back(head);
          line.clear();
          word = word.substr(cut);
          break;
        }
      }
    }
    if (!line.empty()) lines.push_back(line);
    line = word;
  }
  if (!line.empty()) lines.push_back(line);
  return lines;
}

bool has_korean_font() {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen("fc-list :lang=ko 2>/dev/null", "r"), pclose);
  if (!pipe) return false;
  char buf[256];
  return fgets(buf, sizeof(buf), pipe.get()) != nullptr;
}

}  // namespace enclave::data::testing
