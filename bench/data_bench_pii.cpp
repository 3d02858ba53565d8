// A generated Korean corpus with planted PII: every type in the forms people
// write it (labelled, in table cells, with and without hyphens, bare), among
// sentences built to look like PII and not be (order numbers, model codes,
// dates, versions, settings, nouns before 님 or a title, words ending like
// an administrative unit). A detected span is right when it overlaps a
// planted span of its type; recall counts planted spans found.
#include "data_bench_pii.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "text/pii.h"

namespace enclave::bench {
namespace {

struct Planted {
  PiiType type;
  std::size_t begin, end;
};

struct Doc {
  std::string text;
  std::vector<Planted> spans;
};

class Gen {
 public:
  explicit Gen(std::uint64_t seed) : rng_(seed) {}

  template <typename T, std::size_t N>
  const T& pick(const std::array<T, N>& list) {
    return list[rng_() % N];
  }
  int number(int lo, int hi) { return lo + static_cast<int>(rng_() % (hi - lo + 1)); }
  bool chance(double p) { return std::uniform_real_distribution<>(0, 1)(rng_) < p; }
  std::string digits(int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s += static_cast<char>('0' + rng_() % 10);
    return s;
  }

  std::string name() {
    static const std::array<const char*, 21> kSurnames = {
        "김", "이", "박", "최", "정", "강", "조", "윤", "장",   "임",  "한",
        "오", "서", "신", "권", "황", "안", "송", "홍", "남궁", "황보"};
    static const std::array<const char*, 24> kGiven = {
        "민", "서", "지", "현", "수", "영", "준", "우", "하", "윤", "은", "진",
        "호", "성", "혜", "경", "재", "연", "도", "희", "철", "동", "미", "나"};
    std::string n = pick(kSurnames);
    n += pick(kGiven);
    if (chance(0.9)) n += pick(kGiven);
    return n;
  }

  std::string address() {
    static const std::array<const char*, 8> kRegions = {"서울특별시", "부산광역시", "경기도",
                                                        "대구광역시", "인천광역시", "충청남도",
                                                        "전라북도",   "서울"};
    static const std::array<const char*, 10> kDistricts = {
        "강남구", "서초구", "해운대구",      "성남시 분당구", "수원시 팔달구",
        "유성구", "중구",   "천안시 동남구", "전주시 완산구", "마포구"};
    static const std::array<const char*, 8> kRoads = {"테헤란로",   "판교역로",  "중앙대로",
                                                      "대학로",     "세종대로",  "번영로",
                                                      "남부순환로", "가락로12길"};
    std::string a;
    if (chance(0.8)) a += std::string(pick(kRegions)) + " ";
    a += std::string(pick(kDistricts)) + " " + pick(kRoads) + " " + std::to_string(number(1, 999));
    if (chance(0.3)) a += "-" + std::to_string(number(1, 30));
    if (chance(0.4)) a += " " + std::to_string(number(1, 20)) + "층";
    return a;
  }

  std::string rrn() {
    // A real birth date and gender digit; the check digit left random, as
    // numbers issued from October 2020 have none.
    return fmt::format("{:02d}{:02d}{:02d}-{}{}", number(50, 99), number(1, 12), number(1, 28),
                       number(1, 2), digits(6));
  }

  std::string brn(bool hyphens) {
    for (;;) {
      const std::string d = digits(10);
      static constexpr int kWeights[] = {1, 3, 7, 1, 3, 7, 1, 3, 5};
      int sum = 0;
      for (int i = 0; i < 9; ++i) sum += (d[i] - '0') * kWeights[i];
      sum += (d[8] - '0') * 5 / 10;
      if ((10 - sum % 10) % 10 != d[9] - '0') continue;
      return hyphens ? d.substr(0, 3) + "-" + d.substr(3, 2) + "-" + d.substr(5) : d;
    }
  }

  std::string secret() {
    static const std::array<const char*, 6> kChars = {"a", "Z", "7", "q", "4", "x"};
    std::string s;
    for (int i = 0; i < 14; ++i) s += pick(kChars);
    return s + digits(2);
  }

