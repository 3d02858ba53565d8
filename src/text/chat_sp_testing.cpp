#include "text/chat_sp_testing.h"

#include <fmt/format.h>
#include <sentencepiece_trainer.h>

#include <fstream>
#include <stdexcept>

namespace enclave::testing {

namespace fs = std::filesystem;

void write_test_file(const fs::path& file, std::string_view text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

std::vector<std::string> sentencepiece_test_corpus() {
  std::vector<std::string> lines = {
      "The quick brown fox jumps over the lazy dog near the river bank.",
      "A model that reads its own training data learns the shape of the words.",
      "Tokenizers split text into pieces; the pieces become numbers for the network.",
      "In the morning the server restarted, and the logs showed no errors at all.",
      "She wrote the report, checked the numbers twice, and sent it before noon.",
      "Hello world! Hello there, friend. How are you doing today?",
      "The weather was cold, but the coffee was warm and the room was quiet.",
      "Every answer should name the file, the field and the reason for the error.",
      "for (int i = 0; i < n; ++i) { total += values[i]; }",
      "def tokenize(text): return [piece for piece in text.split() if piece]",
      "if (status != 0) { return error(\"bad input\"); }",
      "The invoice lists 3 items: 12 pens, 450 sheets and 7 folders for 2024.",
      "Call 555 0199 between 09:00 and 17:30, or write to the office in room 42.",
      "Version 1.13.2 fixed 18 bugs and added 4 new options to the command line.",
      "안녕하세요. 오늘 날씨가 좋네요.",
      "한국어 문장을 토큰으로 나누는 시험입니다.",
      "모델은 데이터를 읽고 배웁니다. 감사합니다!",
      "Good job 👍 and thanks 🙏 for the help 😀.",
      "The family emoji 👨‍👩‍👧 and the thumbs up 👍🏽 use joiners and modifiers.",
      "  Indented lines\tand tabs\tstay as they are.",
      "Line one\nLine two\n\nLine four after a blank line.",
      "Questions? Answers! Lists: one, two, three; done.",
      "Machine learning models are trained on large amounts of text and code.",
      "The library keeps every artifact, every run and every metric in one store.",
      "Air-gapped networks cannot reach the internet, so everything ships in one binary.",
  };
  // Repeat with small variations so BPE sees enough pair counts.
  std::vector<std::string> corpus;
  for (int round = 0; round < 8; ++round) {
    for (const std::string& line : lines) {
      corpus.push_back(round % 2 == 0 ? line : fmt::format("{} ({})", line, round * 17));
    }
  }
  return corpus;
}

fs::path train_test_sentencepiece_model(const fs::path& dir, int vocab_size) {
  fs::path input = dir / "sp_corpus.txt";
  {
    std::ofstream out(input, std::ios::binary);
    for (const std::string& line : sentencepiece_test_corpus()) out << line << '\n';
  }
  fs::path prefix = dir / "sp";
  std::string args = fmt::format(
      "--input={} --model_prefix={} --vocab_size={} --model_type=bpe --byte_fallback=true "
      "--normalization_rule_name=identity --remove_extra_whitespaces=false "
      "--add_dummy_prefix=true --split_digits=true --character_coverage=1.0 "
      "--hard_vocab_limit=false --control_symbols=<|im_start|>,<|im_end|> "
      "--user_defined_symbols=<tool> --allow_whitespace_only_pieces=true "
      "--num_threads=1 --minloglevel=2",
      input.string(), prefix.string(), vocab_size);
  auto status = sentencepiece::SentencePieceTrainer::Train(args);
  if (!status.ok()) throw std::runtime_error("SentencePiece training failed: " + status.ToString());
  fs::path model = dir / "tokenizer.model";
  fs::rename(prefix.string() + ".model", model);
  return model;
}

}  // namespace enclave::testing
