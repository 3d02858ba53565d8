#include "train/dataset.h"

#include <gtest/gtest.h>

#include <cstring>

#include "core/error.h"
#include "core/process_memory.h"
#include "core/scratch_dir_testing.h"
#include "text/bpe_trainer.h"
#include "train/token_cache.h"

namespace enclave::train {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

class DatasetTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::ScratchDir("dataset");
    write_default_tokenizer(dir_->path(), 1024);
    tokenizer_ = load_tokenizer(dir_->path()).release();
  }
  static void TearDownTestSuite() {
    delete tokenizer_;
    delete dir_;
  }
  fs::path write(const std::string& name, const std::string& text) {
    return dir_->write(name, text);
  }
  ExampleBuilder builder(std::int64_t max_length = 256) {
    return ExampleBuilder(*tokenizer_, load_chat_template(dir_->path()), max_length);
  }
  std::string targets_text(const SequenceExample& e) {
    std::vector<TokenId> picked;
    for (std::size_t i = 0; i < e.ids.size(); ++i) {
      if (e.targets[i]) picked.push_back(e.ids[i]);
    }
    return tokenizer_->decode(picked, /*skip_special=*/false);
  }
  static testing::ScratchDir* dir_;
  static Tokenizer* tokenizer_;
};
testing::ScratchDir* DatasetTest::dir_ = nullptr;
Tokenizer* DatasetTest::tokenizer_ = nullptr;

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST_F(DatasetTest, ReadsJsonlWithBlankLinesAndCrlf) {
  fs::path p = write("ok.jsonl", "{\"text\": \"a\"}\r\n\n  \n{\"text\": \"b\"}");
  std::vector<Record> records = read_jsonl(p);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].value["text"], "b");
  EXPECT_EQ(records[1].where, p.string() + ":4");
  // Lines longer than the reader's 64 KB buffer, CRLF split across its edge.
  const std::string big(100000, 'x');
  std::string text;
  for (int i = 0; i < 3; ++i) text += "{\"text\": \"" + big.substr(0, 65535 + i) + "\"}\r\n";
  records = read_jsonl(write("big.jsonl", text + "\n{\"text\": \"" + big + "\"}"));
  ASSERT_EQ(records.size(), 4u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(records[i].value["text"], big.substr(0, 65535 + i));
  EXPECT_EQ(records[3].value["text"], big);
  EXPECT_EQ(records[3].where, (*dir_ / "big.jsonl").string() + ":5");
  // A line too long for the limit is one error however many buffers it spans.
  EXPECT_NE(error_of([&] {
              read_jsonl(write("big2.jsonl", "{}\n" + text), 60000);
            }).find("big2.jsonl:2: line longer than 60000 bytes"),
            std::string::npos);
}

TEST_F(DatasetTest, RejectsBadJsonlNamingTheLine) {
  EXPECT_NE(error_of([&] {
              read_jsonl(write("bad.jsonl", "{\"text\": \"a\"}\n{\"text\": \n"));
            }).find("bad.jsonl:2"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              read_jsonl(write("bom.jsonl", "\xEF\xBB\xBF{\"text\": \"a\"}\n"));
            }).find("byte-order mark"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { read_jsonl(write("arr.jsonl", "[1, 2]\n")); }).find("expected a JSON object"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              read_jsonl(write("utf8.jsonl", "{\"text\": \"\xff\"}\n"));
            }).find("utf8.jsonl:1"),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { read_jsonl(write("nan.jsonl", "{\"text\": NaN}\n")); }).find("nan.jsonl:1"),
      std::string::npos);
  EXPECT_NE(error_of([&] {
              read_jsonl(write("deep.jsonl", std::string(5000, '[') + "\n"));
            }).find("deep.jsonl:1"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              read_jsonl(write("long.jsonl", "{\"text\": \"" + std::string(5000, 'x') + "\"}\n"),
                         1000);
            }).find("longer than 1000 bytes"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_jsonl(write("empty.jsonl", "\n\n")); }).find("no records"),
            std::string::npos);
  try {
    read_jsonl(*dir_ / "missing.jsonl");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
}

TEST_F(DatasetTest, PretrainPacksDocumentsWithEosIntoFixedLengths) {
  std::vector<Record> records = {{json{{"text", "Hello world."}}, "r1"},
                                 {json{{"text", "Another line here."}}, "r2"}};
  BuildStats stats;
  std::vector<SequenceExample> seqs = builder(8).pretrain(records, &stats);
  ASSERT_GE(seqs.size(), 2u);
  EXPECT_EQ(seqs[0].ids.size(), 8u);
  EXPECT_EQ(seqs[0].targets[0], 0);
  EXPECT_EQ(seqs[0].n_targets(), 7);
  std::vector<TokenId> all;
  for (const auto& s : seqs) all.insert(all.end(), s.ids.begin(), s.ids.end());
  EXPECT_EQ(all.front(), *tokenizer_->bos_id());
  EXPECT_EQ(std::count(all.begin(), all.end(), *tokenizer_->eos_id()), 2);
  EXPECT_EQ(stats.n_tokens, static_cast<std::int64_t>(all.size()));
  EXPECT_NE(error_of([&] {
              builder().pretrain({{json{{"text", 3}}, "r9"}});
            }).find("r9: field 'text'"),
            std::string::npos);
}

