// Fuzz target: DOCX files (data/readers.h). An input that starts with "PK"
// is a whole .docx, read through SafeZip (entry names, sizes, ratios) and
// pugixml as the ingest reads it; any other input is the text of
// word/document.xml, so the mutations reach the XML walk without having to
// keep a ZIP's checksums intact, and then as word/styles.xml and
// word/numbering.xml of a small styled document.
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
      const std::string_view xml = enclave::fuzz::as_text(data, size);
      enclave::data::docx_text_from_xml(xml, "fuzz.docx");
      // The same text as word/styles.xml and word/numbering.xml of a
      // document whose paragraphs use a style and a numbering.
      static constexpr std::string_view kStyled =
          R"(<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>)"
          R"(<w:p><w:pPr><w:pStyle w:val="1"/></w:pPr><w:r><w:t>h</w:t></w:r></w:p>)"
          R"(<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr>)"
          R"(<w:r><w:t>i</w:t></w:r></w:p></w:body></w:document>)";
      enclave::data::docx_text_from_xml(kStyled, "fuzz.docx", xml, xml);
    }
  });
  return 0;
}
