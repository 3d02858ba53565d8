#include "data/pdf_tables.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "data/pdf_lines.h"

namespace enclave::data::pdf {

namespace {

// Rulings closer than this (points) are the same line.
constexpr double kSnap = 2.0;
constexpr std::size_t kMaxRulings = 4000;

// A merged straight ruling: at `at` (y of a horizontal, x of a vertical),
// from lo to hi along it.
struct Segment {
  double at = 0, lo = 0, hi = 0;
};

std::vector<Segment> merge_segments(std::vector<Segment> segs) {
  std::sort(segs.begin(), segs.end(), [](const Segment& a, const Segment& b) {
    return a.at != b.at ? a.at < b.at : a.lo < b.lo;
  });
  // Group by position, then join overlapping or touching runs.
  std::vector<Segment> out;
  for (std::size_t i = 0; i < segs.size();) {
    std::size_t j = i;
    while (j < segs.size() && segs[j].at - segs[i].at <= kSnap) ++j;
    std::vector<Segment> group(segs.begin() + static_cast<std::ptrdiff_t>(i),
                               segs.begin() + static_cast<std::ptrdiff_t>(j));
    std::sort(group.begin(), group.end(),
              [](const Segment& a, const Segment& b) { return a.lo < b.lo; });
    const double at = group.front().at;
    Segment cur{at, group.front().lo, group.front().hi};
    for (std::size_t k = 1; k < group.size(); ++k) {
      if (group[k].lo <= cur.hi + kSnap) {
        cur.hi = std::max(cur.hi, group[k].hi);
      } else {
        out.push_back(cur);
        cur = {at, group[k].lo, group[k].hi};
      }
    }
    out.push_back(cur);
    i = j;
  }
  return out;
}

int find(std::vector<int>& parent, int i) {
  while (parent[static_cast<std::size_t>(i)] != i) {
    parent[static_cast<std::size_t>(i)] =
        parent[static_cast<std::size_t>(parent[static_cast<std::size_t>(i)])];
    i = parent[static_cast<std::size_t>(i)];
  }
  return i;
}

void unite(std::vector<int>& parent, int a, int b) {
  a = find(parent, a);
  b = find(parent, b);
  // The smaller index (top-left cell) owns the merged cell.
  if (a != b) parent[static_cast<std::size_t>(std::max(a, b))] = std::min(a, b);
}

// Sorted positions with values closer than kSnap collapsed into one.
std::vector<double> distinct(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::vector<double> out;
  for (double x : v) {
    if (out.empty() || x - out.back() > kSnap) out.push_back(x);
  }
  return out;
}

bool covered(const std::vector<Segment>& segs, double at, double along) {
  return std::any_of(segs.begin(), segs.end(), [&](const Segment& s) {
    return std::abs(s.at - at) <= kSnap && s.lo - kSnap <= along && along <= s.hi + kSnap;
  });
}

std::string cell_text(const std::vector<const PdfWord*>& words, LineJoiner& joiner) {
  std::string text;
  for (const Line& line : build_lines(words)) joiner.append(text, line.text());
  return text;
}

// A line's runs: words closer than a column gap, as [first, last) indices.
std::vector<std::pair<std::size_t, std::size_t>> runs_of(const Line& line, double h) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const auto& ws = line.words;
  for (std::size_t a = 0; a < ws.size();) {
    std::size_t b = a + 1;
    while (b < ws.size() && ws[b]->x0 - ws[b - 1]->x1 < kGutterWidth * h) ++b;
    out.emplace_back(a, b);
    a = b;
  }
  return out;
}

// The column gaps of an aligned table, from its full lines only: the most
// runs that at least a third of the lines (two at least) have. A heading
// spanning two columns, an empty cell or a cell's second line then does not
// merge columns for every row. Without enough full lines: the section's
// gutters.
std::vector<Gutter> column_gaps(const std::vector<Line>& lines, const std::vector<Gutter>& gutters,
                                double h) {
  std::vector<std::size_t> n_runs;
  for (const Line& l : lines) n_runs.push_back(runs_of(l, h).size());
  const std::size_t needed = std::max<std::size_t>(2, lines.size() / 3);
  std::size_t k = *std::max_element(n_runs.begin(), n_runs.end());
  while (k > 2 &&
         static_cast<std::size_t>(std::count_if(n_runs.begin(), n_runs.end(),
                                                [&](std::size_t n) { return n >= k; })) < needed)
    --k;
  std::vector<Gutter> out;
  bool first = true;
  double left = 1e300, right = -1e300;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (n_runs[i] < k) continue;
    left = std::min(left, lines[i].x0);
    right = std::max(right, lines[i].x1);
  }
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (n_runs[i] < k) continue;
    // Blank ranges of this line inside the full lines' extent.
    std::vector<Gutter> blank;
    double x = left;
    for (const PdfWord* w : lines[i].words) {
      if (w->x0 - x >= kGutterWidth * h) blank.push_back({x, w->x0});
      x = std::max(x, w->x1);
    }
    if (right - x >= kGutterWidth * h) blank.push_back({x, right});
    out = first ? blank : intersect_gutters(out, blank, kGutterWidth * h);
    first = false;
  }
  // Interior gaps only: content on both sides.
  std::erase_if(out, [&](const Gutter& g) { return g.x0 <= left + 0.5 || g.x1 >= right - 0.5; });
  if (out.empty()) return gutters;
  return out;
}

}  // namespace