TEST_F(DatasetTest, SftMessagesTrainOnlyOnAssistantTurns) {
  json messages = json::array({{{"role", "system"}, {"content", "Be brief."}},
                               {{"role", "user"}, {"content", "Reverse: a b"}},
                               {{"role", "assistant"}, {"content", "b a"}},
                               {{"role", "user"}, {"content", "Again"}},
                               {{"role", "assistant"}, {"content", "a b"}}});
  std::vector<SequenceExample> seqs = builder().sft({{json{{"messages", messages}}, "r1"}});
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(targets_text(seqs[0]), "b a<|eot_id|>a b<|eot_id|>");
  EXPECT_EQ(tokenizer_->decode(seqs[0].ids, false).rfind("<|begin_of_text|>", 0), 0u);
}

TEST_F(DatasetTest, SftPromptCompletionTrainsOnTheCompletionAndEos) {
  std::vector<SequenceExample> seqs =
      builder().sft({{json{{"prompt", "2 + 2 ="}, {"completion", " 4"}}, "r1"}});
  EXPECT_EQ(targets_text(seqs[0]), " 4<|end_of_text|>");
  // Conversational prompt/completion uses the template.
  json conv = {{"prompt", json::array({{{"role", "user"}, {"content", "Hi"}}})},
               {"completion", json::array({{{"role", "assistant"}, {"content", "Hello"}}})}};
  EXPECT_EQ(targets_text(builder().sft({{conv, "r2"}})[0]), "Hello<|eot_id|>");
}

TEST_F(DatasetTest, SftRejectsMalformedRecords) {
  auto sft_error = [&](const json& record) {
    return error_of([&] { builder().sft({{record, "data.jsonl:7"}}); });
  };
  EXPECT_NE(sft_error(json{{"text", "x"}}).find("data.jsonl:7: expected an sft record"),
            std::string::npos);
  EXPECT_NE(sft_error(json{{"messages", json::array()}}).find("non-empty list"), std::string::npos);
  EXPECT_NE(sft_error(json{{"messages", json::array({{{"role", "user"}}})}}).find("content"),
            std::string::npos);
  EXPECT_NE(sft_error(json{{"messages", json::array({{{"role", "user"}, {"content", "x"}}})}})
                .find("no assistant turn"),
            std::string::npos);
  EXPECT_NE(sft_error(json{{"messages", json::array({{{"role", "assistant"}, {"content", "x"}}})}})
                .find("needs a prompt"),
            std::string::npos);
  EXPECT_NE(sft_error(json{{"messages", json::array({{{"role", "robot"}, {"content", "x"}},
                                                     {{"role", "assistant"}, {"content", "y"}}})}})
                .find("robot"),
            std::string::npos);
  EXPECT_NE(sft_error(json{{"prompt", "x"}, {"completion", 5}}).find("completion"),
            std::string::npos);
}

TEST_F(DatasetTest, SftTruncatesAtMaxLengthAndDropsRecordsLeftWithoutTargets) {
  BuildStats stats;
  std::vector<Record> records = {
      {json{{"prompt", std::string(200, 'a')}, {"completion", "b"}}, "r1"},
      {json{{"prompt", "a"}, {"completion", std::string(200, 'b')}}, "r2"}};
  std::vector<SequenceExample> seqs = builder(16).sft(records, &stats);
  ASSERT_EQ(seqs.size(), 1u);
  EXPECT_EQ(seqs[0].ids.size(), 16u);
  EXPECT_EQ(stats.n_truncated, 2);
}

TEST_F(DatasetTest, PreferencePairsShareThePrompt) {
  json conv = {{"prompt", json::array({{{"role", "user"}, {"content", "Count: a b c"}}})},
               {"chosen", json::array({{{"role", "assistant"}, {"content", "3"}}})},
               {"rejected", json::array({{{"role", "assistant"}, {"content", "4"}}})},
               {"difficulty", 2}};
  std::vector<PreferenceExample> pairs = builder().preference(
      {{conv, "r1"}, {json{{"prompt", "x"}, {"chosen", "y"}, {"rejected", "z"}}, "r2"}});
  ASSERT_EQ(pairs.size(), 2u);
  EXPECT_EQ(tokenizer_->decode(pairs[0].chosen, false), "3<|eot_id|>");
  EXPECT_EQ(tokenizer_->decode(pairs[0].rejected, false), "4<|eot_id|>");
  EXPECT_EQ(tokenizer_->decode(pairs[1].chosen, false), "y<|end_of_text|>");
  EXPECT_NE(error_of([&] {
              builder().preference({{json{{"prompt", "x"}, {"chosen", "y"}}, "r3"}});
            }).find("r3: missing field 'rejected'"),
            std::string::npos);
}

