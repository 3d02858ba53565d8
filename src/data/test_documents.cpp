#include "data/test_documents.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <fstream>
#include <stdexcept>

namespace enclave::data::testing {

namespace {

std::string pdf_string(const std::string& text) {
  std::string out = "(";
  for (char c : text) {
    if (c == '(' || c == ')' || c == '\\') out += '\\';
    out += c;
  }
  return out + ")";
}

std::string deflate(const std::string& data) {
  uLongf size = compressBound(data.size());
  std::string out(size, '\0');
  if (compress2(reinterpret_cast<Bytef*>(out.data()), &size,
                reinterpret_cast<const Bytef*>(data.data()), data.size(), 9) != Z_OK) {
    throw std::runtime_error("zlib compress failed");
  }
  out.resize(size);
  return out;
}

}  // namespace

std::string make_pdf(const std::vector<TestPage>& pages, const PdfBuildOptions& options) {
  std::vector<std::string> objects;  // objects[i] is object i+1
  objects.push_back("<< /Type /Catalog /Pages 2 0 R >>");
  objects.push_back("");  // pages, filled below
  objects.push_back(
      "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
  std::string kids;
  for (std::size_t p = 0; p < pages.size(); ++p) {
    std::string content;
    if (!options.raw_content.empty()) {
      content = options.raw_content;
    } else {
      for (const auto& t : pages[p]) {
        content += fmt::format("BT /F1 {} Tf {:.2f} {:.2f} Td {} Tj ET\n", t.size, t.x,
                               792 - t.y - t.size, pdf_string(t.text));
      }
    }
    std::string stream_dict;
    if (options.compress) {
      content = deflate(content);
      stream_dict = fmt::format("<< /Length {} /Filter /FlateDecode >>", content.size());
    } else {
      stream_dict = fmt::format("<< /Length {} >>", content.size());
    }
    objects.push_back(stream_dict + "\nstream\n" + content + "\nendstream");
    const std::size_t content_id = objects.size();
    objects.push_back(
        fmt::format("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << "
                    "/F1 3 0 R >> >> "
                    "/Contents {} 0 R >>",
                    content_id));
    kids += fmt::format("{} 0 R ", objects.size());
  }
  if (options.cyclic_page_tree) kids += "2 0 R ";
  objects[1] = fmt::format("<< /Type /Pages /Kids [{}] /Count {} >>", kids, pages.size());
  std::string trailer_extra;
  if (options.encrypted) {
    const std::string filler(64, 'A');
    objects.push_back(
        fmt::format("<< /Filter /Standard /V 1 /R 2 /O <{}> /U <{}> /P -44 >>", filler, filler));
    trailer_extra = fmt::format(
        " /Encrypt {} 0 R /ID [<0123456789ABCDEF0123456789ABCDEF> "
        "<0123456789ABCDEF0123456789ABCDEF>]",
        objects.size());
  }
  return pdf_file(objects, trailer_extra);
}

std::string pdf_file(const std::vector<std::string>& objects, const std::string& trailer_extra) {
  std::string out = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<std::size_t> offsets;
  for (std::size_t i = 0; i < objects.size(); ++i) {
    offsets.push_back(out.size());
    out += fmt::format("{} 0 obj\n{}\nendobj\n", i + 1, objects[i]);
  }
  const std::size_t xref = out.size();
  out += fmt::format("xref\n0 {}\n0000000000 65535 f \n", objects.size() + 1);
  for (std::size_t o : offsets) out += fmt::format("{:010d} 00000 n \n", o);
  out += fmt::format("trailer\n<< /Size {} /Root 1 0 R{} >>\nstartxref\n{}\n%%EOF\n",
                     objects.size() + 1, trailer_extra, xref);
  return out;
}

void write_zip(const std::filesystem::path& path, const std::vector<ZipEntry>& entries) {
  std::filesystem::remove(path);
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (z == nullptr) throw std::runtime_error("zip_open failed");
  for (const auto& e : entries) {
    zip_source_t* src = zip_source_buffer(z, e.data.data(), e.data.size(), 0);
    const zip_int64_t index =
        zip_file_add(z, e.name.c_str(), src, ZIP_FL_ENC_RAW | ZIP_FL_OVERWRITE);
    if (index < 0) {
      zip_source_free(src);
      throw std::runtime_error("zip_file_add failed: " + std::string(zip_strerror(z)));
    }
    if (e.symlink) {
      zip_file_set_external_attributes(z, static_cast<zip_uint64_t>(index), 0, ZIP_OPSYS_UNIX,
                                       static_cast<zip_uint32_t>(S_IFLNK | 0777) << 16);
    }
  }
  if (zip_close(z) != 0) throw std::runtime_error("zip_close failed");
}

std::vector<ZipEntry> docx_entries(const std::string& body_xml) {
  return {
      {"[Content_Types].xml",
       R"(<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>)"},
      {"word/document.xml",
       R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>)" +
           body_xml + "</w:body></w:document>"},
  };
}

std::string docx_paragraph(const std::string& text, const std::string& style) {
  std::string p = "<w:p>";
  if (!style.empty()) p += "<w:pPr><w:pStyle w:val=\"" + style + "\"/></w:pPr>";
  return p + "<w:r><w:t xml:space=\"preserve\">" + text + "</w:t></w:r></w:p>";
}

std::string docx_table(const std::vector<std::vector<std::string>>& rows) {
  std::string t = "<w:tbl>";
  for (const auto& row : rows) {
    t += "<w:tr>";
    for (const auto& cell : row) t += "<w:tc>" + docx_paragraph(cell) + "</w:tc>";
    t += "</w:tr>";
  }
  return t + "</w:tbl>";
}

void write_bytes(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
}

}  // namespace enclave::data::testing
