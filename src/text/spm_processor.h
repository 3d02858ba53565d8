// SentencePiece behind a loadable module. Debian's libsentencepiece exports
// its own copy of protobuf (3.14), which clashes with libtorch's libprotobuf
// (3.21) in one process: whichever is loaded first serves both, and either
// libprotobuf's start-up code or sentencepiece's version check fails. So the
// library lives in a separate module (libenclave_spm.so) opened with
// RTLD_LOCAL | RTLD_DEEPBIND: its symbols never enter the global scope and it
// binds to its own protobuf copy. Only this small interface crosses over.
//
// Thread safety: a loaded SpmProcessor is immutable; its const methods may be
// called concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace enclave {

class SpmProcessor {
 public:
  virtual ~SpmProcessor() = default;
  // Parses a serialized ModelProto. On failure returns false and sets *error.
  virtual bool load(const std::string& bytes, std::string* error) = 0;
  virtual int piece_size() const = 0;
  virtual int bos_id() const = 0;
  virtual int eos_id() const = 0;
  virtual std::string id_to_piece(int id) const = 0;
  virtual int piece_to_id(const std::string& piece) const = 0;
  virtual bool is_control(int id) const = 0;
  virtual bool is_unknown(int id) const = 0;
  virtual bool is_byte(int id) const = 0;
  virtual bool is_unused(int id) const = 0;
  virtual bool encode(const std::string& text, std::vector<int>* ids, std::string* error) const = 0;
  virtual bool decode(const std::vector<int>& ids, std::string* text, std::string* error) const = 0;
};

// Opens the module (once per process) and returns a processor loaded with
// `bytes`. Errors name `what` (the model file) and the cause; a missing module
// names the paths searched. The module is looked for in $ENCLAVE_SPM_MODULE,
// beside the executable, in <exe>/../lib/enclave, then in the build tree.
std::unique_ptr<SpmProcessor> load_spm_processor(const std::string& bytes, std::string_view what);

}  // namespace enclave

// The module's one exported symbol: a new, empty processor (never null).
extern "C" enclave::SpmProcessor* enclave_spm_create();
