#include "data/pdf_regions.h"

#include <algorithm>
#include <cstddef>
#include <optional>

#include "data/pdf_lines.h"

namespace enclave::data::pdf {

namespace {

// How deep columns nest (a column holding columns).
constexpr int kMaxDepth = 3;
// A text column: lines of at least this many words on the median ...
constexpr double kColumnWords = 3;
// ... filling at least this share of the column's width.
constexpr double kColumnFill = 0.5;

struct Item {
  double x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  const PdfWord* word = nullptr;  // or
  int table = -1;
};

struct Section {
  std::vector<std::size_t> bands;
  std::vector<Gutter> gutters;
};

bool crosses(const Item& item, const std::vector<Gutter>& gutters) {
  return std::any_of(gutters.begin(), gutters.end(),
                     [&](const Gutter& g) { return item.x0 < g.x1 && item.x1 > g.x0; });
}

std::size_t column_of(const Item& item, const std::vector<Gutter>& gutters) {
  const double mid = (item.x0 + item.x1) / 2;
  std::size_t c = 0;
  while (c < gutters.size() && mid > gutters[c].x0) ++c;
  return c;
}

class RegionOrder {
 public:
  explicit RegionOrder(double h) : h_(h) {}

  void order(std::vector<Item> items, int depth) {
    if (items.empty()) return;
    const auto bands = make_bands(items);
    double left = items.front().x0, right = items.front().x1;
    for (const Item& it : items) {
      left = std::min(left, it.x0);
      right = std::max(right, it.x1);
    }
    // Gaps between a band's items start sections; the blank ranges of a
    // band across the whole region (a row whose last cells are empty)
    // continue them.
    std::vector<std::vector<Gutter>> gaps, blanks;
    for (const auto& band : bands) {
      gaps.push_back(band_gaps(items, band, std::nullopt));
      blanks.push_back(band_gaps(items, band, std::pair{left, right}));
    }
    for (const Section& s : make_sections(items, bands, gaps, blanks)) emit(items, bands, s, depth);
  }

  PageFlows finish() {
    flush();
    return std::move(out_);
  }

 private:
  double min_gutter() const { return kGutterWidth * h_; }

  // Items grouped into bands, each band's items as indices, top to bottom.
  std::vector<std::vector<std::size_t>> make_bands(const std::vector<Item>& items) const {
    std::vector<std::size_t> idx(items.size());
    for (std::size_t i = 0; i < idx.size(); ++i) idx[i] = i;
    auto span = [&](const Item& it) {
      if (it.table >= 0) return std::pair{it.y0, it.y1};
      const double mid = (it.y0 + it.y1) / 2, half = 0.25 * (it.y1 - it.y0);
      return std::pair{mid - half, mid + half};
    };
    std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
      return span(items[a]).first < span(items[b]).first;
    });
    std::vector<std::vector<std::size_t>> bands;
    double bottom = 0;
    for (std::size_t i : idx) {
      const auto [lo, hi] = span(items[i]);
      if (bands.empty() || lo > bottom) {
        bands.push_back({i});
        bottom = hi;
      } else {
        bands.back().push_back(i);
        bottom = std::max(bottom, hi);
      }
    }
    return bands;
  }

  // Blank x ranges of a band, at least a gutter wide: between its items, and
  // with `extent`, also from the extent's edges to its first and last item.
  std::vector<Gutter> band_gaps(const std::vector<Item>& items,
                                const std::vector<std::size_t>& band,
                                std::optional<std::pair<double, double>> extent) const {
    std::vector<std::pair<double, double>> spans;
    for (std::size_t i : band) spans.emplace_back(items[i].x0, items[i].x1);
    std::sort(spans.begin(), spans.end());
    std::vector<Gutter> out;
    if (extent && spans.front().first - extent->first >= min_gutter())
      out.push_back({extent->first, spans.front().first});
    double right = spans.front().second;
    for (std::size_t k = 1; k < spans.size(); ++k) {
      if (spans[k].first - right >= min_gutter()) out.push_back({right, spans[k].first});
      right = std::max(right, spans[k].second);
    }
    if (extent && extent->second - right >= min_gutter()) out.push_back({right, extent->second});
    return out;
  }

  std::vector<Section> make_sections(const std::vector<Item>& items,
                                     const std::vector<std::vector<std::size_t>>& bands,
                                     const std::vector<std::vector<Gutter>>& gaps,
                                     const std::vector<std::vector<Gutter>>& blanks) const {
    std::vector<Section> sections;
    for (std::size_t b = 0; b < bands.size(); ++b) {
      if (!sections.empty() && !sections.back().gutters.empty()) {
        Section& s = sections.back();
        auto both = intersect_gutters(s.gutters, blanks[b], min_gutter());
        const bool keeps_all = both.size() == s.gutters.size();
        if (!both.empty() && (keeps_all || s.bands.size() == 1)) {
          s.bands.push_back(b);
          s.gutters = std::move(both);
          continue;
        }
        // A band with one column blank (a paragraph ends in one column).
        const bool fits = std::none_of(bands[b].begin(), bands[b].end(),
                                       [&](std::size_t i) { return crosses(items[i], s.gutters); });
        if (fits && s.bands.size() >= 2) {
          s.bands.push_back(b);
          continue;
        }
      }
      sections.push_back({{b}, gaps[b]});
    }
    // Keep the gutters with items on both sides.
    for (Section& s : sections) {
      std::erase_if(s.gutters, [&](const Gutter& g) {
        bool left = false, right = false;
        for (std::size_t b : s.bands) {
          for (std::size_t i : bands[b]) {
            left = left || items[i].x1 <= g.x0 + 0.5;
            right = right || items[i].x0 >= g.x1 - 0.5;
          }
        }
        return !(left && right);
      });
    }
    return sections;
  }

