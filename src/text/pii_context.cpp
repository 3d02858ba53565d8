#include "text/pii_context.h"

#include <algorithm>
#include <cctype>
#include <string>

#include "text/utf8.h"

namespace enclave::pii_detail {

namespace {

// ---- table columns ----------------------------------------------------------

// The cells of a Markdown table row (| a | b |); empty if the line is none.
std::vector<Cell> row_cells(std::string_view text, std::size_t begin, std::size_t end) {
  while (begin < end && (text[begin] == ' ' || text[begin] == '\t')) ++begin;
  while (end > begin && (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\r'))
    --end;
  std::vector<Cell> cells;
  if (end - begin < 2 || text[begin] != '|' || text[end - 1] != '|') return cells;
  std::size_t cell = begin + 1;
  for (std::size_t i = begin + 1; i < end; ++i) {
    if (text[i] != '|' || text[i - 1] == '\\') continue;
    Cell c{cell, i};
    while (c.begin < c.end && text[c.begin] == ' ') ++c.begin;
    while (c.end > c.begin && text[c.end - 1] == ' ') --c.end;
    cells.push_back(c);
    cell = i + 1;
  }
  return cells;
}

bool is_rule(std::string_view text, const std::vector<Cell>& cells) {
  return !cells.empty() && std::all_of(cells.begin(), cells.end(), [&](const Cell& c) {
    const std::string_view t = text.substr(c.begin, c.end - c.begin);
    return !t.empty() && t.find_first_not_of("-:") == std::string_view::npos;
  });
}

// Whether pos lies on a table's header row (the row above a rule row):
// | 성명 | 주소 | there holds column names, not a label and its value.
bool on_header_row(std::string_view text, std::size_t pos) {
  const std::size_t bol = pos == 0 ? 0 : text.rfind('\n', pos - 1) + 1;  // npos + 1 == 0
  const std::size_t eol = std::min(text.find('\n', pos), text.size());
  if (eol >= text.size() || row_cells(text, bol, eol).empty()) return false;
  const std::size_t next_end = std::min(text.find('\n', eol + 1), text.size());
  return is_rule(text, row_cells(text, eol + 1, next_end));
}

// ---- person names ----------------------------------------------------------

// The most common Korean surnames (about 97% of people, Statistics Korea
// 2015), leaving out syllables that mostly start ordinary words (부, 사, 제,
// 도, 가, 소, 시, 국, 명, 인, 경).
constexpr std::string_view kSurnames[] = {
    "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권",
    "황", "안", "송", "류", "유", "전", "홍", "고", "문", "양", "손", "배", "백", "허", "남",
    "심", "노", "하", "곽", "성", "차", "주", "우", "구", "민", "진", "나", "지", "엄", "채",
    "원", "천", "방", "공", "현", "함", "변", "염", "여", "추", "석", "선", "설", "마", "길",
    "연", "위", "표", "기", "반", "왕", "금", "옥", "육", "맹", "모", "탁", "봉", "태", "편",
    "용", "예", "은", "라", "빈", "피", "어", "묵", "호", "범"};
constexpr std::string_view kCompoundSurnames[] = {"남궁", "황보", "제갈", "선우",
                                                  "독고", "사공", "서문"};

// Words after which a name follows: 성명: 홍길동, | 예금주 | 김철수 |.
constexpr std::string_view kNameLabels[] = {
    "성명",     "이름",   "성함",   "예금주",   "작성자",   "담당자", "신청인", "신청자",
    "대표자",   "보호자", "수취인", "수령인",   "피보험자", "보험자", "환자명", "고객명",
    "대표이사", "성명란", "받는분", "보내는분", "가입자",   "계약자", "소유자", "보증인"};

// Titles and honorifics after a name: 김철수 과장, 홍길동님.
constexpr std::string_view kTitles[] = {"씨",     "님",   "과장", "부장", "차장",   "대리",
                                        "사원",   "주임", "팀장", "실장", "본부장", "이사",
                                        "상무",   "전무", "사장", "교수", "박사",   "선생님",
                                        "변호사", "기자", "회장", "원장", "군",     "양"};

// What may follow a name inside the same word: particles and copulas.
constexpr std::string_view kNameSuffixes[] = {
    "이",   "가",   "은",   "는",   "을",     "를",   "의",     "에게", "께",    "께서", "와",
    "과",   "이고", "이며", "이다", "입니다", "이라", "이라고", "으로", "로",    "도",   "만",
    "이가", "이는", "이를", "이의", "이와",   "이랑", "랑",     "한테", "에게서"};

// Last syllables of words before a title that are not names: offices and
// teams (홍보팀 과장), nationalities (한국인 교수), professions (전문가 님)
// and adjectives or particles (유명한 교수).
constexpr std::string_view kNotNameEndings[] = {
    "팀", "부", "과", "실", "국", "청", "처", "단", "소", "회", "사", "장", "인", "가", "한", "던",
    "된", "할", "을", "를", "에", "로", "와", "도", "만", "의", "적", "들",
    // syllables of loanwords, never the end of a Korean given name (서비스 팀장)
    "스", "트", "크", "프", "즈", "드", "브"};

struct Run {
  std::size_t begin = 0, end = 0;
  std::vector<std::size_t> at;  // byte offset of each syllable, then end
  std::size_t size() const { return at.size() - 1; }
  std::string_view part(std::string_view text, std::size_t from, std::size_t to) const {
    return text.substr(at[from], at[to] - at[from]);
  }
};

std::vector<Run> hangul_runs(std::string_view text) {
  std::vector<Run> runs;
  std::size_t pos = 0;
  Run cur;
  while (pos < text.size()) {
    const std::size_t start = pos;
    const char32_t c = next_code_point(text, pos);
    if (is_hangul_syllable(c)) {
      if (cur.at.empty()) cur.begin = start;
      cur.at.push_back(start);
      continue;
    }
    if (!cur.at.empty()) {
      cur.end = start;
      cur.at.push_back(start);
      runs.push_back(std::move(cur));
      cur = Run();
    }
  }
  if (!cur.at.empty()) {
    cur.end = text.size();
    cur.at.push_back(text.size());
    runs.push_back(std::move(cur));
  }
  return runs;
}

// Syllables of the surname the run starts with, 0 if none.
std::size_t surname_length(std::string_view text, const Run& r) {
  if (r.size() >= 3) {
    const std::string_view two = r.part(text, 0, 2);
    for (std::string_view s : kCompoundSurnames)
      if (s == two) return 2;
  }
  const std::string_view one = r.part(text, 0, 1);
  for (std::string_view s : kSurnames)
    if (s == one) return 1;
  return 0;
}

// How confidently the text before run r labels it a name: 0 if it does not.
double label_confidence(std::string_view text, const std::vector<Run>& runs, std::size_t r) {
  const std::size_t gap_begin = r > 0 ? runs[r - 1].end : 0;
  std::string_view gap = text.substr(gap_begin, runs[r].begin - gap_begin);
  if (gap.size() > 24) return 0;
  bool strong = false;  // ':' '|' '=' between label and name
  for (std::size_t i = 0; i < gap.size(); ++i) {
    const char c = gap[i];
    if (c == ':' || c == '|' || c == '=') {
      strong = true;
    } else if (gap.substr(i).starts_with("\uFF1A")) {  // full-width colon
      strong = true;
      i += 2;
    } else if (c != ' ' && c != '\t' && c != ')' && !is_ascii_alnum(c)) {
      return 0;
    }
  }
  // "Name: 홍길동"
  std::string lower(gap);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (strong && lower.find("name") != std::string::npos) return 0.9;
  if (std::any_of(gap.begin(), gap.end(), is_ascii_alnum) || r == 0 || gap.empty()) return 0;
  const Run& prev = runs[r - 1];
  std::string word(text.substr(prev.begin, prev.end - prev.begin));
  // A label spaced out to line up in a form: 성 명, 예 금 주.
  for (std::size_t q = r - 1; q > 0 && runs[q].size() == 1 && runs[q - 1].size() == 1; --q) {
    const std::string_view between = text.substr(runs[q - 1].end, runs[q].begin - runs[q - 1].end);
    if (between.find_first_not_of(" \t") != std::string_view::npos) break;
    word.insert(0, text.substr(runs[q - 1].begin, runs[q - 1].end - runs[q - 1].begin));
  }
  for (std::string_view label : kNameLabels) {
    if (word.ends_with(label)) return strong ? 0.9 : 0.55;
    for (std::string_view topic : {"은", "는"}) {
      if (word.size() == label.size() + topic.size() && word.starts_with(label) &&
          word.ends_with(topic))
        return 0.8;  // 이름은 홍길동
    }
  }
  return 0;
}

void add_korean_names(std::string_view text, std::vector<PiiMatch>& out) {
  const std::vector<Run> runs = hangul_runs(text);
  for (std::size_t r = 0; r < runs.size(); ++r) {
    const Run& run = runs[r];
    const std::size_t sn = surname_length(text, run);
    if (sn == 0 || run.size() < 2) continue;
    if (equals_any(run.part(text, 0, run.size()), kNameLabels)) continue;  // 예금주 is a label
    const double labelled = label_confidence(text, runs, r);
    if (labelled > 0 && on_header_row(text, run.begin)) continue;
    auto add = [&](std::size_t length, double confidence) {
      out.push_back({PiiType::kPersonName, run.at[0], run.at[length], confidence});
    };
    if (labelled > 0) {
      // The whole word, or the name plus a particle: 홍길동, 홍길동입니다.
      if (run.size() - sn >= 1 && run.size() - sn <= 2) {
        add(run.size(), labelled);
        continue;
      }
      for (std::size_t length : {sn + 2, sn + 1}) {
        if (length >= run.size()) continue;
        const std::string_view rest = run.part(text, length, run.size());
        if (equals_any(rest, kNameSuffixes) || starts_with_any(rest, kTitles)) {
          add(length, labelled);
          break;
        }
      }
      continue;
    }
    // A title after the name: 김철수 과장, 김철수님, 남궁민수 씨. Only full
    // three-syllable names (four with a compound surname): shorter words
    // before 님 are mostly nouns (고객님, 회장님).
    const std::size_t length = sn + 2;
    if (run.size() < length) continue;
    if (equals_any(run.part(text, length - 1, length), kNotNameEndings)) continue;
    bool titled = false;
    if (run.size() > length) {
      titled = starts_with_any(run.part(text, length, run.size()), kTitles) &&
               !run.part(text, length, run.size()).starts_with("군") &&
               !run.part(text, length, run.size()).starts_with("양");
    } else if (r + 1 < runs.size() && runs[r + 1].begin == run.end + 1 && text[run.end] == ' ') {
      const Run& next = runs[r + 1];
      titled = starts_with_any(next.part(text, 0, next.size()), kTitles);
    }
    if (titled) add(length, 0.6);
  }
}

const RE2& english_name_re() {
  // "name" as a word of its own (not "filename"), then a capitalised name.
  static const RE2 re(R"((?:^|[^A-Za-z])(?i:name)\s*[:：]\s*([A-Z][a-z]+(?: [A-Z][a-z]+){1,2}))");
  return re;
}

}  // namespace

TableIndex::TableIndex(std::string_view text) : text_(text) {
  if (text.find('|') == std::string_view::npos) return;
  bool in_table = false;  // below a header and its rule
  std::size_t header_begin = 0, header_end = 0;
  bool previous_is_row = false;
  std::size_t previous_begin = 0, previous_end = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t eol = std::min(text.find('\n', pos), text.size());
    const std::vector<Cell> cells = row_cells(text, pos, eol);
    if (cells.empty()) {
      in_table = false;
    } else if (is_rule(text, cells) && previous_is_row) {
      in_table = true;
      header_begin = previous_begin;
      header_end = previous_end;
    } else if (in_table) {
      rows_.push_back({pos, eol, header_begin, header_end});
    }
    previous_is_row = !cells.empty();
    previous_begin = pos;
    previous_end = eol;
    pos = eol + 1;
  }
}

std::string_view TableIndex::column_header(std::size_t pos) const {
  auto it = std::upper_bound(rows_.begin(), rows_.end(), pos,
                             [](std::size_t p, const Row& r) { return p < r.begin; });
  if (it == rows_.begin()) return {};
  const Row& row = *std::prev(it);
  if (pos >= row.end) return {};
  const std::vector<Cell> cells = row_cells(text_, row.begin, row.end);
  std::size_t column = 0;
  while (column + 1 < cells.size() && cells[column + 1].begin <= pos) ++column;
  const std::vector<Cell> header = row_cells(text_, row.header_begin, row.header_end);
  if (column >= header.size()) return {};
  return text_.substr(header[column].begin, header[column].end - header[column].begin);
}

std::vector<Cell> TableIndex::cells_under(std::span<const std::string_view> labels) const {
  std::vector<Cell> out;
  std::size_t header_begin = std::string_view::npos;
  std::vector<bool> labelled;  // per column of the table the row is in
  for (const Row& row : rows_) {
    if (row.header_begin != header_begin) {
      header_begin = row.header_begin;
      labelled.clear();
      for (const Cell& h : row_cells(text_, row.header_begin, row.header_end)) {
        const std::string_view header = text_.substr(h.begin, h.end - h.begin);
        labelled.push_back(std::any_of(labels.begin(), labels.end(),
                                       [&](std::string_view l) { return header.ends_with(l); }));
      }
    }
    const std::vector<Cell> cells = row_cells(text_, row.begin, row.end);
    for (std::size_t i = 0; i < cells.size() && i < labelled.size(); ++i) {
      if (labelled[i] && cells[i].begin < cells[i].end) out.push_back(cells[i]);
    }
  }
  return out;
}

bool ascii_bounded(std::string_view text, std::size_t begin, std::size_t end) {
  return (begin == 0 || !is_ascii_alnum(text[begin - 1])) &&
         (end >= text.size() || !is_ascii_alnum(text[end]));
}

bool keyword_near(std::string_view text, const TableIndex& tables, std::size_t begin,
                  std::size_t end, std::initializer_list<std::string_view> words,
                  std::size_t before, std::size_t after) {
  // The window stays inside the sentence and line: a bank named in the
  // sentence before says nothing of an order number in this one. A period
  // after an ASCII letter is no sentence end ("passport no. M1234").
  auto sentence_end = [&](std::size_t i) {  // text[i] ends a sentence or line
    if (text[i] == '\n') return true;
    if (text[i] != '.' && text[i] != '?' && text[i] != '!') return false;
    if (i + 1 < text.size() && text[i + 1] != ' ') return false;
    return !(text[i] == '.' && i > 0 && std::isalpha(static_cast<unsigned char>(text[i - 1])));
  };
  std::size_t from = begin > before ? begin - before : 0;
  for (std::size_t i = begin; i > from; --i) {
    if (sentence_end(i - 1)) {
      from = i;
      break;
    }
  }
  std::size_t to = std::min(text.size(), end + after);
  for (std::size_t i = end; i < to; ++i) {
    if (sentence_end(i)) {
      to = i;
      break;
    }
  }
  std::string window(text.substr(from, begin - from));
  window += '\n';
  window.append(text.substr(end, to - end));
  window += '\n';
  window.append(tables.column_header(begin));
  // Lower-case, without spaces: 사업자 등록 번호 and 주 소 (spaced out to
  // line up in a form) are the words they spell.
  std::erase_if(window, [](char c) { return c == ' ' || c == '\t'; });
  for (char& c : window) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return window.find(w) != std::string::npos; });
}

