// Compound File Binary reader after [MS-CFB] (Microsoft Open Specifications,
// "Compound File Binary File Format"): a 512-byte header (signature, sector
// shifts, FAT/DIFAT/mini-FAT/directory starts), sectors numbered from the
// one after the header, the FAT chaining them, the DIFAT listing the FAT's
// own sectors (109 in the header, the rest in a chain), 128-byte directory
// entries forming one red-black tree of siblings per storage, and the mini
// stream (the root entry's stream, cut into 64-byte sectors chained by the
// mini FAT) that holds every stream under the cutoff (4096 bytes).
#include "data/cfb.h"

#include <algorithm>
#include <cstring>

#include "core/error.h"
#include "text/utf8.h"

namespace enclave::data {

namespace {

constexpr std::uint32_t kEndOfChain = 0xFFFFFFFE;
constexpr std::uint32_t kNoStream = 0xFFFFFFFF;
constexpr std::uint32_t kMaxRegularSector = 0xFFFFFFFA;
constexpr std::size_t kHeaderBytes = 512;
constexpr std::size_t kEntryBytes = 128;
constexpr std::uint8_t kSignature[8] = {0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1};

std::uint64_t le64(std::string_view b, std::size_t off) {
  return static_cast<std::uint64_t>(le32(b, off)) |
         (static_cast<std::uint64_t>(le32(b, off + 4)) << 32);
}

bool same_name(std::string_view a, std::string_view b) {
  // [MS-CFB] compares names case-insensitively; ASCII folding covers the
  // names HWP uses.
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

std::string utf16le_to_utf8(std::string_view b) {
  std::string out;
  for (std::size_t i = 0; i + 1 < b.size(); i += 2) {
    char32_t cp = le16(b, i);
    if (cp >= 0xD800 && cp <= 0xDBFF && i + 3 < b.size()) {
      const char32_t low = le16(b, i + 2);
      if (low >= 0xDC00 && low <= 0xDFFF) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        i += 2;
      }
    }
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
    append_utf8(out, cp);
  }
  if (b.size() % 2 != 0) append_utf8(out, 0xFFFD);
  return out;
}

CompoundFile::CompoundFile(std::string bytes, std::string what, std::uint64_t max_stream_bytes)
    : bytes_(std::move(bytes)), what_(std::move(what)), max_stream_bytes_(max_stream_bytes) {
  if (bytes_.size() < kHeaderBytes)
    fail_input("{}: not a compound file ({} bytes, shorter than its header)", what_, bytes_.size());
  if (std::memcmp(bytes_.data(), kSignature, sizeof(kSignature)) != 0)
    fail_input("{}: not a compound file (no OLE2 signature)", what_);
  std::string_view h(bytes_.data(), kHeaderBytes);
  if (le16(h, 0x1C) != 0xFFFE) fail_input("{}: compound file header: bad byte order mark", what_);
  const std::uint16_t major = le16(h, 0x1A);
  const std::uint16_t sector_shift = le16(h, 0x1E);
  if (!((major == 3 && sector_shift == 9) || (major == 4 && sector_shift == 12))) {
    fail_input("{}: compound file header: version {} with sector shift {} (expected 3/9 or 4/12)",
               what_, major, sector_shift);
  }
  if (le16(h, 0x20) != 6)
    fail_input("{}: compound file header: mini sector shift {} (expected 6)", what_, le16(h, 0x20));
  sector_size_ = 1u << sector_shift;
  mini_cutoff_ = le32(h, 0x38);
  if (mini_cutoff_ != 4096)
    fail_input("{}: compound file header: mini stream cutoff {} (expected 4096)", what_,
               mini_cutoff_);
  // Sectors start after a whole sector (v4 pads the header to 4096 bytes).
  // A file cut inside its last sector is padded rather than refused, as
  // some writers do not fill it.
  if (bytes_.size() < sector_size_) fail_input("{}: compound file truncated in its header", what_);
  if (const std::size_t rem = bytes_.size() % sector_size_; rem != 0)
    bytes_.append(sector_size_ - rem, '\0');
  h = std::string_view(bytes_.data(), kHeaderBytes);  // the append may have moved the bytes
  n_sectors_ = bytes_.size() / sector_size_ - 1;

  // The FAT's sectors: the header's 109 DIFAT slots, then the DIFAT chain.
  const std::uint32_t n_fat = le32(h, 0x2C);
  if (n_fat == 0 || n_fat > n_sectors_)
    fail_input("{}: compound file header: {} FAT sectors in a file of {} sectors", what_, n_fat,
               n_sectors_);
  std::vector<std::uint32_t> fat_sectors;
  for (std::uint32_t i = 0; i < 109 && fat_sectors.size() < n_fat; ++i)
    fat_sectors.push_back(le32(h, 0x4C + 4 * i));
  std::uint32_t difat = le32(h, 0x44);
  const std::uint32_t n_difat = le32(h, 0x48);
  std::vector<bool> seen_difat(n_sectors_, false);
  for (std::uint32_t k = 0; fat_sectors.size() < n_fat; ++k) {
    if (k >= n_difat || difat >= n_sectors_) {
      fail_input("{}: DIFAT lists {} of {} FAT sectors (chain ends at sector {})", what_,
                 fat_sectors.size(), n_fat, difat);
    }
    if (seen_difat[difat]) fail_input("{}: DIFAT chain loops at sector {}", what_, difat);
    seen_difat[difat] = true;
    const std::string_view s = sector(difat);
    const std::uint32_t per = sector_size_ / 4 - 1;
    for (std::uint32_t i = 0; i < per && fat_sectors.size() < n_fat; ++i)
      fat_sectors.push_back(le32(s, 4 * i));
    difat = le32(s, 4 * per);
  }
  fat_.reserve(static_cast<std::size_t>(n_fat) * (sector_size_ / 4));
  for (std::uint32_t fs : fat_sectors) {
    if (fs >= n_sectors_)
      fail_input("{}: FAT sector {} past the end of the file ({} sectors)", what_, fs, n_sectors_);
    const std::string_view s = sector(fs);
    for (std::uint32_t i = 0; i < sector_size_ / 4; ++i) fat_.push_back(le32(s, 4 * i));
  }

  // Directory: a chain of 128-byte entries; entry 0 is the root.
  const auto dir = chain(fat_, le32(h, 0x30), n_sectors_, "directory");
  for (std::uint32_t ds : dir) {
    const std::string_view s = sector(ds);
    for (std::size_t off = 0; off + kEntryBytes <= s.size(); off += kEntryBytes) {
      const std::string_view e = s.substr(off, kEntryBytes);
      Entry entry;
      entry.type = static_cast<std::uint8_t>(e[0x42]);
      const std::uint16_t name_bytes = le16(e, 0x40);
      if (entry.type != 0) {
        if (name_bytes > 64 || name_bytes % 2 != 0 || name_bytes < 2) {
          fail_input("{}: directory entry {}: name length {} bytes (at most 64, even)", what_,
                     entries_.size(), name_bytes);
        }
        entry.name = utf16le_to_utf8(e.substr(0, name_bytes - 2));
      }
      entry.left = le32(e, 0x44);
      entry.right = le32(e, 0x48);
      entry.child = le32(e, 0x4C);
      entry.start = le32(e, 0x74);
      entry.size = major == 3 ? le32(e, 0x78) : le64(e, 0x78);
      entries_.push_back(std::move(entry));
    }
  }
  if (entries_.empty() || entries_[0].type != 5)
    fail_input("{}: directory entry 0 is not the root storage", what_);

  // Mini FAT and mini stream (the root entry's data).
  const std::uint32_t n_mini_fat = le32(h, 0x40);
  if (n_mini_fat > 0) {
    const auto mf = chain(fat_, le32(h, 0x3C), n_mini_fat, "mini FAT");
    if (mf.size() < n_mini_fat)
      fail_input("{}: mini FAT chain holds {} of {} sectors", what_, mf.size(), n_mini_fat);
    for (std::uint32_t ms : mf) {
      const std::string_view s = sector(ms);
      for (std::uint32_t i = 0; i < sector_size_ / 4; ++i) mini_fat_.push_back(le32(s, 4 * i));
    }
  }
  const Entry& root = entries_[0];
  if (root.size > 0) {
    if (root.size > n_sectors_ * sector_size_)
      fail_input("{}: mini stream declares {} bytes, more than the file holds", what_, root.size);
    const auto ms =
        chain(fat_, root.start, (root.size + sector_size_ - 1) / sector_size_, "mini stream");
    if (static_cast<std::uint64_t>(ms.size()) * sector_size_ < root.size)
      fail_input("{}: mini stream declares {} bytes but its chain holds {} sectors", what_,
                 root.size, ms.size());
    for (std::uint32_t s : ms) mini_stream_ += sector(s);
    mini_stream_.resize(root.size);
  }
}

std::string_view CompoundFile::sector(std::uint32_t index) const {
  ENCLAVE_CHECK(index < n_sectors_);
  return std::string_view(bytes_).substr((static_cast<std::size_t>(index) + 1) * sector_size_,
                                         sector_size_);
}

std::vector<std::uint32_t> CompoundFile::chain(const std::vector<std::uint32_t>& fat,
                                               std::uint32_t start, std::uint64_t n_max,
                                               std::string_view unit) const {
  // Each sector at most once: a chain that comes back to a sector loops.
  const bool regular = &fat == &fat_;
  const std::uint64_t n_units =
      regular ? n_sectors_ : std::min<std::uint64_t>(fat.size(), mini_stream_.size() / 64);
  std::vector<bool> seen(std::min<std::uint64_t>(fat.size(), n_units), false);
  std::vector<std::uint32_t> out;
  std::uint32_t s = start;
  while (s != kEndOfChain && out.size() < n_max) {
    if (s > kMaxRegularSector)
      fail_input("{}: {} chain reaches a free or special sector (0x{:08X})", what_, unit, s);
    if (s >= seen.size())
      fail_input("{}: {} chain: sector {} past the end ({} sectors)", what_, unit, s, seen.size());
    if (seen[s]) fail_input("{}: {} chain loops at sector {}", what_, unit, s);
    seen[s] = true;
    out.push_back(s);
    s = fat[s];
  }
  return out;
}

std::string CompoundFile::read_chain(std::uint32_t start, std::uint64_t size,
                                     std::string_view unit) const {
  if (size > max_stream_bytes_)
    fail_input("{}: stream '{}' declares {} bytes (limit {})", what_, unit, size,
               max_stream_bytes_);
  const bool mini = size < mini_cutoff_;
  const std::uint32_t unit_size = mini ? 64 : sector_size_;
  const std::uint64_t needed = (size + unit_size - 1) / unit_size;
  const auto sectors = chain(mini ? mini_fat_ : fat_, start, needed, unit);
  if (sectors.size() < needed) {
    fail_input("{}: stream '{}' declares {} bytes but its chain holds {} sectors of {}", what_,
               unit, size, sectors.size(), unit_size);
  }
  std::string out;
  out.reserve(static_cast<std::size_t>(size));
  for (std::uint32_t s : sectors) {
    if (mini) {
      out.append(mini_stream_, static_cast<std::size_t>(s) * 64, 64);
    } else {
      out += sector(s);
    }
  }
  out.resize(static_cast<std::size_t>(size));
  return out;
}

std::vector<std::uint32_t> CompoundFile::siblings(std::uint32_t storage) const {
  std::vector<std::uint32_t> out;
  std::vector<bool> seen(entries_.size(), false);
  std::vector<std::uint32_t> stack;
  if (entries_[storage].child != kNoStream) stack.push_back(entries_[storage].child);
  while (!stack.empty()) {
    const std::uint32_t i = stack.back();
    stack.pop_back();
    if (i >= entries_.size())
      fail_input("{}: directory entry {} past the directory ({} entries)", what_, i,
                 entries_.size());
    if (seen[i] || i == 0) fail_input("{}: directory tree loops at entry {}", what_, i);
    seen[i] = true;
    out.push_back(i);
    if (entries_[i].left != kNoStream) stack.push_back(entries_[i].left);
    if (entries_[i].right != kNoStream) stack.push_back(entries_[i].right);
  }
  return out;
}

std::optional<std::uint32_t> CompoundFile::find(std::string_view path) const {
  std::uint32_t at = 0;
  while (!path.empty()) {
    const std::size_t slash = path.find('/');
    const std::string_view part = path.substr(0, slash);
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
    if (entries_[at].type != 1 && entries_[at].type != 5) return std::nullopt;
    std::optional<std::uint32_t> next;
    for (std::uint32_t i : siblings(at)) {
      if (entries_[i].type != 0 && same_name(entries_[i].name, part)) next = i;
    }
    if (!next) return std::nullopt;
    at = *next;
  }
  return at;
}

std::optional<std::vector<std::string>> CompoundFile::children(std::string_view path) const {
  const auto at = find(path);
  if (!at || (entries_[*at].type != 1 && entries_[*at].type != 5)) return std::nullopt;
  std::vector<std::string> names;
  for (std::uint32_t i : siblings(*at)) {
    if (entries_[i].type != 0) names.push_back(entries_[i].name);
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::optional<std::string> CompoundFile::read(std::string_view path) const {
  const auto at = find(path);
  if (!at || entries_[*at].type != 2) return std::nullopt;
  return read_chain(entries_[*at].start, entries_[*at].size, path);
}

}  // namespace enclave::data
