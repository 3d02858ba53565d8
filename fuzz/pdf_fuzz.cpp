// Fuzz target: the PDF hand-off (data/pdf_reader.h). poppler runs in a child
// process and sends each page's words and boxes back over a pipe; the
// parent decodes those bytes (decode_pdf_words) and lays the words out into
// text (data/pdf_layout.h). This target feeds both with arbitrary bytes, as
// a crashed or hostile child could send. poppler's own parsing of the PDF is
// not ours to fuzz (it is fuzzed upstream, and it runs in the child under
// rlimits); the parent's only step before it is fork and the file path.
#include "data/pdf_layout.h"
#include "data/pdf_reader.h"
#include "fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  enclave::fuzz::expect_clean([&] {
    std::vector<enclave::data::PdfPage> pages;
    enclave::data::decode_pdf_words(enclave::fuzz::as_text(data, size), pages);
    // Pages decoded before a fault are laid out as well: layout must hold up
    // on any boxes (NaN, inverted, huge) and any word text.
    for (const bool options : {true, false}) {
      enclave::data::PdfLayoutOptions layout;
      layout.drop_headers_footers = options;
      layout.tables = options;
      const enclave::data::PdfText text = enclave::data::layout_pdf_text(pages, layout);
      if (text.page_offsets.size() > pages.size()) std::abort();
      for (const std::size_t offset : text.page_offsets)
        if (offset > text.text.size()) std::abort();
    }
  });
  return 0;
}
