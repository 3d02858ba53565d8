// CompoundFile: a read-only reader of Microsoft's Compound File Binary
// format (CFB, "OLE2 structured storage", [MS-CFB]), the container of HWP
// 5.0 documents. It holds the whole file in memory and trusts none of it:
// every sector number is checked against the file, every chain (FAT,
// mini FAT, DIFAT, directory) is followed at most once per sector so loops
// are reported instead of followed, directory trees are walked with a
// visited set, and a stream's declared size must fit the sectors its chain
// really has and the caller's byte cap.
// Thread safety: a CompoundFile is immutable after construction; read() and
// children() are safe from several threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace enclave::data {

// Little-endian fields of the binary formats read here (CFB, HWP records);
// the caller has checked that off + 2 (4) bytes lie in b.
inline std::uint16_t le16(std::string_view b, std::size_t off) {
  return static_cast<std::uint16_t>(static_cast<unsigned char>(b[off]) |
                                    (static_cast<unsigned char>(b[off + 1]) << 8));
}
inline std::uint32_t le32(std::string_view b, std::size_t off) {
  return static_cast<std::uint32_t>(le16(b, off)) |
         (static_cast<std::uint32_t>(le16(b, off + 2)) << 16);
}

// UTF-16LE code units as UTF-8; an unpaired surrogate (or an odd last
// byte) becomes U+FFFD.
std::string utf16le_to_utf8(std::string_view bytes);

class CompoundFile {
 public:
  // Parses the header, the FAT (through the DIFAT), the mini FAT and the
  // directory of `bytes`. `what` names the file in errors. Throws
  // Error(kInvalidInput) naming the field and the reason ("not a compound
  // file", "FAT chain of the directory loops at sector 7", "sector 9000
  // past the end of the file").
  CompoundFile(std::string bytes, std::string what, std::uint64_t max_stream_bytes);

  // Names of the streams and storages directly inside the storage at
  // `path` ("" is the root, "BodyText" a storage under it), sorted; nullopt
  // if there is no such storage.
  std::optional<std::vector<std::string>> children(std::string_view path) const;
  // The bytes of the stream at `path` ("FileHeader", "BodyText/Section0"),
  // or nullopt if there is none. Throws Error(kInvalidInput) when its chain
  // is broken or loops, or its declared size is past max_stream_bytes or
  // past what its sectors hold.
  std::optional<std::string> read(std::string_view path) const;

 private:
  struct Entry {
    std::string name;       // UTF-8
    std::uint8_t type = 0;  // 1 storage, 2 stream, 5 root
    std::uint32_t left = 0, right = 0, child = 0;
    std::uint32_t start = 0;
    std::uint64_t size = 0;
  };

  std::string_view sector(std::uint32_t index) const;
  // The sectors of the chain from `start` in `fat`; `unit` names the chain in errors.
  std::vector<std::uint32_t> chain(const std::vector<std::uint32_t>& fat, std::uint32_t start,
                                   std::uint64_t n_max, std::string_view unit) const;
  std::string read_chain(std::uint32_t start, std::uint64_t size, std::string_view unit) const;
  std::vector<std::uint32_t> siblings(std::uint32_t storage) const;
  std::optional<std::uint32_t> find(std::string_view path) const;

  std::string bytes_;
  std::string what_;
  std::uint64_t max_stream_bytes_;
  std::uint32_t sector_size_ = 512;
  std::uint32_t mini_sector_size_ = 64;
  std::uint32_t mini_cutoff_ = 4096;
  std::uint64_t n_sectors_ = 0;
  std::vector<std::uint32_t> fat_;
  std::vector<std::uint32_t> mini_fat_;
  std::vector<Entry> entries_;
  std::string mini_stream_;
};

}  // namespace enclave::data
