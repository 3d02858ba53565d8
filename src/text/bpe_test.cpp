#include "text/bpe.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "text/bpe_trainer.h"
#include "text/default_corpus.h"
#include "text/pre_tokenizers.h"
#include "text/tokenizer_json_testing.h"

namespace enclave {
namespace {

using testing::expect_error;
using Ids = std::vector<TokenId>;

BpeModel parse(const std::string& json,
               std::size_t cache_capacity = BpeWordCache::kDefaultCapacity) {
  static testing::JsonDocs docs;
  return BpeModel::from_json(docs.parse(json, "tokenizer.json", "model"), cache_capacity);
}

Ids encode(const BpeModel& m, std::string_view word) {
  Ids out;
  m.encode_word(word, out);
  return out;
}

const std::string kVocab =
    R"("vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "aa": 6})";

TEST(Bpe, AppliesLowestRankFirst) {
  const BpeModel bc_first =
      parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": ["b c", "a b", "a bc"]})");
  EXPECT_EQ(encode(bc_first, "abc"), (Ids{5}));
  EXPECT_EQ(encode(bc_first, "abcab"), (Ids{5, 3}));
  EXPECT_EQ(bc_first.n_merges(), 3u);
  const BpeModel ab_first =
      parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": [["a", "b"], ["b", "c"]]})");
  EXPECT_EQ(encode(ab_first, "abc"), (Ids{3, 2}));  // no "ab c" merge: stuck after ab
  EXPECT_EQ(encode(ab_first, "bcab"), (Ids{4, 3}));
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  const BpeModel m = parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": ["a a"]})");
  EXPECT_EQ(encode(m, "aaa"), (Ids{6, 0}));
  EXPECT_EQ(encode(m, "aaaa"), (Ids{6, 6}));
}

TEST(Bpe, IgnoreMergesUsesWholeWord) {
  EXPECT_EQ(
      encode(parse(R"({"type": "BPE", "ignore_merges": true, )" + kVocab + R"(, "merges": []})"),
             "abc"),
      (Ids{5}));
  EXPECT_EQ(
      encode(parse(R"({"type": "BPE", "ignore_merges": false, )" + kVocab + R"(, "merges": []})"),
             "abc"),
      (Ids{0, 1, 2}));
}

TEST(Bpe, UnknownCharacters) {
  const std::string vocab =
      R"("vocab": {"<unk>": 0, "x": 1, "y": 2, "<0xC3>": 3, "<0xA9>": 4}, "merges": [])";
  EXPECT_EQ(encode(parse(R"({"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", )" +
                         vocab + "}"),
                   "xéy"),
            (Ids{1, 3, 4, 2}));
  // No byte pieces for 한 (ED 95 9C): falls back to unk.
  EXPECT_EQ(encode(parse(R"({"type": "BPE", "byte_fallback": true, "unk_token": "<unk>", )" +
                         vocab + "}"),
                   "x한"),
            (Ids{1, 0}));
  EXPECT_EQ(
      encode(parse(R"({"type": "BPE", "fuse_unk": true, "unk_token": "<unk>", )" + vocab + "}"),
             "ééyé"),
      (Ids{0, 2, 0}));
  EXPECT_EQ(
      encode(parse(R"({"type": "BPE", "fuse_unk": false, "unk_token": "<unk>", )" + vocab + "}"),
             "ééy"),
      (Ids{0, 0, 2}));
  EXPECT_EQ(encode(parse(R"({"type": "BPE", )" + vocab + "}"), "xéy"),
            (Ids{1, 2}));  // dropped, as HF
}

TEST(Bpe, PiecesWithSpacesInArrayMerges) {
  const BpeModel m =
      parse(R"({"type": "BPE", "vocab": {"a": 0, " ": 1, "a ": 2}, "merges": [["a", " "]]})");
  EXPECT_EQ(encode(m, "a a"), (Ids{2, 0}));
  EXPECT_EQ(m.piece_to_id("a "), 2);
  EXPECT_EQ(*m.id_to_piece(2), "a ");
  EXPECT_EQ(m.id_to_piece(3), nullptr);
  EXPECT_EQ(m.id_limit(), 3u);
}

