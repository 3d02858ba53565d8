// Fuzz target: DOCX files (data/readers.h). An input that starts with "PK"
// is a whole .docx, read through SafeZip (entry names, sizes, ratios) and
// pugixml as the ingest reads it; any other input is the text of
// word/document.xml, so the mutations reach the XML walk without having to
// keep a ZIP's checksums intact.
#include "data/readers.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  enclave::fuzz::expect_clean([&] {
    if (size >= 2 && data[0] == 'P' && data[1] == 'K') {
      static enclave::fuzz::ScratchFile file("fuzz.docx");
      enclave::data::ZipLimits limits;
      limits.max_total_bytes = std::uint64_t{64} << 20;
      limits.max_entry_bytes = std::uint64_t{16} << 20;
      enclave::data::read_docx(file.write(data, size), limits);
    } else {
      enclave::data::docx_text_from_xml(enclave::fuzz::as_text(data, size), "fuzz.docx");
    }
  });
  return 0;
}
