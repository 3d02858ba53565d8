// Cross-check of the two tokenizer paths: a SentencePiece BPE model, and the
// tokenizer.json that sentencepiece_bpe_json makes from its pieces as
// transformers' LlamaConverter does (text/sentencepiece_json.h; GGUF import
// builds "llama" vocabularies with it). Both must give the same ids and
// text, which tests the conversion, the BPE merge loop, byte fallback and
// the Llama 2 normalizer/decoder against libsentencepiece itself.
#include <gtest/gtest.h>
#include <sentencepiece_processor.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "text/chat_sp_testing.h"
#include "text/sentencepiece_json.h"
#include "text/sentencepiece_tokenizer.h"
#include "text/tokenizer.h"

namespace enclave {
namespace {

using nlohmann::json;
using testing::ScratchDir;

// The pieces of a SentencePiece model with their scores and types.
std::vector<SpPiece> pieces_of(const sentencepiece::SentencePieceProcessor& sp) {
  std::vector<SpPiece> out;
  for (int id = 0; id < sp.GetPieceSize(); ++id) {
    SpPieceType type = SpPieceType::kNormal;
    if (sp.IsControl(id)) type = SpPieceType::kControl;
    if (sp.IsUnknown(id)) type = SpPieceType::kUnknown;
    if (sp.IsByte(id)) type = SpPieceType::kByte;
    out.push_back({sp.IdToPiece(id), sp.GetScore(id), type});
  }
  return out;
}

// Writes tokenizer.json + tokenizer_config.json as LlamaConverter (legacy) does.
void write_converted(const std::filesystem::path& model_file, const std::filesystem::path& dir) {
  sentencepiece::SentencePieceProcessor sp;
  ASSERT_TRUE(sp.Load(model_file.string()).ok());
  testing::write_test_file(
      dir / "tokenizer.json",
      sentencepiece_bpe_json(pieces_of(sp), /*add_dummy_prefix=*/true).dump(2));
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
