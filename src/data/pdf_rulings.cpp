#include "data/pdf_rulings.h"

// qpdf 11: use std::shared_ptr, not its old PointerHolder.
#define POINTERHOLDER_TRANSITION 4
#include <algorithm>
#include <array>
#include <cmath>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>

namespace enclave::data {

namespace {

// A segment counts as straight when it leans less than this (points).
constexpr double kStraight = 0.5;
// Filled rectangles thinner than this are drawn lines.
constexpr double kThinFill = 2.5;

using Matrix = std::array<double, 6>;  // a b c d e f, as PDF's cm

Matrix multiply(const Matrix& m, const Matrix& ctm) {
  return {m[0] * ctm[0] + m[1] * ctm[2],          m[0] * ctm[1] + m[1] * ctm[3],
          m[2] * ctm[0] + m[3] * ctm[2],          m[2] * ctm[1] + m[3] * ctm[3],
          m[4] * ctm[0] + m[5] * ctm[2] + ctm[4], m[4] * ctm[1] + m[5] * ctm[3] + ctm[5]};
}

struct Point {
  double x = 0, y = 0;
};

class RulingCollector : public QPDFObjectHandle::ParserCallbacks {
 public:
  RulingCollector(double left, double top, std::size_t max_rules, QPDFObjectHandle resources)
      : left_(left), top_(top), max_rules_(max_rules), resources_{std::move(resources)} {}

  void handleObject(QPDFObjectHandle obj) override {
    if (!obj.isOperator()) {
      if (obj.isNumber()) {
        operands_.push_back(obj.getNumericValue());
      } else {
        if (obj.isName()) name_ = obj.getName();
        operands_.clear();  // names, strings, arrays: not path operands
        bad_operand_ = true;
      }
      return;
    }
    const std::string op = obj.getOperatorValue();
    run(op);
    operands_.clear();
    bad_operand_ = false;
    if (rules_.size() >= max_rules_) terminateParsing();
  }
  void handleEOF() override {}

  std::vector<PdfRule> take() { return std::move(rules_); }

 private:
  bool args(std::size_t n) const { return !bad_operand_ && operands_.size() == n; }

  Point to_page(double x, double y) const {
    const Matrix& m = ctm_;
    return {m[0] * x + m[2] * y + m[4] - left_, top_ - (m[1] * x + m[3] * y + m[5])};
  }

  void run(const std::string& op) {
    if (op == "q") {
      if (stack_.size() < 256) stack_.push_back(ctm_);
    } else if (op == "Q") {
      if (!stack_.empty()) {
        ctm_ = stack_.back();
        stack_.pop_back();
      }
    } else if (op == "cm" && args(6)) {
      Matrix m;
      std::copy(operands_.begin(), operands_.end(), m.begin());
      ctm_ = multiply(m, ctm_);
    } else if (op == "m" && args(2)) {
      subpaths_.push_back({to_page(operands_[0], operands_[1])});
    } else if (op == "l" && args(2)) {
      if (subpaths_.empty()) subpaths_.push_back({});
      subpaths_.back().push_back(to_page(operands_[0], operands_[1]));
    } else if ((op == "c" || op == "v" || op == "y") && (args(6) || args(4))) {
      // Curves are not rulings: end the straight run at the curve's end.
      const std::size_t n = operands_.size();
      subpaths_.push_back({to_page(operands_[n - 2], operands_[n - 1])});
    } else if (op == "h") {
      if (!subpaths_.empty() && subpaths_.back().size() > 1)
        subpaths_.back().push_back(subpaths_.back().front());
    } else if (op == "re" && args(4)) {
      const double x = operands_[0], y = operands_[1], w = operands_[2], h = operands_[3];
      subpaths_.push_back({to_page(x, y), to_page(x + w, y), to_page(x + w, y + h),
                           to_page(x, y + h), to_page(x, y)});
      rects_.push_back(subpaths_.size() - 1);
    } else if (op == "S" || op == "s" || op == "B" || op == "B*" || op == "b" || op == "b*") {
      stroke();
      end_path();
    } else if (op == "f" || op == "F" || op == "f*") {
      fill();
      end_path();
    } else if (op == "n") {
      end_path();
    } else if (op == "Do") {
      draw_form();
    }
  }

