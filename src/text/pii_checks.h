// The checks that turn a digit pattern into a confident PII match: Luhn for
// payment cards, the birth date, gender digit and check digit of Korean
// resident registration numbers (주민등록번호), and the check digit of Korean
// business registration numbers (사업자등록번호).
// Thread safety: stateless; safe from any thread.
#pragma once

#include <string_view>

namespace enclave {

// Luhn (ISO/IEC 7812-1) over the digits of s (other characters ignored).
bool luhn_valid(std::string_view digits);

enum class RrnCheck {
  kInvalid,        // not a possible RRN: bad length, date or gender digit
  kValidNoCheck,   // possible RRN whose check digit does not match (numbers
                   // issued from October 2020 carry none)
  kValidChecksum,  // possible RRN with a matching check digit
};

// 13 digits YYMMDD-GNNNNNN (separators stripped by the caller): a real date
// in the century the gender digit G gives (1,2,5,6: 1900s; 3,4,7,8: 2000s;
// 9,0: 1800s), not in the future. current_year bounds the future.
RrnCheck check_rrn(std::string_view digits, int current_year);

// 10 digits; weights 1,3,7,1,3,7,1,3,5 plus the tens of 5*d9, mod 10.
bool business_number_valid(std::string_view digits);

}  // namespace enclave
