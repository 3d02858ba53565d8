// Readers: the text of one document file, in Markdown-flavoured plain text
// (headings as "#", list items as "- ", tables as Markdown tables), with
// metadata about where its parts came from. PDFs are read through
// pdf_reader.h (child processes) and pdf_layout.h; JSONL is streamed by the
// ingest (ingest.h). Each reader throws Error(kInvalidInput) naming the file
// and the reason for a corrupt, encrypted or hostile file, which the ingest
// reports and skips.
// Thread safety: stateless; safe from any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "data/markdown.h"
#include "data/safe_zip.h"

namespace enclave::data {

struct ExtractedText {
  std::string text;
  nlohmann::json meta = nlohmann::json::object();
};

// Decodes file bytes to UTF-8: UTF-8 (BOM dropped), UTF-16 with a BOM, and
// CP949/EUC-KR (common in older Korean documents) when the bytes are not
// UTF-8 but decode cleanly as CP949; anything else keeps its valid UTF-8
// parts with U+FFFD for the rest. `encoding` receives the name used.
std::string decode_text_bytes(std::string_view bytes, std::string* encoding = nullptr);

// .txt and .md. meta: "encoding"; for Markdown also "sections" (the
// headings, in order).
ExtractedText read_text_file(const std::filesystem::path& path, bool markdown,
                             std::uint64_t max_bytes = std::uint64_t{1} << 30);

// .docx through SafeZip and pugixml: paragraphs, headings as "#" (from
// word/styles.xml: style names "heading N"/"Title" and outline levels,
// through basedOn; without it style ids Heading1..9, Title), list
// paragraphs as "- " or, when word/numbering.xml gives the level a number
// format, "1. " counted per list, tables as Markdown tables with merged
// cells (gridSpan, vMerge, gridBefore) keeping their columns. XML with a
// DOCTYPE or entity declarations is refused (entity expansion, XXE); no
// external resource is ever read. meta: "sections", "tables".
ExtractedText read_docx(const std::filesystem::path& path, const ZipLimits& limits = {});
// The same from the text of word/document.xml (and, when not empty, of
// word/styles.xml and word/numbering.xml); `what` names the file in errors.
ExtractedText docx_text_from_xml(std::string_view xml, std::string_view what,
                                 std::string_view styles_xml = {},
                                 std::string_view numbering_xml = {});

// .html/.htm through gumbo, main content only: the first <main> (or
// role="main"), else the only <article>, else the body; page chrome dropped
// (nav, aside, footer, page header, hidden elements, navigation/banner/
// contentinfo/complementary/dialog roles, ids and classes naming menus,
// cookie or consent banners, sidebars, sharing, ads), as do script, style
// and other non-content elements. Block elements separated, headings "#",
// list items "- " or "1. " (<ol>, from its start), tables as Markdown with
// colspan/rowspan keeping every column. meta: "title", "sections", "tables".
ExtractedText read_html(const std::filesystem::path& path,
                        std::uint64_t max_bytes = std::uint64_t{256} << 20);

// .hwpx (OWPML: ZIP + XML) through SafeZip and pugixml: sections in the
// package's order, headings (outline paragraphs, heading style names),
// bullets "- ", numbered items "1. ", tables with merged cells as Markdown
// tables (every column kept), footnotes and endnotes as "[^n]" markers
// with their text at the end, text boxes (and drawing objects' captions)
// after the paragraph they are anchored in. The same XML refusals as DOCX; an encrypted or
// distribution-protected package throws Error(kUnsupported). meta:
// "sections", "tables", "footnotes", "endnotes", "hwpx_sections".
ExtractedText read_hwpx(const std::filesystem::path& path, const ZipLimits& limits = {});

// .hwp (HWP 5.0: a compound file of zlib-compressed record streams, cfb.h)
// with the same structure as read_hwpx. Streams are capped as ZIP entries
// are: max_entry_bytes per stream (declared or inflated), max_total_bytes
// for all, max_ratio. Password, distribution (배포용), DRM and certificate
// protected files throw Error(kUnsupported), other bad files
// Error(kInvalidInput) with the stream and the reason. meta as read_hwpx
// with "hwp_sections".
ExtractedText read_hwp(const std::filesystem::path& path, const ZipLimits& limits = {});
// The same from the file's bytes; `what` names the file in errors.
ExtractedText hwp_text_from_bytes(std::string bytes, std::string_view what,
                                  const ZipLimits& limits = {});

}  // namespace enclave::data
