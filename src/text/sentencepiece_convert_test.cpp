// Cross-check of the two tokenizer paths: a SentencePiece BPE model, and the
// tokenizer.json that transformers' LlamaConverter makes from it (vocab from
// the pieces; merges from every split of a piece into two pieces, ordered by
// the merged piece's score; Prepend/Replace normalizer; Replace, ByteFallback,
// Fuse, Strip decoder; control symbols as special added tokens). Both must
// give the same ids and text, which tests the BPE merge loop, byte fallback
// and the Llama 2 normalizer/decoder against libsentencepiece itself.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "text/chat_sp_testing.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/tokenizer.h"

namespace enclave {
namespace {

using nlohmann::json;
using testing::ScratchDir;

// Code-point boundaries of s (s is valid UTF-8).
std::vector<std::size_t> char_boundaries(const std::string& s) {
  std::vector<std::size_t> out;
  for (std::size_t i = 1; i < s.size(); ++i) {
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) out.push_back(i);
  }
  return out;
}

// transformers' SentencePieceExtractor.extract with vocab scores.
json extract_merges(const sentencepiece::SentencePieceProcessor& sp) {
  std::unordered_map<std::string, int> vocab;
  for (int id = 0; id < sp.GetPieceSize(); ++id) vocab.emplace(sp.IdToPiece(id), id);
  struct Merge {
    std::string left, right;
    float score;
  };
  std::vector<Merge> merges;
  for (int id = 0; id < sp.GetPieceSize(); ++id) {
    const std::string& piece = sp.IdToPiece(id);
    std::vector<Merge> local;
    for (std::size_t cut : char_boundaries(piece)) {
      std::string left = piece.substr(0, cut), right = piece.substr(cut);
      if (vocab.count(left) && vocab.count(right)) local.push_back({left, right, sp.GetScore(id)});
    }
    std::sort(local.begin(), local.end(), [&](const Merge& a, const Merge& b) {
      return std::pair(vocab[a.left], vocab[a.right]) < std::pair(vocab[b.left], vocab[b.right]);
    });
    merges.insert(merges.end(), local.begin(), local.end());
  }
  std::stable_sort(merges.begin(), merges.end(),
                   [](const Merge& a, const Merge& b) { return a.score > b.score; });
  json out = json::array();
  for (const Merge& m : merges) out.push_back(json::array({m.left, m.right}));
  return out;
}

// Writes tokenizer.json + tokenizer_config.json as LlamaConverter (legacy) does.
void write_converted(const std::filesystem::path& model_file, const std::filesystem::path& dir) {
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load(model_file.string()).ok());
  json vocab = json::object();
  json added = json::array();
  for (int id = 0; id < sp.GetPieceSize(); ++id) {
    vocab[sp.IdToPiece(id)] = id;
    if (sp.IsControl(id) || sp.IsUnknown(id)) {
      added.push_back({{"id", id},
                       {"content", sp.IdToPiece(id)},
                       {"single_word", false},
                       {"lstrip", false},
                       {"rstrip", false},
                       {"normalized", false},
                       {"special", true}});
    }
  }
  json doc = {
      {"version", "1.0"},
      {"truncation", nullptr},
      {"padding", nullptr},
      {"added_tokens", added},
      {"normalizer",
       {{"type", "Sequence"},
        {"normalizers", json::array({{{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}},
                                     {{"type", "Replace"},
                                      {"pattern", {{"String", " "}}},
                                      {"content", "\xE2\x96\x81"}}})}}},
      {"pre_tokenizer", nullptr},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}})},
        {"pair", json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                              {{"SpecialToken", {{"id", "<s>"}, {"type_id", 1}}}},
                              {{"Sequence", {{"id", "B"}, {"type_id", 1}}}}})},
        {"special_tokens",
         {{"<s>", {{"id", "<s>"}, {"ids", json::array({1})}, {"tokens", json::array({"<s>"})}}}}}}},
      {"decoder",
       {{"type", "Sequence"},
        {"decoders",
         json::array(
             {{{"type", "Replace"}, {"pattern", {{"String", "\xE2\x96\x81"}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}},
              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}}},
      {"model",
       {{"type", "BPE"},
        {"dropout", nullptr},
        {"unk_token", "<unk>"},
        {"continuing_subword_prefix", nullptr},
        {"end_of_word_suffix", nullptr},
        {"fuse_unk", true},
        {"byte_fallback", true},
        {"ignore_merges", false},
        {"vocab", vocab},
        {"merges", extract_merges(sp)}}}};
  testing::write_test_file(dir / "tokenizer.json", doc.dump(2));
  testing::write_test_file(
      dir / "tokenizer_config.json",
      R"({"add_bos_token": true, "add_eos_token": false, "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"})");
}

TEST(SentencePieceConvert, TokenizerJsonMatchesSentencePiece) {
  ScratchDir sp_dir("sp_convert_model");
  ScratchDir json_dir("sp_convert_json");
  std::filesystem::path model = testing::train_test_sentencepiece_model(sp_dir.path());
  write_converted(model, json_dir.path());
  auto from_sp = load_sentencepiece_tokenizer(model, {});
  auto from_json = load_tokenizer(json_dir.path());
  EXPECT_EQ(from_json->kind(), "bpe-sentencepiece");
  EXPECT_EQ(from_json->vocab_size(), from_sp->vocab_size());
  EXPECT_EQ(from_json->bos_id(), from_sp->bos_id());
  EXPECT_EQ(from_json->eos_id(), from_sp->eos_id());

  std::vector<std::string> texts = testing::sentencepiece_test_corpus();
  for (std::string extra : {"Hello world's  123456 !!\n\n x", " leading and trailing  ", "", "   ",
                            "\n", "안녕하세요 👍🏽 👨‍👩‍👧 龘 ☃",
                            "tabs\tand\r\nnewlines", "<|im_start|>user\nHi<|im_end|>",
                            "unseen words: zygote quixotic", "ok \xFF bad \xE2\x82 bytes"}) {
    texts.push_back(extra);
  }
  int mismatches = 0;
  for (const std::string& text : texts) {
    std::vector<TokenId> a = from_sp->encode(text);
    std::vector<TokenId> b = from_json->encode(text);
    if (a != b) {
      ++mismatches;
      ADD_FAILURE() << "ids differ for '" << text << "': sentencepiece " << a.size()
                    << " ids, tokenizer.json " << b.size() << " ids";
      continue;
    }
    EXPECT_EQ(from_json->decode(b), from_sp->decode(a)) << text;
    EXPECT_EQ(from_json->decode(b, /*skip_special=*/false), from_sp->decode(a, false)) << text;
  }
  std::printf("sentencepiece vs converted tokenizer.json: %zu texts, %d mismatches\n", texts.size(),
              mismatches);
}

}  // namespace
}  // namespace enclave
