#include <gtest/gtest.h>

#include <chrono>

#include "text/bpe_tokenizer.h"
#include "text/bpe_trainer.h"
#include "text/byte_level.h"
#include "text/chat_sp_testing.h"
#include "text/tokenizer.h"
#include "text/utf8.h"

namespace enclave {
namespace {

using Ids = std::vector<TokenId>;

// A byte-level tokenizer trained on the built-in corpus, shared by the tests.
const Tokenizer& trained() {
  static const std::unique_ptr<Tokenizer> t = [] {
    BpeTrainOptions opts;
    opts.vocab_size = 1024;
    return parse_bpe_tokenizer(
        train_byte_level_bpe({"Hello world, hello stream. 안녕하세요 👍"}, opts),
        "trained/tokenizer.json", {});
  }();
  return *t;
}

// The single-byte token ids of text, so that every multi-byte character is
// split across tokens.
Ids byte_ids(const Tokenizer& t, std::string_view text) {
  Ids ids;
  for (char c : text) ids.push_back(*t.piece_to_id(byte_level_char(static_cast<std::uint8_t>(c))));
  return ids;
}

// Streams ids; checks no chunk holds a broken character; returns the chunks.
std::vector<std::string> stream(const Tokenizer& t, const Ids& ids) {
  StreamDecoder decoder(t);
  std::vector<std::string> chunks;
  for (TokenId id : ids) {
    chunks.push_back(decoder.push(id));
    EXPECT_TRUE(is_valid_utf8(chunks.back()));
  }
  chunks.push_back(decoder.flush());
  return chunks;
}

std::string join(const std::vector<std::string>& chunks) {
  std::string out;
  for (const std::string& c : chunks) out += c;
  return out;
}

TEST(StreamDecoder, EmojiFedByteByByteNeverBreaksACharacter) {
  const std::string text = "ok 👍🏽 👨‍👩‍👧‍👦 한국어 done";
  const Ids ids = byte_ids(trained(), text);
  const std::vector<std::string> chunks = stream(trained(), ids);
  EXPECT_EQ(join(chunks), text);
  EXPECT_EQ(join(chunks), trained().decode(ids));
  for (const std::string& c : chunks) EXPECT_EQ(c.find(kReplacementChar), std::string::npos) << c;
  // The first three bytes of 👍 (F0 9F 91) give nothing; the fourth gives the emoji.
  EXPECT_EQ(chunks[3], "");
  EXPECT_EQ(chunks[5], "");
  EXPECT_EQ(chunks[6], "👍");
}

TEST(StreamDecoder, MatchesDecodeOnEncodedText) {
  const std::string text = "Hello world, hello stream.\n\n안녕하세요 👍 again";
  const Ids ids = trained().encode(text);
  EXPECT_EQ(join(stream(trained(), ids)), trained().decode(ids));
}

TEST(StreamDecoder, InvalidBytesBecomeReplacementCharacters) {
  Ids ids = byte_ids(trained(), "a");
  ids.push_back(*trained().piece_to_id(byte_level_char(0xFF)));
  for (TokenId id : byte_ids(trained(), "b\xE2\x82")) ids.push_back(id);
  const std::vector<std::string> chunks = stream(trained(), ids);
  EXPECT_EQ(join(chunks),
            "a" + std::string(kReplacementChar) + "b" + std::string(kReplacementChar));
  EXPECT_EQ(join(chunks), trained().decode(ids));
  EXPECT_EQ(chunks.back(), std::string(kReplacementChar));  // the truncated € only at flush
}

// SentencePiece-style decoding strips the first piece's space: streaming must
// not strip it again after a skipped special token.
TEST(StreamDecoder, SentencePieceSpacesSurviveSkippedSpecialTokens) {
  testing::ScratchDir dir("stream_sp");
  const std::string vocab_json = [] {
    std::string v = R"({"<unk>": 0, "<s>": 1, "</s>": 2)";
    for (int b = 0; b < 256; ++b)
      v += ", \"<0x" + std::string(1, "0123456789ABCDEF"[b / 16]) + "0123456789ABCDEF"[b % 16] +
           ">\": " + std::to_string(3 + b);
    v += R"(, "▁Hello": 259, "▁world": 260, "▁": 261})";
    return v;
  }();
  const std::string doc =
      R"({"added_tokens": [{"id": 1, "content": "<s>", "special": true}, {"id": 2, "content": "</s>", "special": true}],
    "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"}, {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
    "decoder": {"type": "Sequence", "decoders": [{"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
    "model": {"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", "merges": [], "vocab": )" +
      vocab_json + "}}";
  auto t = parse_bpe_tokenizer(doc, "sp/tokenizer.json", {});
  const Ids ids = {1, 259, 2, 260, 261, 3 + 0xF0, 3 + 0x9F, 3 + 0x91, 3 + 0x8D, 260};
  const std::vector<std::string> chunks = stream(*t, ids);
  EXPECT_EQ(join(chunks), "Hello world 👍 world");
  EXPECT_EQ(join(chunks), t->decode(ids));
  EXPECT_EQ(chunks[1], "Hello");
  EXPECT_EQ(chunks[3], " world");
}

TEST(StreamDecoder, CostPerTokenStaysConstant) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "hello world 👍 ";
  const Ids ids = trained().encode(text, false);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(join(stream(trained(), ids)), trained().decode(ids));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("streamed %zu tokens in %.3f s\n", ids.size(), seconds);
  EXPECT_LT(seconds, 2.0);  // a decoder that re-decoded everything would be quadratic
}

}  // namespace
}  // namespace enclave
