#include "text/pii.h"

#include <gtest/gtest.h>

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
            "입금 계좌: 신한은행 <ACCOUNT> 예금주 홍길동");
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
}

TEST(Pii, MatchOffsetsPointAtTheSpan) {
  const std::string text = "전화: 010-1234-5678";
  auto m = find_pii(text, {.current_year = 2025});
  ASSERT_EQ(m.size(), 1u);
  EXPECT_EQ(text.substr(m[0].begin, m[0].end - m[0].begin), "010-1234-5678");
  EXPECT_GE(m[0].confidence, 0.9);
}

}  // namespace
}  // namespace enclave
