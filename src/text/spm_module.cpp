// The only file that includes sentencepiece: compiled into libenclave_spm.so,
// never into the enclave_text library (see spm_processor.h for why).
#include <sentencepiece_processor.h>

#include "text/spm_processor.h"

namespace enclave {
namespace {

class LibSpmProcessor final : public SpmProcessor {
 public:
  bool load(const std::string& bytes, std::string* error) override {
    auto status = processor_.LoadFromSerializedProto(bytes);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  }
  int piece_size() const override { return processor_.GetPieceSize(); }
  int bos_id() const override { return processor_.bos_id(); }
  int eos_id() const override { return processor_.eos_id(); }
  std::string id_to_piece(int id) const override { return processor_.IdToPiece(id); }
  int piece_to_id(const std::string& piece) const override { return processor_.PieceToId(piece); }
  bool is_control(int id) const override { return processor_.IsControl(id); }
  bool is_unknown(int id) const override { return processor_.IsUnknown(id); }
  bool is_byte(int id) const override { return processor_.IsByte(id); }
  bool is_unused(int id) const override { return processor_.IsUnused(id); }
  bool encode(const std::string& text, std::vector<int>* ids, std::string* error) const override {
    auto status = processor_.Encode(text, ids);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  }
  bool decode(const std::vector<int>& ids, std::string* text, std::string* error) const override {
    auto status = processor_.Decode(ids, text);
    if (!status.ok()) *error = status.ToString();
    return status.ok();
  }

 private:
  sentencepiece::SentencePieceProcessor processor_;
};

}  // namespace
}  // namespace enclave

extern "C" __attribute__((visibility("default"))) enclave::SpmProcessor* enclave_spm_create() {
  return new enclave::LibSpmProcessor();
}
