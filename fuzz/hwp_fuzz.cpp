// Fuzz target: HWP 5.0 and HWPX files (data/readers.h). An input that
// starts with "PK" is an HWPX package, read through SafeZip and pugixml
// from a scratch file as the ingest reads it; anything else is an HWP file
// read from memory: the compound file (cfb.h: header, DIFAT, FAT, mini FAT,
// directory tree), the FileHeader flags, raw-deflated or plain record
// streams and the record trees of DocInfo and every BodyText section. The
// uncompressed seed lets mutations reach the records directly.
#include "data/readers.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  enclave::fuzz::expect_clean([&] {
    enclave::data::ZipLimits limits;
    limits.max_total_bytes = std::uint64_t{64} << 20;
    limits.max_entry_bytes = std::uint64_t{16} << 20;
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
      static enclave::fuzz::ScratchFile file("fuzz.hwpx");
      enclave::data::read_hwpx(file.write(data, size), limits);
    } else {
      enclave::data::hwp_text_from_bytes(std::string(enclave::fuzz::as_text(data, size)),
                                         "fuzz.hwp", limits);
    }
  });
  return 0;
}