// A cell under a name header (| 성명 | ... rows below) that is a name.
void add_names_in_columns(std::string_view text, const TableIndex& tables,
                          std::vector<PiiMatch>& out) {
  for (const Cell& c : tables.cells_under(kNameLabels)) {
    const std::string_view cell = text.substr(c.begin, c.end - c.begin);
    const std::vector<Run> runs = hangul_runs(cell);
    if (runs.size() != 1 || runs[0].begin != 0 || runs[0].end != cell.size()) continue;
    if (equals_any(cell, kNameLabels)) continue;  // | 예금주 | 김철수 | as a row of the table
    const std::size_t sn = surname_length(cell, runs[0]);
    if (sn > 0 && runs[0].size() > sn && runs[0].size() - sn <= 2)
      out.push_back({PiiType::kPersonName, c.begin, c.end, 0.9});
  }
}

void person_name_candidates(std::string_view text, const TableIndex& tables,
                            std::vector<PiiMatch>& out) {
  add_korean_names(text, out);
  add_names_in_columns(text, tables, out);
  if (text.find(':') != std::string_view::npos || text.find("\uFF1A") != std::string_view::npos) {
    for_each_match(text, english_name_re(), [&](std::size_t b, std::size_t e) {
      out.push_back({PiiType::kPersonName, b, e, 0.85});
    });
  }
}

void passport_candidates(std::string_view text, const TableIndex& tables,
                         std::vector<PiiMatch>& out) {
  static const RE2 re(R"([MSRODG](?:[0-9]{8}|[0-9]{3}[A-Z][0-9]{4}))");
  for_each_match(text, re, [&](std::size_t b, std::size_t e) {
    if (!ascii_bounded(text, b, e)) return;
    const bool context = keyword_near(text, tables, b, e, {"여권", "passport"}, 48);
    out.push_back({PiiType::kPassport, b, e, context ? 0.9 : 0.45});
  });
}

}  // namespace enclave::pii_detail
