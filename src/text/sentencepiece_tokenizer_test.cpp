#include "text/sentencepiece_tokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <thread>

#include "core/error.h"
#include "text/chat_sp_testing.h"
#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using testing::ScratchDir;

// One model for the whole suite: training takes a fraction of a second but
// there is no reason to repeat it.
class SentencePieceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new ScratchDir("sp_tokenizer");
    model_ = new std::filesystem::path(testing::train_test_sentencepiece_model(dir_->path()));
  }
  static void TearDownTestSuite() {
    delete model_;
    delete dir_;
  }
  static std::unique_ptr<Tokenizer> load(const SpecialTokenConfig& specials = {}) {
    return load_sentencepiece_tokenizer(*model_, specials);
  }
  static ScratchDir* dir_;
  static std::filesystem::path* model_;
};
ScratchDir* SentencePieceTest::dir_ = nullptr;
std::filesystem::path* SentencePieceTest::model_ = nullptr;

std::vector<std::string> pieces_of(const Tokenizer& tok, const std::vector<TokenId>& ids) {
  std::vector<std::string> out;
  for (TokenId id : ids) out.push_back(tok.id_to_piece(id));
  return out;
}

TEST_F(SentencePieceTest, ModelBasics) {
  auto tok = load();
  EXPECT_EQ(tok->kind(), "sentencepiece");
  EXPECT_GT(tok->vocab_size(), 256u + 3u);
  EXPECT_EQ(tok->bos_id(), 1);
  EXPECT_EQ(tok->eos_id(), 2);
  EXPECT_EQ(tok->stop_ids(), (std::vector<TokenId>{2}));
  EXPECT_EQ(tok->id_to_piece(0), "<unk>");
  EXPECT_EQ(tok->piece_to_id("<s>"), 1);
  EXPECT_TRUE(tok->piece_to_id("<0x0A>").has_value());
  EXPECT_EQ(tok->piece_to_id("no-such-piece-here"), std::nullopt);
  EXPECT_TRUE(tok->is_special(0));
  EXPECT_TRUE(tok->is_special(1));
  EXPECT_TRUE(tok->is_special(*tok->piece_to_id("<|im_end|>")));
  EXPECT_FALSE(tok->is_special(*tok->piece_to_id("<tool>")));
  EXPECT_FALSE(tok->is_special(*tok->piece_to_id("<0x41>")));
  EXPECT_FALSE(tok->is_special(-1));
}

TEST_F(SentencePieceTest, AddsBosButNotEosByDefault) {
  auto tok = load();
  std::vector<TokenId> plain = tok->encode("Hello world", /*add_special=*/false);
  std::vector<TokenId> with = tok->encode("Hello world");
  ASSERT_EQ(with.size(), plain.size() + 1);
  EXPECT_EQ(with.front(), 1);
  EXPECT_EQ(std::vector<TokenId>(with.begin() + 1, with.end()), plain);
  EXPECT_EQ(pieces_of(*tok, plain).front().rfind("\xE2\x96\x81", 0), 0u)  // "▁"
      << "dummy prefix expected";

  SpecialTokenConfig specials;
  specials.add_bos_token = false;
  specials.add_eos_token = true;
  std::vector<TokenId> eos_only = load(specials)->encode("Hello world");
  ASSERT_EQ(eos_only.size(), plain.size() + 1);
  EXPECT_EQ(eos_only.back(), 2);
  EXPECT_NE(eos_only.front(), 1);
}

TEST_F(SentencePieceTest, RoundTrips) {
  auto tok = load();
  for (std::string text :
       {"Hello world's  123456 !!\n\n x", "안녕하세요, 한국어 토큰 시험입니다.",
        "👍🏽 family 👨‍👩‍👧 done", "tabs\tand\r\nnewlines\n\n\n  and spaces  ",
        " leading space", "", "龘 rare ideograph", "<tool> call"}) {
    std::vector<TokenId> ids = tok->encode(text);
    EXPECT_EQ(tok->decode(ids), text) << "ids: " << ids.size();
  }
}

TEST_F(SentencePieceTest, InvalidUtf8BecomesReplacementCharacter) {
  auto tok = load();
  std::string bad = "ok \xFF then \xE2\x82 and \xF0\x9F\x91";
  std::string expected = "ok \xEF\xBF\xBD then \xEF\xBF\xBD and \xEF\xBF\xBD";
  EXPECT_EQ(tok->decode(tok->encode(bad)), expected);
}

TEST_F(SentencePieceTest, ByteFallbackForUnknownCharacters) {
  auto tok = load();
  std::vector<TokenId> ids = tok->encode("龘", false);
  // "▁" then the three bytes of U+9F98.
  std::vector<std::string> pieces = pieces_of(*tok, ids);
  ASSERT_GE(pieces.size(), 3u);
  EXPECT_EQ(std::vector<std::string>(pieces.end() - 3, pieces.end()),
            (std::vector<std::string>{"<0xE9>", "<0xBE>", "<0x98>"}));
  // A lone lead byte decodes to U+FFFD, never to broken UTF-8.
  EXPECT_EQ(tok->decode({*tok->piece_to_id("<0xE9>")}), "\xEF\xBF\xBD");
}