 private:
  std::mt19937_64 rng_;
};

// Appends text, recording planted spans.
struct Builder {
  Doc doc;
  void text(std::string_view t) { doc.text += t; }
  void pii(PiiType type, std::string_view value) {
    doc.spans.push_back({type, doc.text.size(), doc.text.size() + value.size()});
    doc.text += value;
  }
};

// Sentences that hold no PII but look like it.
constexpr std::array<const char*, 30> kDecoys = {
    "주문번호 123456789012 배송이 시작되었습니다. ",
    "모델명 M12345678 제품의 보증 기간은 2년입니다. ",
    "회의는 2024-01-15 14:30에 열립니다. ",
    "연구 활동 3건을 보고했다. ",
    "고객님 감사합니다. ",
    "홍보팀 과장 회의가 있습니다. ",
    "이사장님 인사말을 게시했다. ",
    "설정값 max_tokens: 2048 을 권장합니다. ",
    "예산 1,234,567원, 증가율 12.5%를 기록했다. ",
    "버전 1.2.3.4 배포 완료. ",
    "성명서를 발표했다. ",
    "한국인 교수와 유명한 교수가 참석했다. ",
    "처리 속도 2배, 관리 비용 30% 절감. ",
    "password: ******** 로 가려져 있다. ",
    "송장번호 3333012345678 조회 바랍니다. ",
    "우리 회사 번호는 1234567890 입니다. ",
    "강남구 123개 매장에서 판매한다. ",
    "서울 강남구 테헤란로 일대가 붐볐다. ",
    "박물관 관장님 축사가 이어졌다. ",
    "최고의 서비스 팀장 추천 제도를 도입했다. ",
    "제3조 2항에 따라 2024년 3월 15일 10시에 시행한다. ",
    "서울 강남구 소재 기업 120곳이 참여했다. ",
    "주민센터 1층 민원실에서 접수한다. ",
    "password policy: at least 8 characters. ",
    "토큰 수: 4096, tokens=4096 으로 제한한다. ",
    "이름: 제품명 미정. ",
    "김 과장님께서 검토 중이다. ",
    "정부 부처 장관 회의가 열렸다. ",
    "전화 응대 매뉴얼 2.1판을 배포했다. ",
    "신한 카드 혜택 1,000원 할인. ",
};

constexpr std::array<const char*, 6> kFiller = {
    "회사는 올해 새로운 연구 과제를 시작했다. ",
    "담당 부서는 다음 주까지 결과를 정리할 예정이다. ",
    "자세한 내용은 첨부 문서를 참고하기 바랍니다. ",
    "회의에서는 채용 계획과 일정이 논의되었다. ",
    "신청서는 온라인으로 제출할 수 있다. ",
    "문의 사항은 고객센터로 연락 주십시오. ",
};

void plant_one(Gen& g, Builder& b) {
  switch (g.number(0, 16)) {
    case 0:
      b.text(g.chance(0.5) ? "성명: " : "이름: ");
      b.pii(PiiType::kPersonName, g.name());
      b.text(". ");
      break;
    case 1:
      b.text("| 예금주 | ");
      b.pii(PiiType::kPersonName, g.name());
      b.text(" |\n");
      break;
    case 2:
      b.pii(PiiType::kPersonName, g.name());
      b.text(g.chance(0.5) ? " 과장님께 보고했다. " : "씨가 방문했다. ");
      break;
    case 3:  // no context at all: a name alone is not found (recall's floor)
      b.text("어제 ");
      b.pii(PiiType::kPersonName, g.name());
      b.text("와 만났다. ");
      break;
    case 4:
      b.text(g.chance(0.5) ? "주소: " : "");
      b.pii(PiiType::kAddress, g.address());
      b.text(g.chance(0.5) ? "에 위치한다. " : ". ");
      break;
    case 5:
      b.text("연락처 ");
      b.pii(PiiType::kPhone, fmt::format("010-{}-{}", g.digits(4), g.digits(4)));
      b.text(", 메일 ");
      b.pii(PiiType::kEmail, fmt::format("user{}@example.co.kr", g.digits(3)));
      b.text(". ");
      break;
    case 6:
      b.text("주민등록번호 ");
      b.pii(PiiType::kRrn, g.rrn());
      b.text(". ");
      break;
    case 7: {
      const bool hyphens = g.chance(0.5);
      b.text(hyphens ? "등록번호 " : "사업자등록번호 ");
      b.pii(PiiType::kBusinessNumber, g.brn(hyphens));
      b.text(". ");
      break;
    }
    case 8:
      b.text(g.chance(0.5) ? "국민은행 " : "입금 계좌: 신한은행 ");
      b.pii(PiiType::kBankAccount,
            g.chance(0.5) ? g.digits(12) : fmt::format("110-{}-{}", g.digits(3), g.digits(6)));
      b.text(". ");
      break;
    case 9:
      b.text(g.chance(0.7) ? "여권번호 " : "번호 ");  // 30% bare: below 0.5
      b.pii(PiiType::kPassport,
            g.chance(0.5) ? "M" + g.digits(8) : "M" + g.digits(3) + "A" + g.digits(4));
      b.text(". ");
      break;
    case 10:
      b.text("운전면허 ");
      b.pii(PiiType::kDriverLicense,
            fmt::format("{}-{}-{}-{}", g.number(11, 26), g.digits(2), g.digits(6), g.digits(2)));
      b.text(". ");
      break;
    case 11:
      b.text(g.chance(0.5) ? "password=" : "비밀번호: ");
      b.pii(PiiType::kSecret, g.secret());
      b.text(" ");
      break;
    case 12:
      b.text("api_key: ");
      b.pii(PiiType::kSecret, "AKIA" + std::string("IOSFODNN7") + "EXAMPLE");
      b.text(" ");
      break;
    case 13:
      b.text("카드 ");
      b.pii(PiiType::kCard, "4111 1111 1111 1111");
      b.text(", 서버 ");
      b.pii(PiiType::kIpAddress,
            fmt::format("10.{}.{}.{}", g.number(0, 255), g.number(0, 255), g.number(1, 254)));
      b.text(". ");
      break;
    case 14:  // a table as ingest writes it: the header labels the column
      b.text("\n| 성명 | 주소 |\n| --- | --- |\n| ");
      b.pii(PiiType::kPersonName, g.name());
      b.text(" | ");
      b.pii(PiiType::kAddress, g.address());
      b.text(" |\n");
      break;
    default:
      b.text(kFiller[g.number(0, kFiller.size() - 1)]);
      break;
  }
}

std::vector<Doc> make_docs(std::size_t n, std::uint64_t seed) {
  Gen g(seed);
  std::vector<Doc> docs;
  for (std::size_t i = 0; i < n; ++i) {
    Builder b;
    const int sentences = g.number(4, 8);
    for (int s = 0; s < sentences; ++s) {
      if (g.chance(0.35))
        b.text(kDecoys[g.number(0, kDecoys.size() - 1)]);
      else
        plant_one(g, b);
    }
    docs.push_back(std::move(b.doc));
  }
  return docs;
}

struct Score {
  std::int64_t planted = 0, found = 0, detected = 0, correct = 0;
  std::vector<std::string> missed, wrong;  // examples, for reading the errors
};

// The span with a few characters of context, for an example line.
std::string excerpt(const std::string& text, std::size_t begin, std::size_t end) {
  const std::size_t from = begin > 24 ? begin - 24 : 0;
  const std::size_t to = std::min(text.size(), end + 12);
  std::string out = text.substr(from, begin - from) + "[" + text.substr(begin, end - begin) + "]" +
                    text.substr(end, to - end);
  std::string valid;  // the cut may split a character
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c >= 0x80 && c < 0xC0 && (valid.empty() || i == 0)) continue;
    valid += out[i] == '\n' ? ' ' : out[i];
  }
  return valid;
}

