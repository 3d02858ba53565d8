#include "data/pdf_running_lines.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <map>
#include <string>

#include "data/pdf_lines.h"

namespace enclave::data::pdf {

namespace {

// Text with digits as '#', lowercased, single spaces: "Page 3 of 9" and
// "Page 4 of 9" share a key.
std::string line_key(const std::string& text) {
  std::string key;
  bool space = false;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isspace(c)) {
      space = !key.empty();
      continue;
    }
    if (space) key += ' ';
    space = false;
    key += std::isdigit(c) ? '#' : static_cast<char>(std::tolower(c));
  }
  return key;
}

bool is_page_number(const std::string& key) {
  static const char* kForms[] = {
      "#",        "- # -",       "-#-",   "page #",   "# / #",    "#/#",     "p. #",
      "p.#",      "page # of #", "— # —", "[#]",      "(#)",      "#쪽",     "# 쪽",
      "- # 쪽 -", "#면",         "# 면",  "페이지 #", "# 페이지", "#페이지", "# of #"};
  std::string k = key;
  // Collapse digit runs: "##" -> "#".
  k.erase(std::unique(k.begin(), k.end(), [](char a, char b) { return a == '#' && b == '#'; }),
          k.end());
  if (std::any_of(std::begin(kForms), std::end(kForms), [&](const char* f) { return k == f; }))
    return true;
  // Lower-case roman numerals of front matter: "iv", "- xii -".
  std::string roman = k;
  if (roman.size() > 4 && roman.starts_with("- ") && roman.ends_with(" -"))
    roman = roman.substr(2, roman.size() - 4);
  return !roman.empty() && roman.size() <= 6 &&
         roman.find_first_not_of("ivxlc") == std::string::npos;
}

struct Candidate {
  std::size_t page = 0;
  bool bottom = false;
  std::string key;
  std::vector<const PdfWord*> words;
  bool page_number = false;
  double x0 = 0, x1 = 0, y0 = 0, y1 = 0;
  bool detached = false;  // a blank of more than a line height to the body
  bool running = false;
};

// Printed in the same slot: same height and baseline, aligned left, right
// or centred the same way.
bool same_slot(const Candidate& a, const Candidate& b) {
  constexpr double kTolerance = 1.5;
  const double h = a.y1 - a.y0;
  return a.bottom == b.bottom && a.page % 2 == b.page % 2 && std::abs(a.y1 - b.y1) <= kTolerance &&
         std::abs(h - (b.y1 - b.y0)) <= 0.1 * h &&
         (std::abs(a.x0 - b.x0) <= kTolerance || std::abs(a.x1 - b.x1) <= kTolerance ||
          std::abs(a.x0 + a.x1 - b.x0 - b.x1) <= 2 * kTolerance);
}

}  // namespace

RunningLines find_running_lines(const std::vector<PdfPage>& pages) {
  std::vector<Candidate> candidates;
  for (std::size_t p = 0; p < pages.size(); ++p) {
    const std::vector<Line> lines = build_lines(page_words(pages[p]));
    const double h = pages[p].height > 0 ? pages[p].height : 792;
    for (int bottom = 0; bottom < 2; ++bottom) {
      for (std::size_t depth = 0; depth < 2 && depth < lines.size(); ++depth) {
        const std::size_t i = bottom ? lines.size() - 1 - depth : depth;
        const Line& line = lines[i];
        const bool in_margin = bottom ? line.y1 > (1 - kMarginBand) * h : line.y0 < kMarginBand * h;
        if (!in_margin) break;
        // The next line towards the body.
        const Line* inner = bottom ? (i > 0 ? &lines[i - 1] : nullptr)
                                   : (i + 1 < lines.size() ? &lines[i + 1] : nullptr);
        const double blank = !inner ? 1e9 : bottom ? line.y0 - inner->y1 : inner->y0 - line.y1;
        Candidate c{
            p,       bottom != 0, line_key(line.text()),       line.words, false, line.x0, line.x1,
            line.y0, line.y1,     blank > 1.2 * line.height(), false};
        c.page_number = is_page_number(c.key);
        candidates.push_back(std::move(c));
      }
    }
  }
  // The candidates (in page order) printing each (side, key).
  std::map<std::pair<bool, std::string>, std::vector<const Candidate*>> printed;
  for (const Candidate& c : candidates) printed[{c.bottom, c.key}].push_back(&c);
  // Running: the same text at the same height on a page nearby.
  for (Candidate& c : candidates) {
    c.running = c.page_number;
    if (c.running || c.key.empty()) continue;
    const auto& same = printed[{c.bottom, c.key}];  // in page order
    auto o = std::partition_point(same.begin(), same.end(), [&](const Candidate* x) {
      return x->page + kRunningWindow < c.page;
    });
    for (; o != same.end() && (*o)->page <= c.page + kRunningWindow && !c.running; ++o)
      c.running = (*o)->page != c.page && std::abs((*o)->y1 - c.y1) <= 3;
  }
  // A header printed once (a chapter title on a short chapter's pages of
  // one parity) sits apart from the body, in the slot where pages of the
  // same parity nearby print theirs.
  std::vector<bool> slot_running(candidates.size(), false);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (c.running || !c.detached) continue;
    // Candidates are in page order: start kRunningWindow pages back.
    const auto from =
        std::partition_point(candidates.begin(), candidates.end(),
                             [&](const Candidate& o) { return o.page + kRunningWindow < c.page; });
    for (auto j = static_cast<std::size_t>(from - candidates.begin());
         j < candidates.size() && !slot_running[i]; ++j) {
      const Candidate& o = candidates[j];
      if (o.page > c.page + kRunningWindow) break;
      slot_running[i] =
          (o.running || o.detached) && !o.page_number && o.page != c.page && same_slot(c, o);
    }
  }
  RunningLines out;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    const Candidate& c = candidates[i];
    if (!c.running && !slot_running[i]) continue;
    ++out.n_lines;
    out.words.insert(c.words.begin(), c.words.end());
  }
  return out;
}

}  // namespace enclave::data::pdf
