#include "data/test_documents.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "text/utf8.h"

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

namespace {

std::u32string code_points(const std::string& s) {
  std::u32string out;
  std::size_t pos = 0;
  while (pos < s.size()) out.push_back(next_code_point(s, pos));
  return out;
}

std::string trim(const std::string& s) {
  const std::size_t a = s.find_first_not_of(' ');
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(' ') - a + 1);
}

}  // namespace

double character_accuracy(const std::string& expected, const std::string& actual) {
  const std::u32string a = code_points(expected);
  const std::u32string b = code_points(actual);
  if (a.empty()) return b.empty() ? 1.0 : 0.0;
  // Banded Levenshtein: cells further than `band` from the diagonal count
  // as infinitely far, which keeps 20K-character documents fast.
  const std::size_t band =
      a.size() / 20 + (a.size() > b.size() ? a.size() - b.size() : b.size() - a.size()) + 8;
  const std::size_t inf = a.size() + b.size() + 1;
  std::vector<std::size_t> prev(b.size() + 1, inf), cur(b.size() + 1, inf);
  for (std::size_t j = 0; j <= std::min(b.size(), band); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    // Only the band is written; its two neighbours are set to inf so the
    // next row never reads a value left from two rows before.
    const std::size_t lo = i > band ? i - band : 0;
    const std::size_t hi = std::min(b.size(), i + band);
    if (lo == 0) cur[0] = i;
    if (lo >= 1) cur[lo - 1] = inf;
    for (std::size_t j = std::max<std::size_t>(lo, 1); j <= hi; ++j) {
      cur[j] =
          std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    }
    if (hi + 1 <= b.size()) cur[hi + 1] = inf;
    std::swap(prev, cur);
  }
  const std::size_t distance = std::min(prev[b.size()], band);
  return std::max(0.0, 1.0 - static_cast<double>(distance) / static_cast<double>(a.size()));
}

std::vector<std::vector<std::vector<std::string>>> markdown_tables(const std::string& text) {
  std::vector<std::vector<std::vector<std::string>>> tables;
  bool in_table = false;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with("|")) {
      in_table = false;
      continue;
    }
    std::vector<std::string> cells;
    std::string cell;
    for (std::size_t i = 1; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
        cell += '|';
        ++i;
      } else if (line[i] == '|') {
        cells.push_back(trim(cell));
        cell.clear();
      } else {
        cell += line[i];
      }
    }
    const bool separator = std::all_of(cells.begin(), cells.end(), [](const std::string& c) {
      return !c.empty() && c.find_first_not_of("-:") == std::string::npos;
    });
    if (separator) continue;
    if (!in_table) tables.emplace_back();
    in_table = true;
    tables.back().push_back(std::move(cells));
  }
  return tables;
}

double table_cell_accuracy(const std::vector<std::vector<std::vector<std::string>>>& expected,
                           const std::string& text, std::size_t* n_cells) {
  const auto actual = markdown_tables(text);
  std::size_t total = 0, right = 0;
  for (std::size_t t = 0; t < expected.size(); ++t) {
    for (std::size_t r = 0; r < expected[t].size(); ++r) {
      for (std::size_t c = 0; c < expected[t][r].size(); ++c) {
        ++total;
        right += t < actual.size() && r < actual[t].size() && c < actual[t][r].size() &&
                 actual[t][r][c] == expected[t][r][c];
      }
    }
  }
  if (n_cells != nullptr) *n_cells = total;
  return total == 0 ? 1.0 : static_cast<double>(right) / static_cast<double>(total);
}

}  // namespace enclave::data::testing