  bool text_columns(const std::vector<std::vector<Item>>& columns) const {
    for (const auto& col : columns) {
      std::vector<const PdfWord*> words;
      double x0 = 1e300, x1 = -1e300;
      for (const Item& it : col) {
        if (!it.word) continue;
        words.push_back(it.word);
        x0 = std::min(x0, it.x0);
        x1 = std::max(x1, it.x1);
      }
      const std::vector<Line> lines = build_lines(words);
      if (lines.size() < 2 || x1 - x0 < 8 * h_) return false;
      std::vector<double> n_words, widths;
      for (const Line& l : lines) {
        n_words.push_back(static_cast<double>(l.words.size()));
        widths.push_back(l.x1 - l.x0);
      }
      if (median(n_words) < kColumnWords || median(widths) < kColumnFill * (x1 - x0)) return false;
    }
    return true;
  }

  void emit(const std::vector<Item>& items, const std::vector<std::vector<std::size_t>>& bands,
            const Section& s, int depth) {
    if (s.bands.size() >= 2 && !s.gutters.empty()) {
      std::vector<std::vector<Item>> columns(s.gutters.size() + 1);
      for (std::size_t b : s.bands) {
        for (std::size_t i : bands[b]) columns[column_of(items[i], s.gutters)].push_back(items[i]);
      }
      if (text_columns(columns)) {
        ++out_.n_column_regions;
        flush();
        for (auto& col : columns) {
          if (depth + 1 < kMaxDepth) {
            order(std::move(col), depth + 1);
          } else {
            for (const Item& it : col) add(it);
          }
          flush();
        }
        return;
      }
      const bool has_ruled = std::any_of(s.bands.begin(), s.bands.end(), [&](std::size_t b) {
        return std::any_of(bands[b].begin(), bands[b].end(),
                           [&](std::size_t i) { return items[i].table >= 0; });
      });
      if (!has_ruled) {
        flush();
        Flow table{FlowKind::kTable, {}, s.gutters, -1};
        for (std::size_t b : s.bands) {
          for (std::size_t i : bands[b]) table.words.push_back(items[i].word);
        }
        out_.flows.push_back(std::move(table));
        return;
      }
    }
    for (std::size_t b : s.bands) {
      std::vector<std::size_t> band = bands[b];
      std::stable_sort(band.begin(), band.end(),
                       [&](std::size_t x, std::size_t y) { return items[x].x0 < items[y].x0; });
      for (std::size_t i : band) add(items[i]);
    }
  }

  void add(const Item& it) {
    if (it.word) {
      pending_.push_back(it.word);
      return;
    }
    flush();
    out_.flows.push_back({FlowKind::kRuledTable, {}, {}, it.table});
  }

  void flush() {
    if (pending_.empty()) return;
    out_.flows.push_back({FlowKind::kText, std::move(pending_), {}, -1});
    pending_.clear();
  }

  double h_;
  std::vector<const PdfWord*> pending_;
  PageFlows out_;
};

}  // namespace

// The overlaps of two sorted lists of gutters at least min_width wide, in
// one sweep.
std::vector<Gutter> intersect_gutters(const std::vector<Gutter>& a, const std::vector<Gutter>& b,
                                      double min_width) {
  std::vector<Gutter> out;
  std::size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const Gutter both{std::max(a[i].x0, b[j].x0), std::min(a[i].x1, b[j].x1)};
    if (both.x1 - both.x0 >= min_width) out.push_back(both);
    (a[i].x1 < b[j].x1 ? i : j) += 1;
  }
  return out;
}

PageFlows order_regions(const std::vector<const PdfWord*>& words, const std::vector<Box>& tables) {
  std::vector<Item> items;
  std::vector<double> heights;
  for (const PdfWord* w : words) {
    items.push_back({w->x0, w->y0, w->x1, w->y1, w, -1});
    heights.push_back(w->y1 - w->y0);
  }
  for (std::size_t t = 0; t < tables.size(); ++t) {
    const Box& b = tables[t];
    items.push_back({b.x0, b.y0, b.x1, b.y1, nullptr, static_cast<int>(t)});
  }
  const double h = heights.empty() ? 10 : median(heights);
  RegionOrder order(h);
  order.order(std::move(items), 0);
  return order.finish();
}

}  // namespace enclave::data::pdf