// Whether a span of `spans` (planted or detected) has this type and overlaps [begin, end).
template <typename Spans>
bool overlapped(const Spans& spans, PiiType type, std::size_t begin, std::size_t end) {
  return std::any_of(spans.begin(), spans.end(), [&](const auto& s) {
    return s.type == type && s.begin < end && begin < s.end;
  });
}

std::array<Score, kNumPiiTypes> score(const std::vector<Doc>& docs, double min_confidence) {
  std::array<Score, kNumPiiTypes> s{};
  for (const Doc& d : docs) {
    const auto matches = find_pii(d.text, {.min_confidence = min_confidence, .current_year = 2025});
    for (const Planted& p : d.spans) {
      Score& t = s[static_cast<int>(p.type)];
      ++t.planted;
      const bool found = overlapped(matches, p.type, p.begin, p.end);
      t.found += found;
      if (!found && t.missed.size() < 3) t.missed.push_back(excerpt(d.text, p.begin, p.end));
    }
    for (const PiiMatch& m : matches) {
      Score& t = s[static_cast<int>(m.type)];
      ++t.detected;
      const bool right = overlapped(d.spans, m.type, m.begin, m.end);
      t.correct += right;
      if (!right && t.wrong.size() < 3) t.wrong.push_back(excerpt(d.text, m.begin, m.end));
    }
  }
  return s;
}

