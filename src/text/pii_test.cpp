#include "text/pii.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <initializer_list>
#include <random>
#include <string>

#include "core/error.h"
#include "text/pii_checks.h"

namespace enclave {
namespace {

std::string redact(std::string_view text) { return redact_pii(text, {.current_year = 2025}).text; }

TEST(PiiChecks, Luhn) {
  EXPECT_TRUE(luhn_valid("4111111111111111"));
  EXPECT_TRUE(luhn_valid("4111-1111-1111-1111"));
  EXPECT_FALSE(luhn_valid("4111111111111112"));
  EXPECT_FALSE(luhn_valid(""));
}

TEST(PiiChecks, ResidentRegistrationNumber) {
  EXPECT_EQ(check_rrn("9001011234568", 2025), RrnCheck::kValidChecksum);
  EXPECT_EQ(check_rrn("9001011234567", 2025),
            RrnCheck::kValidNoCheck);  // post-2020 style: no check digit
  EXPECT_EQ(check_rrn("9913411234567", 2025), RrnCheck::kInvalid);       // month 13
  EXPECT_EQ(check_rrn("9002301234567", 2025), RrnCheck::kInvalid);       // 30 February
  EXPECT_EQ(check_rrn("0002294234567", 2025), RrnCheck::kValidNoCheck);  // 29 Feb 2000 (leap)
  EXPECT_EQ(check_rrn("0102294234567", 2025), RrnCheck::kInvalid);       // 29 Feb 2001
  EXPECT_EQ(check_rrn("3001013234567", 2025), RrnCheck::kInvalid);       // born 2030: future
  EXPECT_EQ(check_rrn("9001015234567", 2025), RrnCheck::kValidNoCheck);  // foreigner, 1900s
  EXPECT_EQ(check_rrn("900101123456", 2025), RrnCheck::kInvalid);
}

// The gender digit G of YYMMDD-G... gives the century, and every digit is
// one: 1-4 Koreans (1,2: 1900s, 3,4: 2000s), 5-8 foreigners (5,6: 1900s,
// 7,8: 2000s), 9 and 0 the 1800s. So a date decides validity per century.
TEST(PiiChecks, ResidentRegistrationGenderDigitSetsTheCentury) {
  for (int g = 0; g <= 9; ++g) {
    const bool c2000 = g == 3 || g == 4 || g == 7 || g == 8;
    const std::string tail = std::to_string(g) + "234567";
    // 1 January 85: 1885 or 1985, but 2085 is in the future.
    EXPECT_EQ(check_rrn("850101" + tail, 2025) != RrnCheck::kInvalid, !c2000) << "G=" << g;
    // 1 January 05: 1805, 1905 and 2005 all possible.
    EXPECT_NE(check_rrn("050101" + tail, 2025), RrnCheck::kInvalid) << "G=" << g;
    // 29 February 00: only 2000 is a leap year (1800 and 1900 are not).
    EXPECT_EQ(check_rrn("000229" + tail, 2025) != RrnCheck::kInvalid, c2000) << "G=" << g;
    // 29 February 04: 1804, 1904 and 2004 are all leap years.
    EXPECT_NE(check_rrn("040229" + tail, 2025), RrnCheck::kInvalid) << "G=" << g;
  }
  // The future is judged against the current year, not a fixed one.
  EXPECT_EQ(check_rrn("2601013234567", 2025), RrnCheck::kInvalid);
  EXPECT_NE(check_rrn("2601013234567", 2026), RrnCheck::kInvalid);
  EXPECT_NE(check_rrn("2601011234567", 2025), RrnCheck::kInvalid);  // 1926
}

// A bare 13-digit number with a possible birth date is an RRN even when its
// check digit does not match (numbers issued from October 2020 carry none),
// but with less confidence than the hyphenated form or a matching check
// digit: a caller can raise min_confidence to leave such numbers alone.
TEST(Pii, BareThirteenDigitsWithoutCheckDigit) {
  const std::string bare = "번호 9001011234567 확인";  // check digit would be 8
  auto m = find_pii(bare, {.current_year = 2025});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(m[0].type, PiiType::kRrn);
  EXPECT_DOUBLE_EQ(m[0].confidence, 0.6);
  EXPECT_EQ(redact(bare), "번호 <RRN> 확인");
  EXPECT_EQ(redact_pii(bare, {.min_confidence = 0.7, .current_year = 2025}).text, bare);

  m = find_pii("번호 900101-1234567 확인", {.current_year = 2025});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_DOUBLE_EQ(m[0].confidence, 0.9);
  m = find_pii("번호 9001011234568 확인", {.current_year = 2025});  // matching check digit
  ASSERT_EQ(m.size(), 1u);
  EXPECT_DOUBLE_EQ(m[0].confidence, 0.98);

  // No possible birth date, no RRN, bare or hyphenated.
  for (const char* text : {"번호 8502301234567 확인", "번호 850230-1234567 확인",
                           "번호 8501013234567 확인", "번호 850101-3234567 확인"}) {
    EXPECT_EQ(redact(text), text);
  }
}

TEST(PiiChecks, BusinessNumber) {
  EXPECT_TRUE(business_number_valid("2208162517"));
  EXPECT_FALSE(business_number_valid("2208162518"));
}

TEST(Pii, KoreanText) {
  EXPECT_EQ(redact("홍길동의 주민등록번호는 900101-1234568이고 연락처는 010-1234-5678입니다."),
            "홍길동의 주민등록번호는 <RRN>이고 연락처는 <PHONE>입니다.");
  EXPECT_EQ(redact("신규 번호 900101-1234567 (2020년 10월 이후 발급)"),
            "신규 번호 <RRN> (2020년 10월 이후 발급)");
  EXPECT_EQ(redact("사업자등록번호 220-81-62517, 대표전화 1588-1234, 서울 02-123-4567"),
            "사업자등록번호 <BRN>, 대표전화 <PHONE>, 서울 <PHONE>");
  EXPECT_EQ(redact("입금 계좌: 신한은행 110-123-456789 예금주 홍길동"),
            "입금 계좌: 신한은행 <ACCOUNT> 예금주 <PERSON_NAME>");
  EXPECT_EQ(redact("문의: hong.gildong@example.co.kr로 메일 주세요"),
            "문의: <EMAIL>로 메일 주세요");
  EXPECT_EQ(redact("국제전화 +82 10-9876-5432"), "국제전화 <PHONE>");
}

TEST(Pii, EnglishText) {
  EXPECT_EQ(redact("Mail user+tag@mail.example.com or call +1 (555) 123-4567."),
            "Mail <EMAIL> or call <PHONE>.");
  EXPECT_EQ(redact("London office: +44 20 7946 0958"), "London office: <PHONE>");
  EXPECT_EQ(redact("Card 4111 1111 1111 1111 exp 12/27"), "Card <CARD> exp 12/27");
  EXPECT_EQ(redact("server 192.168.0.1 and 2001:db8::1 are down"), "server <IP> and <IP> are down");
  EXPECT_EQ(redact("Wire to account 12-3456-7890123 today"), "Wire to account <ACCOUNT> today");
}

// Every type is found at the start of a line and right after punctuation
// (the request log once missed them after the "\n" of serialised JSON).
TEST(Pii, EveryTypeAtLineStartsAndAfterPunctuation) {
  const std::pair<const char*, const char*> values[] = {
      {"kim@example.com", "<EMAIL>"},    {"010-1234-5678", "<PHONE>"},
      {"900101-1234568", "<RRN>"},       {"220-81-62517", "<BRN>"},
      {"4111 1111 1111 1111", "<CARD>"}, {"192.168.0.1", "<IP>"},
  };
  for (const auto& [value, tag] : values) {
    for (const char* before : {"", "\n", "line one\n", "(", "\"", ":", ",", "\t", "- "}) {
      const std::string text = std::string(before) + value + "\nnext";
      EXPECT_EQ(redact(text), std::string(before) + tag + "\nnext") << text;
    }
  }
  EXPECT_EQ(redact("acct:\n신한은행 110-123-456789"), "acct:\n신한은행 <ACCOUNT>");
}

TEST(Pii, FalsePositivesStayUntouched) {
  const char* clean[] = {
      "주문번호 9913411234567 확인",  // 13 digits, impossible birth date (month 13), fails Luhn
      "카드번호 4111 1111 1111 1112 오류",  // 16 digits failing Luhn
      "4111111111111112",
      "사업자 220-81-62518",                     // BRN with a wrong check digit
      "released v1.2.3.4 and 999.1.1.1",         // not IPs
      "meeting at 12:30:45 on 2024-01-15",       // time and date
      "ID123-45-67890 and ABC4111111111111111",  // numbers inside words
      "예산 1,234,567원, 증가율 12.5%",
      "12345678901234",  // 14 digits: no RRN inside
      "population 51 million in 2024",
      "버전 1.2.3.4 배포 완료",  // a version, not an IP (0.4)
  };
  for (const char* text : clean) {
    EXPECT_EQ(redact(text), text) << text;
  }
}

TEST(Pii, CountsAndOptions) {
  PiiOptions options{.current_year = 2025};
  auto r = redact_pii("a@b.com c@d.org 010-1111-2222 4111111111111111", options);
  EXPECT_EQ(r.counts[PiiType::kEmail], 2);
  EXPECT_EQ(r.counts[PiiType::kPhone], 1);
  EXPECT_EQ(r.counts[PiiType::kCard], 1);
  EXPECT_EQ(r.counts.total(), 4);
  options.enabled[static_cast<int>(PiiType::kEmail)] = false;
  EXPECT_EQ(redact_pii("a@b.com", options).text, "a@b.com");
  EXPECT_EQ(parse_pii_type("rrn"), PiiType::kRrn);
  EXPECT_THROW(parse_pii_type("ssn"), Error);
  for (PiiType t : kAllPiiTypes) {
    std::string name(to_string(t));
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_EQ(parse_pii_type(name), t) << name;
  }
  EXPECT_EQ(parse_pii_type("driver-license"), PiiType::kDriverLicense);
}

TEST(Pii, MatchOffsetsPointAtTheSpan) {
  const std::string text = "전화: 010-1234-5678";
  auto m = find_pii(text, {.current_year = 2025});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(text.substr(m[0].begin, m[0].end - m[0].begin), "010-1234-5678");
  EXPECT_GE(m[0].confidence, 0.9);
}

// Each case: the text, what default redaction makes of it, and, for a found
// span, its confidence band so --min-confidence can be reasoned about.
struct Case {
  const char* text;
  const char* redacted;
};

void expect_redactions(std::initializer_list<Case> cases) {
  for (const Case& c : cases) EXPECT_EQ(redact(c.text), c.redacted) << c.text;
}

void expect_untouched(std::initializer_list<const char*> texts) {
  for (const char* t : texts) EXPECT_EQ(redact(t), t) << t;
}

double confidence_of(std::string_view text, PiiType type) {
  for (const PiiMatch& m : find_pii(text, {.min_confidence = 0, .current_year = 2025})) {
    if (m.type == type) return m.confidence;
  }
  return 0;
}

TEST(Pii, BusinessNumberWithoutHyphens) {
  expect_redactions({
      {"사업자등록번호 2208162517", "사업자등록번호 <BRN>"},
      {"사업자번호: 2208162517 (법인)", "사업자번호: <BRN> (법인)"},
      {"BRN 220 81 62517", "BRN <BRN>"},
      {"사업자 등록 번호 2208162517", "사업자 등록 번호 <BRN>"},
  });
  expect_untouched({
      "주문번호 2208162517 배송 중",  // valid check digit, but no label: 0.4
      "사업자등록번호 2208162518",    // wrong check digit
      "사업자등록번호 22081625170",   // 11 digits
  });
  EXPECT_DOUBLE_EQ(confidence_of("주문번호 2208162517", PiiType::kBusinessNumber), 0.4);
}

TEST(Pii, AccountWithoutHyphensNeedsABankOrAccountWord) {
  expect_redactions({
      {"국민은행 123456789012로 보내 주세요", "국민은행 <ACCOUNT>로 보내 주세요"},
      {"계좌번호: 3333012345678", "계좌번호: <ACCOUNT>"},
      {"환불은 1002345678901 (우리은행)으로", "환불은 <ACCOUNT> (우리은행)으로"},
      {"카카오뱅크 3333-01-2345678", "카카오뱅크 <ACCOUNT>"},
  });
  expect_untouched({
      "주문번호 123456789012 배송 조회",
      "송장번호 3333012345678 확인",
      "우리 회사 번호는 1234567890 입니다",  // 우리 is "we", not 우리은행
      // The bank is named in the sentence before: context ends at a sentence.
      "국민은행 앱을 설치했다. 주문번호 123456789012 확인",
  });
}

TEST(Pii, Passport) {
  expect_redactions({
      {"여권번호: M12345678", "여권번호: <PASSPORT>"},
      {"passport no. M123A4567 issued 2022", "passport no. <PASSPORT> issued 2022"},
      {"여권 S98765432, 만료일 2030-01-01", "여권 <PASSPORT>, 만료일 2030-01-01"},
  });
  expect_untouched({
      "모델명 M12345678 제품",  // the layout, but no 여권/passport: 0.45
      "여권번호: M1234567",     // 7 digits
      "여권번호: XM12345678",   // inside a longer token
      "여권번호: A12345678",    // not a Korean passport letter
  });
  EXPECT_DOUBLE_EQ(confidence_of("모델명 M12345678 제품", PiiType::kPassport), 0.45);
}

TEST(Pii, DriverLicense) {
  expect_redactions({
      {"운전면허번호 11-17-123456-01", "운전면허번호 <DRIVER_LICENSE>"},
      {"면허: 서울 17-123456-01", "면허: 서울 <DRIVER_LICENSE>"},
      {"경기 20-654321-12 소지", "경기 <DRIVER_LICENSE> 소지"},
      {"driver licence 28 20 123456 03", "driver licence <DRIVER_LICENSE>"},
  });
  expect_untouched({
      "운전면허번호 99-17-123456-01",  // no region 99
      "코드 17-123456-01 확인",        // no region name before the short form
      "버전 11.17.123456.01",
  });
  EXPECT_DOUBLE_EQ(confidence_of("번호 11-17-123456-01", PiiType::kDriverLicense), 0.7);
}

TEST(Pii, PersonNames) {
  expect_redactions({
      {"성명: 홍길동", "성명: <PERSON_NAME>"},
      {"| 예금주 | 김철수 |", "| 예금주 | <PERSON_NAME> |"},
      {"이름은 남궁민수입니다.", "이름은 <PERSON_NAME>입니다."},
      {"담당자：박영희, 연락처 없음", "담당자：<PERSON_NAME>, 연락처 없음"},
      {"김철수 과장님께 전달", "<PERSON_NAME> 과장님께 전달"},
      {"어제 박영희씨가 왔다", "어제 <PERSON_NAME>씨가 왔다"},
      {"Name: John Smith", "Name: <PERSON_NAME>"},
      {"성 명 : 홍길동", "성 명 : <PERSON_NAME>"},  // a label spaced out in a form
  });
  expect_untouched({
      "고객님 감사합니다",          // two syllables before 님: a noun
      "홍보팀 과장 회의",           // an office before the title
      "한국인 교수와 유명한 교수",  // nationality, adjective
      "이사장님 인사말",
      "최고의 서비스 팀장 추천",  // a loanword before a title "김치를 먹었다. 이번 주 정기 회의",
                                  // "성명서를 발표했다",
      "filename: Report Final",  // "name" inside a word is no label
  });
  EXPECT_DOUBLE_EQ(confidence_of("성명: 홍길동", PiiType::kPersonName), 0.9);
  EXPECT_DOUBLE_EQ(confidence_of("이름은 홍길동", PiiType::kPersonName), 0.8);
  EXPECT_DOUBLE_EQ(confidence_of("김철수 과장", PiiType::kPersonName), 0.6);
  EXPECT_DOUBLE_EQ(confidence_of("이름 정하기", PiiType::kPersonName), 0.55);
}

TEST(Pii, Addresses) {
  expect_redactions({
      {"주소: 서울특별시 강남구 테헤란로 123, 4층", "주소: <ADDRESS>"},
      {"경기도 성남시 분당구 판교역로 235에서 만나요", "<ADDRESS>에서 만나요"},
      {"부산 해운대구 우동 1234-5 (해운대아파트)", "<ADDRESS> (해운대아파트)"},
      {"본사는 대전광역시 유성구 대학로 99 (궁동)", "본사는 <ADDRESS>"},
      {"소재지 | 수원시 팔달구 인계동 1000-1번지 |", "소재지 | <ADDRESS> |"},
      {"서울 종로구 종로3가 12 101동 1001호", "<ADDRESS>"},
      {"주소: 서울 마포구 대학로 12 3층에 있다", "주소: <ADDRESS>에 있다"},
      {"주  소: 마포구 대학로 12", "주  소: <ADDRESS>"},
  });
  expect_untouched({
      "연구 활동 3",           // words ending like units
      "테헤란로 123",          // one unit without a label: 0.4
      "강남구 123",            // a district needs a road or 동 before the number
      "서울 강남구 테헤란로",  // no number
      "처리 속도 2배, 관리 비용 30",
  });
  EXPECT_DOUBLE_EQ(confidence_of("테헤란로 123", PiiType::kAddress), 0.4);
  EXPECT_DOUBLE_EQ(confidence_of("강남구 테헤란로 123", PiiType::kAddress), 0.7);
}

TEST(Pii, Secrets) {
  expect_redactions({
      {"password=hunter2024", "password=<SECRET>"},
      {"DB_PASSWORD: s3cr3t!pw", "DB_PASSWORD: <SECRET>"},
      {R"({"db_password": "s3cr3t!", "user": "app"})",
       R"({"db_password": "<SECRET>", "user": "app"})"},
      {"비밀번호: qwer1234! 입니다", "비밀번호: <SECRET> 입니다"},
      {"aws key AKIAIOSFODNN7EXAMPLE in the log", "aws key <SECRET> in the log"},
      {"export GITHUB_TOKEN=ghp_abcdefghijklmnopqrstuvwxyz0123456789",
       "export GITHUB_TOKEN=<SECRET>"},
      {"api_key = 'a1b2c3d4e5f6g7h8'", "api_key = '<SECRET>'"},
      {"key sk-proj-abcdefghijklmnopqrstuvwxyz", "key <SECRET>"},
      {"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA\n-----END RSA PRIVATE KEY-----\nok",
       "<SECRET>\nok"},
  });
  expect_untouched({
      "max_tokens: 2048",     // a setting, not a secret
      "password: ********",   // already masked
      "password=${DB_PASS}",  // a template variable
      "비밀번호를 잊으셨나요?",
      "token: abc",                 // too short
      "access_token: placeholder",  // a token needs letters and digits
      "AKIAIOSFODNN7EXAMPLEX1",     // longer than an AWS key id
  });
}

// Each new type is selectable alone, and --min-confidence drops the weaker.
TEST(Pii, NewTypesAreSelectableAndScored) {
  const std::string text =
      "성명: 홍길동, 주소: 서울특별시 강남구 테헤란로 123, 여권번호 M12345678, "
      "운전면허 11-17-123456-01, password=hunter2024, 김철수 과장";
  for (PiiType t : {PiiType::kPassport, PiiType::kDriverLicense, PiiType::kPersonName,
                    PiiType::kAddress, PiiType::kSecret}) {
    PiiOptions only{.current_year = 2025};
    only.enabled.fill(false);
    only.enabled[static_cast<int>(t)] = true;
    const Redaction r = redact_pii(text, only);
    EXPECT_EQ(r.counts.total(), r.counts[t]) << to_string(t);
    EXPECT_EQ(r.counts[t], t == PiiType::kPersonName ? 2 : 1) << to_string(t);
  }
  const Redaction strict = redact_pii(text, {.min_confidence = 0.7, .current_year = 2025});
  EXPECT_EQ(strict.counts[PiiType::kPersonName], 1);  // 김철수 과장 (0.6) stays
  EXPECT_NE(strict.text.find("김철수 과장"), std::string::npos);
  EXPECT_EQ(strict.counts.total(), 5);
}

// Tables as ingest writes them: a column headed 성명 or 주소 labels every
// cell below it.
TEST(Pii, TableColumnsLabelTheirCells) {
  EXPECT_EQ(redact("| 성명 | 주소 | 연락처 |\n| --- | --- | --- |\n"
                   "| 홍길동 | 서울특별시 강남구 테헤란로 123 | 010-1234-5678 |\n"
                   "| 남궁민수 | 테헤란로 45 | 없음 |"),
            "| 성명 | 주소 | 연락처 |\n| --- | --- | --- |\n"
            "| <PERSON_NAME> | <ADDRESS> | <PHONE> |\n"
            "| <PERSON_NAME> | <ADDRESS> | 없음 |");
  // A label inside the column is a label, and labels its neighbour.
  EXPECT_EQ(redact("| 성명 | 주소 |\n| --- | --- |\n| 예금주 | 김철수 |"),
            "| 성명 | 주소 |\n| --- | --- |\n| 예금주 | <PERSON_NAME> |");
  EXPECT_DOUBLE_EQ(confidence_of("| 주소 |\n| --- |\n| 테헤란로 45 |", PiiType::kAddress), 0.9);
  // Every context word counts from the column header too.
  EXPECT_EQ(
      redact("| 계좌번호 | 여권번호 | 사업자등록번호 | 운전면허 |\n| --- | --- | --- | --- |\n"
             "| 110123456789 | M12345678 | 2208162517 | 11-17-123456-01 |\n"
             "| 3333012345678 | S98765432 | 2208162517 | 12-20-654321-02 |"),
      "| 계좌번호 | 여권번호 | 사업자등록번호 | 운전면허 |\n| --- | --- | --- | --- |\n"
      "| <ACCOUNT> | <PASSPORT> | <BRN> | <DRIVER_LICENSE> |\n"
      "| <ACCOUNT> | <PASSPORT> | <BRN> | <DRIVER_LICENSE> |");
  // However far down the table: a payroll of 300 rows.
  std::string payroll = "| 번호 | 계좌번호 | 예금주 |\n| --- | --- | --- |";
  for (int i = 0; i < 300; ++i) payroll += fmt::format("\n| {} | 110{:09d} | 김철수 |", i, i);
  const Redaction r = redact_pii(payroll, {.current_year = 2025});
  EXPECT_EQ(r.counts[PiiType::kBankAccount], 300);
  EXPECT_EQ(r.counts[PiiType::kPersonName], 300);
  EXPECT_EQ(r.counts.total(), 600);
  expect_untouched({
      "| 주문번호 | 모델명 |\n| --- | --- |\n| 110123456789 | M12345678 |",
      "| 항목 | 비고 |\n| --- | --- |\n| 김치 | 홍보 |",      // no name column
      "| 이름 | 설명 |\n| --- | --- |\n| 정보보호 | 보안 |",  // four syllables, 정 + 3
      "| 성명 |\n| --- |\n| 미정 |",                          // no surname
      "| 성명 | 비고 |\n| 홍길동 | 없음 |",                   // no rule row: no header
  });
}

// Text cut from the pieces the detectors look for, and random bytes: spans
// stay inside the text, in order, without overlaps, whatever the input.
TEST(Pii, AnyTextGivesOrderedSpansInBounds) {
  // clang-format off
  const char* pieces[] = {
      "성명", ": ", "홍길동", "님", " 과장", "|", " ", "\n", ". ", "서울특별시", "강남구",
      "테헤란로", "123", "-", "4층", "(", ")", "password=", "비밀번호는 ", "hunter2024",
      "M12345678", "여권", "11-17-123456-01", "계좌", "은행", "1234567890", "AKIA",
      "IOSFODNN7EXAMPLE", "\xFF", "\xE3\x84", "：", "name: ", "John Smith", "@", "a.b",
      "010-1234-5678", "| 계좌번호 | ", "| 성명 | 주소 |", "| --- |", "| --- | --- |", "\n| ",
      " |", " | ", "110123456789"};
  // clang-format on
  std::mt19937 rng(7);
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    const int n = 1 + static_cast<int>(rng() % 12);
    for (int k = 0; k < n; ++k) {
      if (rng() % 8 == 0) {
        text += static_cast<char>(rng() % 256);
      } else {
        text += pieces[rng() % std::size(pieces)];
      }
    }
    const auto matches = find_pii(text, {.min_confidence = 0, .current_year = 2025});
    std::size_t last_end = 0;
    for (const PiiMatch& m : matches) {
      ASSERT_LE(last_end, m.begin) << text;
      ASSERT_LT(m.begin, m.end) << text;
      ASSERT_LE(m.end, text.size()) << text;
      last_end = m.end;
    }
  }
}

}  // namespace
}  // namespace enclave