  // A form XObject (a drawing reused by name) is read like page content,
  // under its /Matrix and with its own resources; forms that draw
  // themselves, or nest deeper than kMaxFormDepth, are skipped.
  void draw_form() {
    constexpr std::size_t kMaxFormDepth = 8;
    if (resources_.size() > kMaxFormDepth || !resources_.back().isDictionary()) return;
    QPDFObjectHandle form = resources_.back().getKeyIfDict("/XObject").getKeyIfDict(name_);
    if (!form.isStream() || !form.getDict().getKey("/Subtype").isNameAndEquals("/Form")) return;
    const QPDFObjGen id = form.getObjGen();
    if (std::find(drawing_.begin(), drawing_.end(), id) != drawing_.end()) return;
    const Matrix saved_ctm = ctm_;
    const std::size_t saved_depth = stack_.size();
    QPDFObjectHandle matrix = form.getDict().getKey("/Matrix");
    if (matrix.isMatrix()) {
      const QPDFObjectHandle::Matrix m = matrix.getArrayAsMatrix();
      ctm_ = multiply({m.a, m.b, m.c, m.d, m.e, m.f}, ctm_);
    }
    QPDFObjectHandle own = form.getDict().getKey("/Resources");
    resources_.push_back(own.isDictionary() ? own : resources_.back());
    drawing_.push_back(id);
    end_path();
    operands_.clear();
    bad_operand_ = false;
    try {
      form.parseAsContents(this);
    } catch (const std::exception&) {
      // A form that cannot be read adds no rulings.
    }
    drawing_.pop_back();
    resources_.pop_back();
    stack_.resize(std::min(stack_.size(), saved_depth));
    ctm_ = saved_ctm;
    operands_.clear();
    end_path();
  }

  void add(Point a, Point b) {
    if (rules_.size() >= max_rules_) return;
    const bool horizontal = std::abs(a.y - b.y) < kStraight;
    const bool vertical = std::abs(a.x - b.x) < kStraight;
    if (horizontal == vertical) return;  // slanted, or a point
    rules_.push_back(
        {std::min(a.x, b.x), std::min(a.y, b.y), std::max(a.x, b.x), std::max(a.y, b.y)});
  }

  void stroke() {
    for (const auto& path : subpaths_) {
      for (std::size_t i = 1; i < path.size(); ++i) add(path[i - 1], path[i]);
    }
  }

  // A filled rectangle thin in one direction is a line; wider fills
  // (shading, backgrounds) are not rulings.
  void fill() {
    for (std::size_t r : rects_) {
      const auto& p = subpaths_[r];
      const double x0 = std::min({p[0].x, p[1].x, p[2].x}), x1 = std::max({p[0].x, p[1].x, p[2].x});
      const double y0 = std::min({p[0].y, p[1].y, p[2].y}), y1 = std::max({p[0].y, p[1].y, p[2].y});
      if (y1 - y0 < kThinFill && x1 - x0 > y1 - y0) {
        add({x0, (y0 + y1) / 2}, {x1, (y0 + y1) / 2});
      } else if (x1 - x0 < kThinFill && y1 - y0 > x1 - x0) {
        add({(x0 + x1) / 2, y0}, {(x0 + x1) / 2, y1});
      }
    }
  }

  void end_path() {
    subpaths_.clear();
    rects_.clear();
  }

  double left_, top_;
  std::size_t max_rules_;
  Matrix ctm_{1, 0, 0, 1, 0, 0};
  std::vector<Matrix> stack_;
  std::vector<double> operands_;
  bool bad_operand_ = false;
  std::vector<std::vector<Point>> subpaths_;
  std::vector<std::size_t> rects_;  // subpaths drawn by re
  std::vector<PdfRule> rules_;
  std::string name_;                         // the last name operand
  std::vector<QPDFObjectHandle> resources_;  // the page's, then each form's
  std::vector<QPDFObjGen> drawing_;          // forms being read
};

}  // namespace

std::vector<std::vector<PdfRule>> read_pdf_rulings(const std::string& path, std::size_t n_pages,
                                                   std::size_t max_rules_per_page) {
  std::vector<std::vector<PdfRule>> out;
  try {
    QPDF pdf;
    pdf.setSuppressWarnings(true);
    pdf.processFile(path.c_str());
    std::vector<QPDFPageObjectHelper> pages = QPDFPageDocumentHelper(pdf).getAllPages();
    if (pages.size() != n_pages) return {};
    out.resize(n_pages);
    for (std::size_t p = 0; p < n_pages; ++p) {
      try {
        QPDFObjectHandle rotate = pages[p].getAttribute("/Rotate", false);
        if (rotate.isInteger() && rotate.getIntValue() % 360 != 0) continue;  // rare; text only
        QPDFObjectHandle box = pages[p].getMediaBox();
        if (!box.isRectangle()) continue;
        const QPDFObjectHandle::Rectangle r = box.getArrayAsRectangle();
        RulingCollector collector(std::min(r.llx, r.urx), std::max(r.lly, r.ury),
                                  max_rules_per_page, pages[p].getAttribute("/Resources", false));
        pages[p].parseContents(&collector);
        out[p] = collector.take();
      } catch (const std::exception&) {
        // A page whose content stream qpdf cannot parse has no rulings.
      }
    }
  } catch (const std::exception&) {
    return {};
  }
  return out;
}

}  // namespace enclave::data