// The streamed, cached, multi-threaded path gives exactly the in-memory
// builder's sequences, and a second call reads the cache.
TEST_F(DatasetTest, TokenCacheMatchesTheBuilderAndIsReusedByContent) {
  std::string jsonl;
  for (int i = 0; i < 700; ++i)
    jsonl += json{{"text", "document " + std::to_string(i) + " says hello world"}}.dump() + "\n";
  const fs::path data = write("many.jsonl", jsonl);
  const std::vector<SequenceExample> expected = builder(16).pretrain(read_jsonl(data));
  const TokenCacheOptions options{.cache_dir = dir_->path() / "cache",
                                  .tokenizer_key = tokenizer_key(dir_->path()),
                                  .max_length = 16,
                                  .threads = 3};
  const TokenizedData first = tokenize_cached(data, builder(16), TrainMode::kPretrain, options);
  EXPECT_FALSE(first.cache_hit);
  ASSERT_EQ(first.sequences->size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto ids = first.sequences->ids(i);
    const auto targets = first.sequences->targets(i);
    ASSERT_EQ(std::vector<TokenId>(ids.begin(), ids.end()), expected[i].ids) << "sequence " << i;
    ASSERT_EQ(std::vector<std::uint8_t>(targets.begin(), targets.end()), expected[i].targets);
  }
  EXPECT_EQ(first.sequences->stats().n_records, 700);

  const TokenizedData again = tokenize_cached(data, builder(16), TrainMode::kPretrain, options);
  EXPECT_TRUE(again.cache_hit);
  EXPECT_EQ(again.key, first.key);
  EXPECT_EQ(again.sequences->size(), expected.size());
  // Another max_length or other content is another key.
  EXPECT_FALSE(tokenize_cached(data, builder(32), TrainMode::kPretrain,
                               {.cache_dir = options.cache_dir,
                                .tokenizer_key = options.tokenizer_key,
                                .max_length = 32})
                   .cache_hit);

  // A bad record is named, whichever thread met it.
  const fs::path bad = write("bad.jsonl", jsonl + "{\"text\": 5}\n");
  EXPECT_NE(error_of([&] {
              tokenize_cached(bad, builder(16), TrainMode::kPretrain, options);
            }).find("bad.jsonl:701: field 'text'"),
            std::string::npos);
  // Bad records in one batch: the first in the file is named, as a loop in
  // order would name it, however the threads shared the batch out.
  std::string lines;
  for (int i = 1; i <= 100; ++i) {
    lines += i == 70   ? "[1]\n"
             : i == 40 ? "{\"text\": \n"
             : i == 90 ? "{\"text\": 5}\n"
                       : json{{"text", "record " + std::to_string(i)}}.dump() + "\n";
  }
  const fs::path three_bad = write("three_bad.jsonl", lines);
  for (int attempt = 0; attempt < 5; ++attempt) {
    EXPECT_NE(error_of([&] {
                tokenize_cached(three_bad, builder(16), TrainMode::kPretrain, options);
              }).find("three_bad.jsonl:40:"),
              std::string::npos);
  }
}

// Preference pairs stream into the cache as three sequences each (prompt,
// chosen, rejected), exactly the in-memory builder's pairs, with the pairs
// counted as records.
TEST_F(DatasetTest, PreferencePairsStreamIntoTheTokenCache) {
  std::string jsonl;
  for (int i = 0; i < 300; ++i) {
    const std::string n = std::to_string(i);
    jsonl += json{{"prompt", "question " + n + " is long enough to be cut"},
                  {"chosen", "yes " + n},
                  {"rejected", "no, not " + n + " at all"}}
                 .dump() +
             "\n";
  }
  const fs::path data = write("pairs.jsonl", jsonl);
  BuildStats expected_stats;
  const std::vector<PreferenceExample> expected =
      builder(12).preference(read_jsonl(data), &expected_stats);
  const TokenizedData got = tokenize_cached(data, builder(12), TrainMode::kDpo,
                                            {.cache_dir = dir_->path() / "pair-cache",
                                             .tokenizer_key = tokenizer_key(dir_->path()),
                                             .max_length = 12,
                                             .threads = 3});
  ASSERT_EQ(got.sequences->size(), 3 * expected.size());
  const std::shared_ptr<const PackedSequences> packed = pack_pairs(expected);
  for (std::size_t i = 0; i < got.sequences->size(); ++i) {
    const auto a = got.sequences->ids(i);
    const auto b = packed->ids(i);
    ASSERT_EQ(std::vector<TokenId>(a.begin(), a.end()), std::vector<TokenId>(b.begin(), b.end()))
        << "sequence " << i;
    EXPECT_EQ(got.sequences->n_targets(i), 0);
  }
  EXPECT_EQ(got.sequences->stats().n_records, 300);
  EXPECT_GT(expected_stats.n_truncated, 0);
  EXPECT_EQ(got.sequences->stats().n_truncated, expected_stats.n_truncated);
  EXPECT_EQ(got.sequences->stats().n_tokens, expected_stats.n_tokens);
  EXPECT_NE(error_of([&] {
              tokenize_cached(write("half.jsonl", "{\"prompt\": \"x\", \"chosen\": \"y\"}\n"),
                              builder(12), TrainMode::kDpo, {.max_length = 12});
            }).find("half.jsonl:1: missing field 'rejected'"),
            std::string::npos);
}