double ratio(std::int64_t a, std::int64_t b) { return b ? double(a) / double(b) : 1.0; }

}  // namespace

void bench_pii(std::size_t n_docs, std::uint64_t seed, bool show_errors) {
  const std::vector<Doc> docs = make_docs(n_docs, seed);
  std::size_t bytes = 0;
  for (const Doc& d : docs) bytes += d.text.size();
  const auto start = std::chrono::steady_clock::now();
  std::size_t n_matches = 0;
  for (const Doc& d : docs) n_matches += find_pii(d.text).size();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  fmt::print(
      "pii               {} generated Korean documents, {:.1f} MB: find_pii {:.0f} docs/s, "
      "{:.1f} MB/s on 1 thread ({} matches)\n",
      docs.size(), double(bytes) / 1e6, double(docs.size()) / s, double(bytes) / 1e6 / s,
      n_matches);
  const auto at_default = score(docs, 0.5);
  const auto at_strict = score(docs, 0.8);
  fmt::print("  {:<15} {:>7}  {:>9} {:>9}  {:>9} {:>9}\n", "type", "planted", "recall@.5",
             "prec@.5", "recall@.8", "prec@.8");
  Score total5, total8;
  for (PiiType t : kAllPiiTypes) {
    const Score& a = at_default[static_cast<int>(t)];
    const Score& b = at_strict[static_cast<int>(t)];
    for (auto [total, x] : {std::pair{&total5, &a}, std::pair{&total8, &b}}) {
      total->planted += x->planted;
      total->found += x->found;
      total->detected += x->detected;
      total->correct += x->correct;
    }
    fmt::print("  {:<15} {:>7}  {:>9.3f} {:>9.3f}  {:>9.3f} {:>9.3f}\n", to_string(t), a.planted,
               ratio(a.found, a.planted), ratio(a.correct, a.detected), ratio(b.found, b.planted),
               ratio(b.correct, b.detected));
  }
  fmt::print("  {:<15} {:>7}  {:>9.3f} {:>9.3f}  {:>9.3f} {:>9.3f}\n", "all", total5.planted,
             ratio(total5.found, total5.planted), ratio(total5.correct, total5.detected),
             ratio(total8.found, total8.planted), ratio(total8.correct, total8.detected));
  if (!show_errors) return;
  for (PiiType t : kAllPiiTypes) {
    const Score& a = at_default[static_cast<int>(t)];
    for (const auto& e : a.missed) fmt::print("  {} missed at 0.5: {}\n", to_string(t), e);
    for (const auto& e : a.wrong) fmt::print("  {} wrong at 0.5:  {}\n", to_string(t), e);
  }
}

}  // namespace enclave::bench
