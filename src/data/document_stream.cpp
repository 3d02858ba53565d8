#include "data/document_stream.h"

#include <fmt/format.h>

#include "core/error.h"
#include "data/line_reader.h"

namespace enclave::data {

namespace {
constexpr std::size_t kBatch = 4096;
constexpr std::size_t kFlushBytes = 1 << 20;
}  // namespace

std::int64_t count_code_points(std::string_view s) {
  std::int64_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

StreamStats& StreamStats::operator+=(const StreamStats& o) {
  documents_in += o.documents_in;
  documents_out += o.documents_out;
  chars_in += o.chars_in;
  chars_out += o.chars_out;
  bytes_in += o.bytes_in;
  for (const auto& [k, v] : o.removed) removed[k] += v;
  return *this;
}

OutputFile::OutputFile(std::filesystem::path path) : path_(std::move(path)), file_(path_) {}

OutputFile::~OutputFile() = default;

void OutputFile::write_line(std::string_view line) {
  buffer_.append(line);
  buffer_ += '\n';
  ++lines_;
  if (buffer_.size() >= kFlushBytes) {
    file_.write(buffer_);
    buffer_.clear();
  }
}

void OutputFile::close() {
  file_.write(buffer_);
  buffer_.clear();
  file_.commit();
}

StreamStats stream_documents(const std::filesystem::path& input,
                             const std::vector<OutputFile*>& outputs, OutputFile* side,
                             DocumentStep& step, WorkerPool& pool, Progress* progress,
                             std::uint64_t* index) {
  StreamStats stats;
  LineReader reader(input);
  std::vector<std::string> lines;
  std::vector<std::uint64_t> numbers;
  std::vector<Document> docs;
  std::vector<DocOutcome> outcomes;
  std::vector<std::string> errors;
  std::vector<std::int64_t> chars_in;
  std::vector<std::unique_ptr<DocumentParser>> parsers;
  for (int i = 0; i < pool.size(); ++i) parsers.push_back(std::make_unique<DocumentParser>());
  auto flush = [&] {
    const std::size_t n = lines.size();
    docs.assign(n, Document{});
    outcomes.assign(n, DocOutcome{});
    errors.assign(n, std::string());
    chars_in.assign(n, 0);
    pool.for_each(n, [&](std::size_t i, int worker) {
      try {
        parsers[worker]->parse(lines[i], docs[i]);
      } catch (const Error& e) {
        errors[i] = e.what();
        return;
      }
      chars_in[i] = count_code_points(docs[i].text);
      step.process(docs[i], outcomes[i], worker);
    });
    for (std::size_t i = 0; i < n; ++i) {
      if (!errors[i].empty()) fail_input("{}: line {}: {}", input.string(), numbers[i], errors[i]);
      DocOutcome& out = outcomes[i];
      step.decide((*index)++, docs[i], out);
      ++stats.documents_in;
      stats.chars_in += chars_in[i];
      if (!out.side.empty() && side != nullptr) side->write_line(out.side);
      if (out.output < 0) {
        ++stats.removed[out.rule.empty() ? "removed" : out.rule];
        continue;
      }
      ENCLAVE_CHECK(static_cast<std::size_t>(out.output) < outputs.size());
      outputs[out.output]->write_line(out.line.empty() ? to_jsonl(docs[i]) : out.line);
      ++stats.documents_out;
      stats.chars_out += out.chars_out >= 0 ? out.chars_out : count_code_points(docs[i].text);
    }
    if (progress != nullptr) progress->advance(n);
    lines.clear();
    numbers.clear();
  };
  Line line;
  while (reader.next(line)) {
    if (line.too_long)
      fail_input("{}: line {}: longer than the line limit", input.string(), line.number);
    if (line.text.empty()) continue;
    lines.emplace_back(line.text);
    numbers.push_back(line.number);
    if (lines.size() >= kBatch) flush();
  }
  flush();
  stats.bytes_in = reader.bytes_read();
  return stats;
}

}  // namespace enclave::data