TEST(Bpe, BadInput) {
  expect_error([] { parse(R"({"type": "WordPiece", "vocab": {}})"); }, ErrorKind::kUnsupported,
               {"tokenizer.json", "model.type", "WordPiece"});
  expect_error([] { parse(R"({"type": "Unigram", "vocab": []})"); }, ErrorKind::kUnsupported,
               {"model.type"});
  expect_error([] { parse(R"({"vocab": {"a": 0}})"); }, ErrorKind::kInvalidInput,
               {"model.type", "missing"});
  expect_error([] { parse(R"({"type": "BPE", "merges": []})"); }, ErrorKind::kInvalidInput,
               {"model.vocab", "missing"});
  expect_error([] { parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": ["a b", "a z"]})"); },
               ErrorKind::kInvalidInput, {"model.merges[1]", "'z'"});
  expect_error([] { parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": ["c a"]})"); },
               ErrorKind::kInvalidInput, {"model.merges[0]", "'ca'"});
  expect_error([] { parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": ["a  b"]})"); },
               ErrorKind::kInvalidInput, {"model.merges[0]", "one space"});
  expect_error([] { parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": [7]})"); },
               ErrorKind::kInvalidInput, {"model.merges[0]", "number"});
  expect_error([] { parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": [["a"]]})"); },
               ErrorKind::kInvalidInput, {"model.merges[0]", "pair"});
  expect_error([] { parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": "a b"})"); },
               ErrorKind::kInvalidInput, {"model.merges", "expected an array"});
  expect_error([] { parse(R"({"type": "BPE", "vocab": {"a": "0"}, "merges": []})"); },
               ErrorKind::kInvalidInput, {"model.vocab.a", "expected an integer"});
  expect_error([] { parse(R"({"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []})"); },
               ErrorKind::kInvalidInput, {"model.vocab.b", "also used by 'a'"});
  expect_error([] { parse(R"({"type": "BPE", "vocab": {"a": -1}, "merges": []})"); },
               ErrorKind::kInvalidInput, {"model.vocab.a", "outside"});
  expect_error([] { parse(R"({"type": "BPE", "vocab": {"a": 2000000000}, "merges": []})"); },
               ErrorKind::kInvalidInput, {"model.vocab.a", "outside"});
  expect_error([] { parse(R"({"type": "BPE", "vocab": ["a"], "merges": []})"); },
               ErrorKind::kInvalidInput, {"model.vocab", "expected an object"});
  expect_error(
      [] { parse(R"({"type": "BPE", "unk_token": "<unk>", )" + kVocab + R"(, "merges": []})"); },
      ErrorKind::kInvalidInput, {"model.unk_token", "<unk>"});
  expect_error([] { parse(R"({"type": "BPE", "dropout": 0.1, )" + kVocab + R"(, "merges": []})"); },
               ErrorKind::kUnsupported, {"model.dropout"});
  expect_error(
      [] {
        parse(R"({"type": "BPE", "continuing_subword_prefix": "##", )" + kVocab +
              R"(, "merges": []})");
      },
      ErrorKind::kUnsupported, {"model.continuing_subword_prefix"});
}

// The words of the default corpus as the trained byte-level tokenizer's
// pre-tokenizer cuts them, and that tokenizer's model JSON.
struct TrainedWords {
  std::string model_json;
  std::vector<std::string> words;
};

const TrainedWords& trained_words() {
  static const TrainedWords words = [] {
    BpeTrainOptions opts;
    opts.vocab_size = 1024;
    const nlohmann::json doc = nlohmann::json::parse(train_byte_level_bpe(default_corpus(), opts));
    testing::JsonDocs docs;
    const PreTokenizer pre =
        PreTokenizer::from_json(docs.parse(doc["pre_tokenizer"].dump(), "t", "pre_tokenizer"));
    TrainedWords out{doc["model"].dump(), {}};
    for (const std::string& text : default_corpus()) {
      for (std::string& w : pre.pre_tokenize(text, /*at_text_start=*/true))
        out.words.push_back(std::move(w));
    }
    return out;
  }();
  return words;
}

