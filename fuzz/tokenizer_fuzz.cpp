// Fuzz target: tokenizer.json (text/bpe_tokenizer.h), parsed and then used
// the way a model uses it: encode a few fixed texts (scripts, digits,
// special-token text, invalid UTF-8) and decode the ids back.
// tokenizer.model (SentencePiece protobuf) is not covered: it is parsed by
// libsentencepiece inside a dlopen'd module (text/spm_processor.h), not by
// our code.
#include <array>
#include <string_view>

#include "fuzz_target.h"
#include "text/bpe_tokenizer.h"
#include "text/special_tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  enclave::fuzz::expect_clean([&] {
    enclave::SpecialTokenConfig specials;
    specials.bos_token = "<s>";
    specials.eos_token = "</s>";
    const auto tokenizer = enclave::parse_bpe_tokenizer(enclave::fuzz::as_text(data, size),
                                                        "tokenizer.json", specials);
    static constexpr std::array<std::string_view, 4> kTexts = {
        "Hello, world! 123 4567 <s>x</s> <|im_start|>user",
        "  leading spaces\n\ttabs\r\nand lines  ",
        "\xed\x95\x9c\xea\xb5\xad\xec\x96\xb4 \xe4\xb8\xad\xe6\x96\x87 caf\xc3\xa9 "
        "\xf0\x9f\x99\x82",
        "bad \xff\xfe utf-8 \xc3",
    };
    for (std::string_view text : kTexts) {
      for (const bool special : {false, true}) {
        const std::vector<enclave::TokenId> ids = tokenizer->encode(text, special, special);
        for (const enclave::TokenId id : ids)
          if (id < 0 || static_cast<std::size_t>(id) >= tokenizer->vocab_size()) std::abort();
        tokenizer->decode(ids, special);
      }
    }
  });
  return 0;
}
