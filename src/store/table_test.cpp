#include "store/table.h"

#include <gtest/gtest.h>

namespace enclave::store {
namespace {

TEST(DisplayWidth, CountsTerminalCells) {
  EXPECT_EQ(display_width("abc"), 3u);
  EXPECT_EQ(display_width("어디"), 4u);     // Hangul syllables are wide
  EXPECT_EQ(display_width("e\u0301"), 1u);  // a combining accent takes no cell
  EXPECT_EQ(display_width("\xff"), 1u);     // an invalid byte prints as one character
  EXPECT_EQ(display_width("日本語 ok"), 9u);
}

// The bug: `monitor requests` cut prompts at 40 bytes, splitting a Hangul
// syllable into U+FFFD ("어디\xec\x97").
TEST(Shorten, NeverCutsInsideACharacter) {
  const std::string korean = "어디에서 왔어요? 한국어 문장이 길게 이어집니다";
  for (std::size_t cells = 0; cells < 50; ++cells) {
    const std::string s = shorten(korean, cells);
    EXPECT_LE(display_width(s), cells);
    // Every byte of the result decodes: no replacement needed.
    std::size_t pos = 0;
    while (pos < s.size()) {
      const auto b = static_cast<unsigned char>(s[pos]);
      const std::size_t n = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
      ASSERT_LE(pos + n, s.size()) << "cut inside a character at " << cells << " cells";
      pos += n;
    }
  }
  EXPECT_EQ(shorten("어디에서", 5), "어디\u2026");
  EXPECT_EQ(shorten("short", 10), "short");
  EXPECT_EQ(shorten("a\nb\tc", 10), "a b c");
}

TEST(Table, ColumnsFitTheirContent) {
  Table t({{"NAME"}, {"N", Align::kRight}, {"NOTE"}});
  t.add_row({"tiny", "1", ""});
  t.add_row({"한국어-모델", "12", "adapter of tiny@1"});
  EXPECT_EQ(t.render(),
            "NAME          N  NOTE\n"
            "tiny          1\n"
            "한국어-모델  12  adapter of tiny@1\n");
}

}  // namespace
}  // namespace enclave::store