Ids encode_all(const BpeModel& m, const std::vector<std::string>& words) {
  Ids out;
  for (const std::string& w : words) m.encode_word(w, out);
  return out;
}

TEST(Bpe, WordCacheGivesTheIdsOfTheMergeLoop) {
  const TrainedWords& t = trained_words();
  ASSERT_GT(t.words.size(), 3000u);
  const BpeModel uncached = parse(t.model_json, /*cache_capacity=*/0);
  const BpeModel cached = parse(t.model_json);
  const Ids expected = encode_all(uncached, t.words);
  EXPECT_EQ(uncached.n_cached_words(), 0u);
  EXPECT_EQ(encode_all(cached, t.words), expected);  // fills the cache
  const std::size_t n_cached = cached.n_cached_words();
  EXPECT_GT(n_cached, 500u);
  EXPECT_EQ(encode_all(cached, t.words), expected);  // every word from the cache
  EXPECT_EQ(cached.n_cached_words(), n_cached);
  // A full cache keeps its words and still encodes the rest.
  const BpeModel small = parse(t.model_json, /*cache_capacity=*/64);
  EXPECT_EQ(encode_all(small, t.words), expected);
  EXPECT_EQ(encode_all(small, t.words), expected);
  EXPECT_LE(small.n_cached_words(), 64u);
  EXPECT_GT(small.n_cached_words(), 0u);
}

TEST(Bpe, WordCacheSharedByThreadsGivesTheSameIds) {
  const TrainedWords& t = trained_words();
  const BpeModel uncached = parse(t.model_json, /*cache_capacity=*/0);
  const BpeModel cached = parse(t.model_json);
  const Ids expected = encode_all(uncached, t.words);
  std::vector<Ids> got(4);
  std::vector<std::thread> threads;
  for (std::size_t k = 0; k < got.size(); ++k) {
    threads.emplace_back([&, k] {
      for (int pass = 0; pass < 3; ++pass) got[k] = encode_all(cached, t.words);
    });
  }
  for (std::thread& th : threads) th.join();
  for (const Ids& ids : got) EXPECT_EQ(ids, expected);
}

TEST(Bpe, WordCacheSkipsLongWords) {
  const BpeModel m = parse(R"({"type": "BPE", )" + kVocab + R"(, "merges": ["a b", "ab c"]})");
  const std::string long_word(BpeWordCache::kMaxWordBytes + 1, 'a');
  EXPECT_EQ(encode(m, long_word), Ids(long_word.size(), 0));
  EXPECT_EQ(m.n_cached_words(), 0u);
  EXPECT_EQ(encode(m, "abcab"), (Ids{5, 3}));
  EXPECT_EQ(m.n_cached_words(), 1u);
  EXPECT_EQ(encode(m, "abcab"), (Ids{5, 3}));
}

TEST(BpeWordCache, FindsWhatWasInsertedUpToItsCapacity) {
  BpeWordCache cache(/*capacity=*/0);
  cache.insert("word", Ids{1, 2});
  Ids out{7};
  EXPECT_FALSE(cache.find("word", out));
  EXPECT_EQ(cache.size(), 0u);

  BpeWordCache big;
  big.insert("word", Ids{1, 2});
  big.insert("empty", Ids{});
  EXPECT_TRUE(big.find("word", out));
  EXPECT_EQ(out, (Ids{7, 1, 2}));  // appended
  EXPECT_TRUE(big.find("empty", out));
  EXPECT_EQ(out, (Ids{7, 1, 2}));
  EXPECT_FALSE(big.find("other", out));
  EXPECT_EQ(big.size(), 2u);
  EXPECT_GE(big.capacity(), BpeWordCache::kDefaultCapacity);
  for (std::size_t i = 0; i < big.capacity() * 3 / 2; ++i)
    big.insert("w" + std::to_string(i), Ids{static_cast<TokenId>(i)});
  EXPECT_LE(big.size(), big.capacity());
  EXPECT_GT(big.size(), big.capacity() * 9 / 10);
}

}  // namespace
}  // namespace enclave