TEST_F(DatasetTest, TokenCacheFileThatIsDamagedIsRefusedNamingIt) {
  const fs::path file = write("tokens-bad", std::string(100, 'x'));
  EXPECT_NE(error_of([&] { PackedSequences s(file); }).find("tokens-bad: not a token cache file"),
            std::string::npos);
  const fs::path empty = write("tokens-empty", "");
  EXPECT_NE(error_of([&] { PackedSequences s(empty); }).find("shorter than its trailer"),
            std::string::npos);
}

// The bytes of a token cache file written by hand in the layout token_cache.h gives:
// n sequences of `length` ids each (ids i, targets 1), then the index and
// the trailer.
std::string cache_file_bytes(std::size_t n, std::size_t length) {
  std::string bytes;
  std::vector<std::uint64_t> index;
  for (std::size_t s = 0; s < n; ++s) {
    index.insert(index.end(), {bytes.size(), length});
    for (std::size_t i = 0; i < length; ++i) {
      const auto id = static_cast<TokenId>(i);
      bytes.append(reinterpret_cast<const char*>(&id), sizeof(id));
    }
    bytes.append(length, '\x01');
    bytes.append((4 - bytes.size() % 4) % 4, '\0');
  }
  bytes.append((8 - bytes.size() % 8) % 8, '\0');
  const std::uint64_t index_offset = bytes.size();
  bytes.append(reinterpret_cast<const char*>(index.data()), index.size() * 8);
  std::uint64_t trailer[8] = {0, 1, n, index_offset, n, n * length, 0, 0};
  std::memcpy(&trailer[0], "ENCLSEQ1", 8);
  bytes.append(reinterpret_cast<const char*>(trailer), sizeof(trailer));
  return bytes;
}

// Reading every sequence of a mapped cache file, releasing each once read,
// keeps the process's file-backed memory at a few pages; without the
// release it grows by the file (the control: the measure can see it).
TEST_F(DatasetTest, ReleasedSequencesDoNotStayInMemory) {
  const std::size_t n = 4000;
  const std::size_t length = 1024;
  const PackedSequences sequences(write("tokens-big", cache_file_bytes(n, length)));
  ASSERT_EQ(sequences.size(), n);
  auto read_all = [&](bool release) {
    const std::int64_t before = proc_status_kb("RssFile");
    std::int64_t sum = 0;
    for (std::size_t s = 0; s < n; ++s) {
      for (TokenId id : sequences.ids(s)) sum += id;
      sum += sequences.n_targets(s);
      if (release) sequences.release(s);
    }
    EXPECT_EQ(sum, static_cast<std::int64_t>(n * (length * (length - 1) / 2 + length)));
    return proc_status_kb("RssFile") - before;
  };
  const std::int64_t file_kb = static_cast<std::int64_t>(n * length * 5 / 1024);
  read_all(/*release=*/true);  // pages in the code that reads, also file-backed memory
  const std::int64_t released_kb = read_all(/*release=*/true);
  const std::int64_t kept_kb = read_all(/*release=*/false);
  std::printf("read %lld KB of sequences: RSS +%lld KB released, +%lld KB kept\n",
              static_cast<long long>(file_kb), static_cast<long long>(released_kb),
              static_cast<long long>(kept_kb));
  EXPECT_LT(released_kb, file_kb / 20);
  EXPECT_GT(kept_kb, file_kb * 3 / 4);
  // Released sequences read back the same.
  EXPECT_EQ(sequences.ids(n - 1)[length - 1], static_cast<TokenId>(length - 1));
  // In-memory sequences have nothing to give back and stay readable.
  const PackedSequences in_memory(std::vector<SequenceExample>{{{1, 2, 3}, {0, 1, 1}}});
  in_memory.release(0);
  EXPECT_EQ(in_memory.ids(0)[2], 3);
}

}  // namespace
}  // namespace enclave::train