int RuledTable::cell_at(double x, double y) const {
  const auto col = std::upper_bound(xs.begin() + 1, xs.end() - 1, x) - xs.begin() - 1;
  const auto row = std::upper_bound(ys.begin() + 1, ys.end() - 1, y) - ys.begin() - 1;
  return static_cast<int>(row) * columns() + static_cast<int>(col);
}

std::vector<RuledTable> find_ruled_tables(const std::vector<PdfRule>& rules) {
  // Pages drawn with thousands of strokes are drawings (charts, maps), not
  // tables; pairing their rulings would cost their square.
  if (rules.size() > kMaxRulings) return {};
  std::vector<Segment> hs, vs;
  for (const PdfRule& r : rules) {
    if (!usable_box(r.x0, r.y0, r.x1, r.y1)) continue;
    if (r.y1 - r.y0 <= r.x1 - r.x0) {
      if (r.x1 - r.x0 > kSnap) hs.push_back({(r.y0 + r.y1) / 2, r.x0, r.x1});
    } else if (r.y1 - r.y0 > kSnap) {
      vs.push_back({(r.x0 + r.x1) / 2, r.y0, r.y1});
    }
  }
  hs = merge_segments(std::move(hs));
  vs = merge_segments(std::move(vs));
  // Connected sets of crossing or touching rulings.
  const int n_h = static_cast<int>(hs.size());
  std::vector<int> parent(hs.size() + vs.size());
  std::iota(parent.begin(), parent.end(), 0);
  for (int i = 0; i < n_h; ++i) {
    for (std::size_t j = 0; j < vs.size(); ++j) {
      const Segment& h = hs[static_cast<std::size_t>(i)];
      const Segment& v = vs[j];
      if (v.at >= h.lo - kSnap && v.at <= h.hi + kSnap && h.at >= v.lo - kSnap &&
          h.at <= v.hi + kSnap)
        unite(parent, i, n_h + static_cast<int>(j));
    }
  }
  std::vector<std::vector<int>> sets(parent.size());
  for (int i = 0; i < static_cast<int>(parent.size()); ++i)
    sets[static_cast<std::size_t>(find(parent, i))].push_back(i);
  std::vector<RuledTable> tables;
  for (const auto& set : sets) {
    std::vector<Segment> th, tv;
    for (int i : set)
      (i < n_h ? th : tv)
          .push_back(i < n_h ? hs[static_cast<std::size_t>(i)]
                             : vs[static_cast<std::size_t>(i - n_h)]);
    if (th.size() < 2 || tv.empty()) continue;
    std::vector<double> xs, ys;
    for (const Segment& v : tv) xs.push_back(v.at);
    for (const Segment& h : th) ys.push_back(h.at);
    // Open sides: the horizontal rules' ends and the vertical rules' ends
    // bound the table where no border is drawn.
    double left = 1e300, right = -1e300, top = 1e300, bottom = -1e300;
    for (const Segment& h : th) {
      left = std::min(left, h.lo);
      right = std::max(right, h.hi);
    }
    for (const Segment& v : tv) {
      top = std::min(top, v.lo);
      bottom = std::max(bottom, v.hi);
    }
    xs.push_back(left);
    xs.push_back(right);
    ys.push_back(top);
    ys.push_back(bottom);
    RuledTable t;
    t.xs = distinct(std::move(xs));
    t.ys = distinct(std::move(ys));
    if (t.columns() < 2 || t.rows() < 2) continue;
    t.box = {t.xs.front(), t.ys.front(), t.xs.back(), t.ys.back()};
    const int n_cols = t.columns(), n_rows = t.rows();
    t.owner.resize(static_cast<std::size_t>(n_cols * n_rows));
    std::iota(t.owner.begin(), t.owner.end(), 0);
    for (int r = 0; r < n_rows; ++r) {
      const double mid_y =
          (t.ys[static_cast<std::size_t>(r)] + t.ys[static_cast<std::size_t>(r + 1)]) / 2;
      for (int c = 1; c < n_cols; ++c) {
        if (!covered(tv, t.xs[static_cast<std::size_t>(c)], mid_y))
          unite(t.owner, r * n_cols + c - 1, r * n_cols + c);
      }
    }
    for (int r = 1; r < n_rows; ++r) {
      for (int c = 0; c < n_cols; ++c) {
        const double mid_x =
            (t.xs[static_cast<std::size_t>(c)] + t.xs[static_cast<std::size_t>(c + 1)]) / 2;
        if (!covered(th, t.ys[static_cast<std::size_t>(r)], mid_x))
          unite(t.owner, (r - 1) * n_cols + c, r * n_cols + c);
      }
    }
    for (int i = 0; i < n_cols * n_rows; ++i)
      t.owner[static_cast<std::size_t>(i)] = find(t.owner, i);
    tables.push_back(std::move(t));
  }
  std::sort(tables.begin(), tables.end(),
            [](const RuledTable& a, const RuledTable& b) { return a.box.y0 < b.box.y0; });
  return tables;
}

