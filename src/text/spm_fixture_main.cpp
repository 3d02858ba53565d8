// Test tool: trains a small SentencePiece model into DIR/tokenizer.model and
// prints, as JSON, the ids this torch-free process gets for TEXT. The
// black-box test tests/spm_module_test.py compares them with what the
// torch-linked `enclave tokenize` gets, which only works if the SentencePiece
// module is kept apart from libtorch's protobuf (spm_processor.h).
#include <exception>
#include <iostream>
#include <nlohmann/json.hpp>

#include "text/chat_sp_testing.h"
#include "text/tokenizer.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: enclave_spm_fixture DIR TEXT\n";
    return 2;
  }
  try {
    std::filesystem::path dir = argv[1];
    std::filesystem::create_directories(dir);
    enclave::testing::train_test_sentencepiece_model(dir);
    auto tokenizer = enclave::load_tokenizer(dir);
    std::cout << nlohmann::json{{"tokens", tokenizer->encode(argv[2], true)}}.dump() << "\n";
  } catch (const std::exception& e) {
    std::cerr << "enclave_spm_fixture: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
