// Korean addresses: chains of administrative units in their order, ending
// in a building or lot number (pii_context.h, confidences in pii.h).
#include <algorithm>
#include <string>

#include "text/pii_context.h"
#include "text/utf8.h"

namespace enclave::pii_detail {

namespace {

constexpr std::string_view kRegions[] = {"서울",   "부산",   "대구",   "인천",   "광주",  "대전",
                                         "울산",   "세종",   "경기",   "강원",   "충북",  "충남",
                                         "전북",   "전남",   "경북",   "경남",   "제주",  "충청북",
                                         "충청남", "전라북", "전라남", "경상북", "경상남"};
constexpr std::string_view kRegionSuffixes[] = {
    "", "시", "도", "특별시", "광역시", "특별자치시", "특별자치도", "남부", "북부"};

// Ordinary words that end like an administrative unit.
constexpr std::string_view kNotPlaces[] = {
    "연구", "요구",   "도구",   "친구",   "가구",   "지구",  "입구", "출구", "추구", "창구", "탐구",
    "강구", "기구",   "인구",   "항구",   "활동",   "운동",  "행동", "자동", "이동", "공동", "변동",
    "노동", "감동",   "작동",   "가동",   "충동",   "출동",  "당시", "동시", "역시", "다시", "즉시",
    "수시", "표시",   "지시",   "제시",   "개시",   "무시",  "감시", "전시", "도시", "게시", "명시",
    "임시", "혹시",   "측면",   "반면",   "이면",   "표면",  "화면", "방면", "장면", "국면", "전면",
    "정면", "지면",   "처리",   "관리",   "원리",   "논리",  "거리", "요리", "수리", "심리", "권리",
    "경리", "무리",   "승리",   "장군",   "아군",   "적군",  "공군", "해군", "육군", "서로", "바로",
    "새로", "주로",   "별로",   "따로",   "도로",   "경로",  "진로", "통로", "회로", "미로", "고로",
    "실로", "그대로", "스스로", "제대로", "정말로", "함께로"};

enum class Part { kNone, kRegion, kUnit, kRoad, kNumber, kDetail };

struct Token {
  std::size_t begin = 0, end = 0;  // the core, without brackets and trailing punctuation
  Part part = Part::kNone;
  int rank = 0;  // hierarchy: region 0, 시/군 1, 구 2, 읍/면 3, 동/가 4, 리 5, road 6
  bool line_start = false;  // a line break before it
};

// A particle after the last part of an address: 123에, 3층에서.
bool address_particle(std::string_view rest) {
  return rest.empty() || one_of(rest, {"에", "에서", "의", "로", "으로", "이", "가", "은", "는"});
}

// 123, 123-45, 123번지, 123에, 12-3번지의: the bytes of the number (with
// 번지), 0 if s is not one.
std::size_t lot_number_length(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0 || n > 5) return 0;
  if (n < s.size() && s[n] == '-') {
    std::size_t m = n + 1;
    while (m < s.size() && s[m] >= '0' && s[m] <= '9') ++m;
    if (m == n + 1 || m - n - 1 > 5) return 0;
    n = m;
  }
  if (s.substr(n).starts_with("번지")) n += std::string_view("번지").size();
  return address_particle(s.substr(n)) ? n : 0;
}

// 101동, 1001호, 3층, 지하1층, B1층.
// 101동, 1001호, 3층, 지하1층, B1층, 301호실: its bytes without a particle
// after it, 0 if s is none.
std::size_t detail_length(std::string_view s) {
  std::size_t n = 0;
  if (s.starts_with("지하")) n = std::string_view("지하").size();
  if (s.substr(n).starts_with("B")) ++n;
  const std::size_t digits_from = n;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == digits_from) return 0;
  for (std::string_view unit : {"호실", "동", "호", "층"}) {
    if (s.substr(n).starts_with(unit) && address_particle(s.substr(n + unit.size())))
      return n + unit.size();
  }
  return 0;
}

Token classify(std::string_view text, std::size_t begin, std::size_t end) {
  Token t{begin, end};
  const std::string_view s = text.substr(begin, end - begin);
  if (const std::size_t n = lot_number_length(s); n > 0) {
    t.part = Part::kNumber;
    t.end = begin + n;
    return t;
  }
  if (const std::size_t n = detail_length(s); n > 0) {
    t.part = Part::kDetail;
    t.end = begin + n;
    return t;
  }
  for (std::string_view region : kRegions) {
    if (s.starts_with(region) && equals_any(s.substr(region.size()), kRegionSuffixes)) {
      t.part = Part::kRegion;
      return t;
    }
  }
  // Hangul syllables and digits, at least two syllables, ending in a unit.
  std::size_t pos = 0;
  std::size_t syllables = 0;
  std::size_t last = 0;
  bool digits = false;
  while (pos < s.size()) {
    last = pos;
    const char32_t c = next_code_point(s, pos);
    if (is_hangul_syllable(c)) {
      ++syllables;
    } else if (c >= '0' && c <= '9') {
      digits = true;
    } else {
      return t;
    }
  }
  if (syllables < 2) return t;
  if (!digits && equals_any(s, kNotPlaces)) return t;
  const std::string_view unit = s.substr(last);
  if (unit == "로" || unit == "길") {
    if (s.ends_with("으로")) return t;
    t.part = Part::kRoad;
    t.rank = 6;
    return t;
  }
  static const std::pair<std::string_view, int> kUnits[] = {
      {"시", 1}, {"군", 1}, {"구", 2}, {"읍", 3}, {"면", 3}, {"동", 4}, {"가", 4}, {"리", 5}};
  for (const auto& [name, rank] : kUnits) {
    if (unit == name) {
      if (name == "가" && !digits) return t;  // 종로3가, not 국가
      t.part = Part::kUnit;
      t.rank = rank;
      return t;
    }
  }
  return t;
}

