#include "text/bpe_trainer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "core/json.h"
#include "text/bpe_tokenizer.h"
#include "text/chat_sp_testing.h"
#include "text/default_corpus.h"
#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using testing::expect_error;

TEST(BpeTrainer, DefaultCorpusIsSizedAndVaried) {
  std::size_t bytes = 0;
  std::string all;
  for (const std::string& doc : default_corpus()) all += doc;
  bytes = all.size();
  EXPECT_GE(bytes, 20000u);
  EXPECT_LE(bytes, 40000u);
  for (const char* must : {"안녕하세요", "👍🏽", "👨‍👩‍👧‍👦", "int main()",
                           "def ", "SELECT", "3.14159265"}) {
    EXPECT_NE(all.find(must), std::string::npos) << must;
  }
}

TEST(BpeTrainer, DeterministicFastAndLoadable) {
  BpeTrainOptions opts;
  opts.vocab_size = 1024;
  const auto start = std::chrono::steady_clock::now();
  const std::string a = train_byte_level_bpe(default_corpus(), opts);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("trained vocab 1024 on the default corpus in %.3f s\n", seconds);
  EXPECT_LT(seconds, 2.0);
  EXPECT_EQ(train_byte_level_bpe(default_corpus(), opts), a);

  const nlohmann::json doc = parse_json(a, "trained");
  EXPECT_EQ(doc["model"]["vocab"].size() + doc["added_tokens"].size(), 1024u);
  EXPECT_EQ(doc["model"]["ignore_merges"], true);
  EXPECT_EQ(doc["added_tokens"][0]["content"], "<|begin_of_text|>");
  EXPECT_EQ(doc["added_tokens"][0]["id"], 1019);

  auto t = parse_bpe_tokenizer(a, "trained", {});
  EXPECT_EQ(t->kind(), "bpe-byte-level");
  EXPECT_EQ(t->vocab_size(), 1024u);
  EXPECT_EQ(t->bos_id(), 1019);
  const std::string text = "The lighthouse keeper wrote 1234 notes.";
  const std::vector<TokenId> ids = t->encode(text);
  EXPECT_EQ(ids.front(), 1019);
  EXPECT_LT(ids.size(), text.size() / 2);  // the merges compress English prose
  EXPECT_EQ(t->decode(ids), text);
}

TEST(BpeTrainer, LargeVocabularyStopsWhenPairsRunOut) {
  BpeTrainOptions opts;
  opts.vocab_size = 8192;
  auto t = parse_bpe_tokenizer(train_byte_level_bpe(default_corpus(), opts), "trained", {});
  EXPECT_LE(t->vocab_size(), 8192u);
  EXPECT_GT(t->vocab_size(), 1024u);
  for (std::string text : {"한국어 문장과 emoji 👍🏽 👨‍👩‍👧",
                           "  spaces\t\ttabs\r\nnewlines \n", "\xFF\xFE"}) {
    std::string expected = text == "\xFF\xFE" ? "\xEF\xBF\xBD\xEF\xBF\xBD" : text;
    EXPECT_EQ(t->decode(t->encode(text)), expected);
  }
}

TEST(BpeTrainer, WriteDefaultTokenizerMakesALoadableDirectory) {
  testing::ScratchDir dir("default_tokenizer");
  write_default_tokenizer(dir.path(), 512);
  auto t = load_tokenizer(dir.path());
  EXPECT_EQ(t->vocab_size(), 512u);
  EXPECT_EQ(t->id_to_piece(*t->bos_id()), "<|begin_of_text|>");
  EXPECT_EQ(t->id_to_piece(*t->eos_id()), "<|end_of_text|>");
  // eos, then <|eot_id|> because the Llama 3 chat template uses it.
  EXPECT_EQ(t->stop_ids(), (std::vector<TokenId>{*t->eos_id(), *t->piece_to_id("<|eot_id|>")}));
  const std::string chat = "<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>";
  const std::vector<TokenId> ids = t->encode(chat, false);
  EXPECT_EQ(ids.front(), *t->piece_to_id("<|start_header_id|>"));
  EXPECT_EQ(t->decode(ids, /*skip_special=*/false), chat);
  EXPECT_EQ(t->decode(ids), "user\n\nHi!");
  const nlohmann::json config = read_json_file(dir.path() / "tokenizer_config.json");
  EXPECT_EQ(config["chat_template"], kLlama3ChatTemplate);
}

TEST(BpeTrainer, BadOptions) {
  BpeTrainOptions opts;
  opts.vocab_size = 260;
  expect_error([&] { train_byte_level_bpe({"x"}, opts); }, ErrorKind::kInvalidInput,
               {"vocab_size 260"});
  opts.vocab_size = 300;
  opts.special_tokens = {"<a>", "<a>"};
  expect_error([&] { train_byte_level_bpe({"x"}, opts); }, ErrorKind::kInvalidInput,
               {"<a>", "repeated"});
  opts.special_tokens = {"<a>"};
  expect_error([&] { train_byte_level_bpe({"x"}, opts); }, ErrorKind::kInvalidInput,
               {"bos_token", "<|begin_of_text|>"});
  testing::ScratchDir dir("default_tokenizer_bad");
  expect_error([&] { write_default_tokenizer(dir.path(), 100); }, ErrorKind::kInvalidInput,
               {"vocab_size 100"});
}

}  // namespace
}  // namespace enclave
