#include "text/pii_context.h"

#include <re2/re2.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <memory>
#include <string>

#include "text/utf8.h"

namespace enclave::pii_detail {

namespace {

bool is_ascii_alnum(char c) {
  return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
}
bool is_hangul_syllable(char32_t c) { return c >= 0xAC00 && c <= 0xD7A3; }

bool one_of(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// No ASCII letter or digit right before begin or right after end.
bool ascii_bounded(std::string_view text, std::size_t begin, std::size_t end) {
  return (begin == 0 || !is_ascii_alnum(text[begin - 1])) &&
         (end >= text.size() || !is_ascii_alnum(text[end]));
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

bool starts_with_any(std::string_view s, const auto& list) {
  return std::any_of(std::begin(list), std::end(list),
                     [&](std::string_view w) { return s.starts_with(w); });
}
bool equals_any(std::string_view s, const auto& list) {
  return std::any_of(std::begin(list), std::end(list), [&](std::string_view w) { return s == w; });
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
  const std::string_view word = text.substr(prev.begin, prev.end - prev.begin);
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
    const double labelled = label_confidence(text, runs, r);
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

// ---- addresses --------------------------------------------------------------

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

void add_addresses(std::string_view text, std::vector<PiiMatch>& out) {
  const std::vector<Token> tokens = address_tokens(text);
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
    if (keyword_near(
            text, first.begin, first.begin,
            {"주소", "소재지", "거주지", "주거지", "배송지", "자택", "본적", "address", "addr"},
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

// ---- secrets ----------------------------------------------------------------

struct SecretPattern {
  std::string_view needle;  // a cheap substring test before the regex runs
  const char* pattern;
  double confidence;
  bool bounded;  // no ASCII letter or digit may touch the match
};

const SecretPattern kSecretPatterns[] = {
    {"PRIVATE KEY", R"((?s)-----BEGIN[A-Z ]*PRIVATE KEY-----.*?-----END[A-Z ]*PRIVATE KEY-----)",
     0.99, false},
    {"KIA", R"((?:AKIA|ASIA)[0-9A-Z]{16})", 0.95, true},
    {"gh", R"(gh[pousr]_[A-Za-z0-9]{36,255})", 0.95, true},
    {"github_pat_", R"(github_pat_[A-Za-z0-9_]{22,255})", 0.95, true},
    {"xox", R"(xox[abposr]-[A-Za-z0-9-]{10,250})", 0.95, true},
    {"AIza", R"(AIza[0-9A-Za-z_\-]{35})", 0.95, true},
    {"sk-", R"(sk-(?:proj-|ant-)?[A-Za-z0-9_\-]{20,200})", 0.9, true},
    {"_live_", R"((?:sk|rk|pk)_live_[0-9A-Za-z]{16,200})", 0.95, true},
    {"hf_", R"(hf_[A-Za-z0-9]{30,100})", 0.9, true},
    {"eyJ", R"(eyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,})", 0.9, true},
};

// key=value, key: value, "key": "value"; group 1 the key, 2 the value.
const RE2& secret_assignment_re() {
  static const RE2 re(
      R"((?i)([A-Za-z0-9_.\-]*(?:password|passwd|passcode|pwd|secret|api[_\-]?key|apikey|)"
      R"(access[_\-]?key|private[_\-]?key|token|credentials?)[A-Za-z0-9_\-]*|비밀번호|패스워드|)"
      R"(비번|암호|인증키|API ?키)["']?\s*(?:[:=]|=>|：|은|는)\s*["']?)"
      R"(([\x21\x23-\x26\x28-\x2B\x2D-\x3A\x3D\x3F-\x7E]{4,200}))");
  return re;
}

bool placeholder_value(std::string_view v) {
  if (v.front() == '$' || v.front() == '{' || v.front() == '%' || v.front() == '*') return true;
  if (std::all_of(v.begin(), v.end(), [&](char c) { return c == v.front(); })) return true;
  std::string lower(v);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return one_of(lower, {"null", "none", "true", "false", "string", "required", "optional",
                        "undefined", "password", "secret", "token", "xxxx", "redacted"});
}

void add_secret_assignments(std::string_view text, std::vector<PiiMatch>& out) {
  const RE2& re = secret_assignment_re();
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece groups[3];
  std::size_t pos = 0;
  while (pos < text.size() && re.Match(input, pos, text.size(), RE2::UNANCHORED, groups, 3)) {
    const auto begin = static_cast<std::size_t>(groups[2].data() - text.data());
    const std::size_t end = begin + groups[2].size();
    pos = std::max(end, static_cast<std::size_t>(groups[0].data() - text.data()) + 1);
    const std::size_t key_begin = static_cast<std::size_t>(groups[1].data() - text.data());
    if (key_begin > 0 && is_ascii_alnum(text[key_begin - 1])) continue;
    std::string_view value(groups[2].data(), groups[2].size());
    while (!value.empty() && (value.back() == '.' || value.back() == ')')) value.remove_suffix(1);
    if (value.size() < 4 || placeholder_value(value)) continue;
    std::string key(groups[1].data(), groups[1].size());
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool token_like = key.find("token") != std::string::npos ||
                            key.find("key") != std::string::npos ||
                            key.find("키") != std::string::npos;
    // A token or key is long and mixes letters and digits ("max_tokens:
    // 2048" is a setting, not a secret); a password may be anything.
    if (token_like) {
      const bool letters = std::any_of(value.begin(), value.end(), [](char c) {
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
      });
      const bool digits =
          std::any_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
      if (value.size() < 12 || !letters || !digits) continue;
    }
    out.push_back({PiiType::kSecret, begin, begin + value.size(), token_like ? 0.85 : 0.9});
  }
}

template <typename Fn>
void for_each_match(std::string_view text, const RE2& re, Fn&& fn) {
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece m[2];
  const int n = std::min(re.NumberOfCapturingGroups() + 1, 2);
  std::size_t pos = 0;
  while (pos < text.size() && re.Match(input, pos, text.size(), RE2::UNANCHORED, m, n)) {
    const auto begin = static_cast<std::size_t>(m[0].data() - text.data());
    pos = begin + std::max<std::size_t>(m[0].size(), 1);
    const re2::StringPiece& span = n > 1 ? m[1] : m[0];
    const auto span_begin = static_cast<std::size_t>(span.data() - text.data());
    fn(span_begin, span_begin + span.size());
  }
}

}  // namespace

bool keyword_near(std::string_view text, std::size_t begin, std::size_t end,
                  std::initializer_list<std::string_view> words, std::size_t before,
                  std::size_t after) {
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
  for (char& c : window) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return std::any_of(words.begin(), words.end(),
                     [&](std::string_view w) { return window.find(w) != std::string::npos; });
}

bool region_name_before(std::string_view text, std::size_t begin) {
  std::string_view before = text.substr(0, begin);
  if (before.ends_with(' ')) before.remove_suffix(1);
  for (std::string_view region : kRegions) {
    if (before.ends_with(region)) return true;
  }
  return false;
}

void person_name_candidates(std::string_view text, std::vector<PiiMatch>& out) {
  add_korean_names(text, out);
  if (text.find(':') != std::string_view::npos || text.find("\uFF1A") != std::string_view::npos) {
    for_each_match(text, english_name_re(), [&](std::size_t b, std::size_t e) {
      out.push_back({PiiType::kPersonName, b, e, 0.85});
    });
  }
}

void address_candidates(std::string_view text, std::vector<PiiMatch>& out) {
  add_addresses(text, out);
}

void passport_candidates(std::string_view text, std::vector<PiiMatch>& out) {
  static const RE2 re(R"([MSRODG](?:[0-9]{8}|[0-9]{3}[A-Z][0-9]{4}))");
  for_each_match(text, re, [&](std::size_t b, std::size_t e) {
    if (!ascii_bounded(text, b, e)) return;
    const bool context = keyword_near(text, b, e, {"여권", "passport"}, 48);
    out.push_back({PiiType::kPassport, b, e, context ? 0.9 : 0.45});
  });
}

void secret_candidates(std::string_view text, std::vector<PiiMatch>& out) {
  static const std::vector<std::unique_ptr<RE2>> compiled = [] {
    std::vector<std::unique_ptr<RE2>> v;
    for (const SecretPattern& p : kSecretPatterns) v.push_back(std::make_unique<RE2>(p.pattern));
    return v;
  }();
  for (std::size_t i = 0; i < std::size(kSecretPatterns); ++i) {
    const SecretPattern& p = kSecretPatterns[i];
    if (text.find(p.needle) == std::string_view::npos) continue;
    for_each_match(text, *compiled[i], [&](std::size_t b, std::size_t e) {
      if (!p.bounded || ascii_bounded(text, b, e))
        out.push_back({PiiType::kSecret, b, e, p.confidence});
    });
  }
  add_secret_assignments(text, out);
}

}  // namespace enclave::pii_detail
