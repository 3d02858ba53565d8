// Test-only: PDFs drawn with cairo (text in a real TrueType font, Korean
// included, plus stroked lines and rectangles), the typesetting the PDF
// layout tests need (wrapping by word or, as Korean word processors do, by
// character), and the scores the tests report: character accuracy
// (1 - edit distance / reference length, over code points) and table-cell
// accuracy. Compiled into enclave_data_test only.
// Thread safety: a CairoPdf belongs to one thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

struct _cairo;
struct _cairo_surface;

namespace enclave::data::testing {

class CairoPdf {
 public:
  // Writes an A4 PDF at path; fails the calling test's expectations if the
  // font is missing (fontconfig picks a fallback, which we report).
  CairoPdf(const std::filesystem::path& path, std::string font = "NanumGothic", double width = 595,
           double height = 842);
  ~CairoPdf();
  CairoPdf(const CairoPdf&) = delete;
  CairoPdf& operator=(const CairoPdf&) = delete;

  double width() const { return width_; }
  double height() const { return height_; }
  // Advance width of text at the given size.
  double text_width(const std::string& text, double size);
  // Text with its baseline at y (from the top).
  void text(double x, double y, double size, const std::string& text);
  void line(double x0, double y0, double x1, double y1, double width = 0.6);
  void rect(double x, double y, double w, double h, double width = 0.6);
  void next_page();
  void finish();  // also done by the destructor

  enum class Wrap {
    kWords,            // break at spaces
    kWordsHyphenated,  // and split long words with a hyphen to fill the line
    kCharacters,       // after any character (Korean word processors' default)
  };
  // Lines of at most `width` points. A space at a break is dropped.
  std::vector<std::string> wrap(const std::string& text, double width, double size, Wrap mode);

 private:
  void font(double size);
  _cairo_surface* surface_ = nullptr;
  _cairo* cr_ = nullptr;
  double width_, height_;
  std::string font_;
  bool finished_ = false;
};

// True when fontconfig has a font for Korean (fc-list :lang=ko).
bool has_korean_font();

}  // namespace enclave::data::testing