TableRows ruled_table_rows(const RuledTable& table, const std::vector<const PdfWord*>& words,
                           LineJoiner& joiner) {
  const int n_cols = table.columns(), n_rows = table.rows();
  std::vector<std::vector<const PdfWord*>> in_cell(static_cast<std::size_t>(n_cols * n_rows));
  for (const PdfWord* w : words) {
    const int cell = table.cell_at((w->x0 + w->x1) / 2, (w->y0 + w->y1) / 2);
    in_cell[static_cast<std::size_t>(table.owner[static_cast<std::size_t>(cell)])].push_back(w);
  }
  TableRows rows(static_cast<std::size_t>(n_rows),
                 std::vector<std::string>(static_cast<std::size_t>(n_cols)));
  for (int i = 0; i < n_cols * n_rows; ++i) {
    if (table.owner[static_cast<std::size_t>(i)] == i)
      rows[static_cast<std::size_t>(i / n_cols)][static_cast<std::size_t>(i % n_cols)] =
          cell_text(in_cell[static_cast<std::size_t>(i)], joiner);
  }
  return rows;
}

std::optional<TableRows> aligned_table_rows(const std::vector<const PdfWord*>& words,
                                            const std::vector<Gutter>& gutters,
                                            LineJoiner& joiner) {
  const std::vector<Line> lines = build_lines(words);
  if (lines.size() < 2 || gutters.empty()) return std::nullopt;
  // Row spacing wider than the spacing inside rows: lines closer than the
  // midpoint of the two belong to one row.
  std::vector<double> gaps, heights;
  for (std::size_t i = 1; i < lines.size(); ++i) gaps.push_back(lines[i].y0 - lines[i - 1].y1);
  for (const Line& l : lines) heights.push_back(l.height());
  const double h = median(heights);
  const double gap_min = *std::min_element(gaps.begin(), gaps.end());
  const double gap_max = *std::max_element(gaps.begin(), gaps.end());
  const bool two_spacings = gap_max - gap_min > 0.3 * h;
  const double row_break = (gap_min + gap_max) / 2;
  std::vector<std::vector<std::size_t>> rows{{0}};
  for (std::size_t i = 1; i < lines.size(); ++i) {
    if (two_spacings && gaps[i - 1] < row_break) {
      rows.back().push_back(i);
    } else {
      rows.push_back({i});
    }
  }
  if (rows.size() < 2) return std::nullopt;
  const std::vector<Gutter> columns = column_gaps(lines, gutters, h);
  const std::size_t n_cols = columns.size() + 1;
  TableRows out;
  for (const auto& row : rows) {
    std::vector<std::vector<const PdfWord*>> cells(n_cols);
    for (std::size_t i : row) {
      // A run that reaches into a column gap spans the columns on both
      // sides (a heading over two columns): it goes to the leftmost one.
      const auto& ws = lines[i].words;
      for (const auto& [a, b] : runs_of(lines[i], h)) {
        const double x0 = ws[a]->x0, x1 = ws[b - 1]->x1;
        std::size_t c = 0;
        while (c < columns.size() && x0 >= columns[c].x0 &&
               !(x0 < columns[c].x1 - 0.25 * h && x1 > columns[c].x1))
          ++c;
        cells[c].insert(cells[c].end(), ws.begin() + static_cast<std::ptrdiff_t>(a),
                        ws.begin() + static_cast<std::ptrdiff_t>(b));
      }
    }
    out.emplace_back();
    for (const auto& cell : cells) out.back().push_back(cell_text(cell, joiner));
  }
  // Columns found only from sparse lines and never holding a cell's start.
  for (std::size_t c = n_cols; c-- > 0;) {
    const bool empty =
        std::all_of(out.begin(), out.end(), [&](const auto& r) { return r[c].empty(); });
    if (empty && out.front().size() > 1) {
      for (auto& r : out) r.erase(r.begin() + static_cast<std::ptrdiff_t>(c));
    }
  }
  const auto multi_cell_rows = std::count_if(out.begin(), out.end(), [](const auto& r) {
    return std::count_if(r.begin(), r.end(), [](const std::string& t) { return !t.empty(); }) >= 2;
  });
  if (out.front().size() < 2 || 2 * multi_cell_rows < static_cast<std::ptrdiff_t>(out.size()))
    return std::nullopt;
  return out;
}

}  // namespace enclave::data::pdf
