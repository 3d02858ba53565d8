// The built-in training text for the tokenizer of models made from scratch
// (`enclave model init`): about 20 KB of original English prose, letters and
// notes, code in several languages, numbers and tables, Korean sentences and
// emoji (including skin-tone and ZWJ sequences), written for Enclave.
// Thread safety: returns an immutable static; safe from any thread.
#pragma once

#include <string>
#include <vector>

namespace enclave {

// The corpus as a list of documents.
const std::vector<std::string>& default_corpus();

}  // namespace enclave