TEST_F(SentencePieceTest, ParseSpecialSplitsOnControlSymbols) {
  auto tok = load();
  TokenId im_start = *tok->piece_to_id("<|im_start|>");
  TokenId im_end = *tok->piece_to_id("<|im_end|>");
  std::string text = "<|im_start|>user\nHi<|im_end|></s>";
  std::vector<TokenId> ids = tok->encode(text, false, /*parse_special=*/true);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids.front(), im_start);
  EXPECT_EQ(ids[ids.size() - 2], im_end);
  EXPECT_EQ(ids.back(), 2);
  // Each text segment gets SentencePiece's dummy prefix, so "user" after a
  // special decodes with its space, as Llama 2's (legacy) tokenizer does.
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/false), "<|im_start|> user\nHi<|im_end|></s>");
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/true), "user\nHi");

  std::vector<TokenId> literal = tok->encode(text, false, /*parse_special=*/false);
  for (TokenId id : literal) EXPECT_FALSE(tok->is_special(id)) << tok->id_to_piece(id);
  EXPECT_EQ(tok->decode(literal), text);
}

TEST_F(SentencePieceTest, DecodeKeepsSpaceAfterKeptSpecial) {
  // As LlamaTokenizerFast: "<s> Hello" with specials kept, "Hello" without.
  auto tok = load();
  std::vector<TokenId> ids = tok->encode("Hello");
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/false), "<s> Hello");
  EXPECT_EQ(tok->decode(ids, /*skip_special=*/true), "Hello");
}

TEST_F(SentencePieceTest, StopIdsFromGenerationConfigAndChatTemplate) {
  SpecialTokenConfig specials;
  specials.generation_eos_ids = {2, 5};
  specials.chat_template = "{{'<|im_start|>' + message['role'] + '<|im_end|>' }}";
  auto tok = load(specials);
  TokenId im_end = *tok->piece_to_id("<|im_end|>");
  EXPECT_EQ(tok->stop_ids(), (std::vector<TokenId>{2, 5, im_end}));
}

TEST_F(SentencePieceTest, BosEosFromConfig) {
  SpecialTokenConfig specials;
  specials.bos_token = "<|im_start|>";
  specials.eos_token = "<|im_end|>";
  auto tok = load(specials);
  EXPECT_EQ(tok->bos_id(), tok->piece_to_id("<|im_start|>"));
  EXPECT_EQ(tok->eos_id(), tok->piece_to_id("<|im_end|>"));
  EXPECT_EQ(tok->encode("x").front(), *tok->bos_id());
}

TEST_F(SentencePieceTest, RejectsUnknownConfigTokens) {
  SpecialTokenConfig specials;
  specials.bos_token = "<|begin_of_text|>";
  testing::expect_error([&] { load(specials); }, ErrorKind::kInvalidInput, {"bos_token"});
  SpecialTokenConfig far;
  far.generation_eos_ids = {1000000};
  testing::expect_error([&] { load(far); }, ErrorKind::kInvalidInput, {"eos_token_id"});
}

TEST_F(SentencePieceTest, RejectsIdsOutsideVocabulary) {
  auto tok = load();
  TokenId n = static_cast<TokenId>(tok->vocab_size());
  testing::expect_error(
      [&] {
        tok->decode({5, n});
      },
      ErrorKind::kInvalidInput, {"outside the vocabulary"});
  testing::expect_error([&] { tok->decode({-1}); }, ErrorKind::kInvalidInput,
                        {"outside the vocabulary"});
  testing::expect_error([&] { tok->id_to_piece(n); }, ErrorKind::kInvalidInput,
                        {"outside the vocabulary"});
}

TEST_F(SentencePieceTest, EncodesFromManyThreads) {
  auto tok = load();
  const std::string text = "The quick brown fox 👍🏽 한국어 123";
  const std::vector<TokenId> expected = tok->encode(text);
  std::vector<std::thread> threads;
  std::vector<int> ok(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) ok[t] += tok->encode(text) == expected;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok, (std::vector<int>(4, 200)));
}

TEST(SentencePieceLoad, RejectsMissingAndMalformedFiles) {
  ScratchDir dir("sp_bad");
  testing::expect_error([&] { load_sentencepiece_tokenizer(dir.path() / "tokenizer.model", {}); },
                        ErrorKind::kNotFound, {"tokenizer.model"});
  for (std::string bytes :
       {std::string("{\"model\": {}}"), std::string("\x0A\xFF\xFF\xFF", 4), std::string()}) {
    auto file = dir.write("tokenizer.model", bytes);
    testing::expect_error([&] { load_sentencepiece_tokenizer(file, {}); }, ErrorKind::kInvalidInput,
                          {file.string()});
  }
}

TEST(SentencePieceLoad, RejectsTruncatedModel) {
  ScratchDir dir("sp_trunc");
  std::filesystem::path model = testing::train_test_sentencepiece_model(dir.path());
  std::string bytes;
  {
    std::ifstream in(model, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 100u);
  // Every cut must fail cleanly or (at a field boundary) load: never crash.
  int failures = 0;
  for (std::size_t cut = 1; cut < bytes.size(); cut += 37) {
    auto file = dir.write("cut.model", std::string_view(bytes).substr(0, cut));
    try {
      auto tok = load_sentencepiece_tokenizer(file, {});
      EXPECT_EQ(tok->decode(tok->encode("abc")), "abc");
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput) << e.what();
      EXPECT_NE(std::string(e.what()).find("cut.model"), std::string::npos) << e.what();
      ++failures;
    }
  }
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace enclave