std::vector<Token> address_tokens(std::string_view text) {
  std::vector<Token> tokens;
  std::size_t pos = 0;
  bool line_start = true;
  while (pos < text.size()) {
    const char c = text[pos];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (c == '\n') line_start = true;
      ++pos;
      continue;
    }
    std::size_t end = pos;
    while (end < text.size() && text[end] != ' ' && text[end] != '\t' && text[end] != '\n' &&
           text[end] != '\r')
      ++end;
    std::size_t b = pos, e = end;
    while (b < e && (text[b] == '(' || text[b] == '[' || text[b] == '|')) ++b;
    while (e > b && std::string_view(",.;:)]|").find(text[e - 1]) != std::string_view::npos) --e;
    Token t = b < e ? classify(text, b, e) : Token{b, e};
    t.line_start = line_start;
    tokens.push_back(t);
    line_start = false;
    pos = end;
  }
  return tokens;
}

constexpr std::string_view kAddressHeaders[] = {"주소",   "소재지", "거주지", "주거지",
                                                "배송지", "자택",   "본적",   "address"};

void add_addresses(std::string_view text, const TableIndex& tables, std::vector<PiiMatch>& out) {
  const std::vector<Token> tokens = address_tokens(text);
  const std::vector<Cell> columns = tables.cells_under(kAddressHeaders);
  std::size_t i = 0;
  while (i < tokens.size()) {
    const Token& first = tokens[i];
    if (first.part != Part::kRegion && first.part != Part::kUnit && first.part != Part::kRoad) {
      ++i;
      continue;
    }
    // The chain of units in hierarchical order, then a number.
    std::size_t j = i + 1;
    int rank = first.rank;
    while (j < tokens.size() && !tokens[j].line_start &&
           (tokens[j].part == Part::kUnit || tokens[j].part == Part::kRoad) &&
           tokens[j].rank >= rank && rank < 6) {
      rank = tokens[j].rank;
      ++j;
    }
    const std::size_t n_units = j - i;
    const Token& last_unit = tokens[j - 1];
    const bool ends_at_place =
        last_unit.part == Part::kRoad || (last_unit.part == Part::kUnit && last_unit.rank >= 4);
    if (j >= tokens.size() || tokens[j].line_start || tokens[j].part != Part::kNumber ||
        !ends_at_place) {
      i = j;
      continue;
    }
    std::size_t end = tokens[j].end;
    std::size_t k = j + 1;
    // Details: 101동 1001호, 3층, (역삼동).
    while (
        k < tokens.size() && !tokens[k].line_start &&
        (tokens[k].part == Part::kDetail || (tokens[k].part == Part::kUnit && tokens[k].rank == 4 &&
                                             text[tokens[k].begin - 1] == '('))) {
      end = tokens[k].end;
      if (end < text.size() && text[end] == ')') ++end;
      ++k;
    }
    double confidence = 0.4;
    const bool in_address_column = std::any_of(columns.begin(), columns.end(), [&](const Cell& c) {
      return c.begin <= first.begin && first.begin < c.end;
    });
    if (in_address_column || keyword_near(text, tables, first.begin, first.begin,
                                          {"주소", "소재지", "거주지", "주거지", "배송지", "자택",
                                           "본적", "address", "addr"},
                                          24)) {
      confidence = 0.9;
    } else if (first.part == Part::kRegion && n_units >= 2) {
      confidence = 0.85;
    } else if (n_units >= 2 && first.rank <= 2) {
      confidence = 0.7;
    } else if (n_units >= 2) {
      confidence = 0.55;
    }
    out.push_back({PiiType::kAddress, first.begin, end, confidence});
    i = k;
  }
}

}  // namespace

bool region_name_before(std::string_view text, std::size_t begin) {
  std::string_view before = text.substr(0, begin);
  if (before.ends_with(' ')) before.remove_suffix(1);
  for (std::string_view region : kRegions) {
    if (before.ends_with(region)) return true;
  }
  return false;
}

void address_candidates(std::string_view text, const TableIndex& tables,
                        std::vector<PiiMatch>& out) {
  add_addresses(text, tables, out);
}

}  // namespace enclave::pii_detail
