#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/file.h"
#include "core/scratch_dir_testing.h"

namespace enclave {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWhat = "model.safetensors";

// 8-byte little-endian length, header text, data: the layout of the format,
// built by hand so malformed files can be made byte by byte.
std::string make_file(std::string_view header, std::string_view data = "") {
  std::string out;
  std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  out += header;
  out += data;
  return out;
}

std::span<const std::uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

struct Failure {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;  // empty if parsing succeeded
};

Failure parse_error(std::string_view file) {
  try {
    parse_safetensors(as_bytes(file), kWhat);
  } catch (const Error& e) {
    return {e.kind(), e.what()};
  }
  return {};
}

// Parses one tensor entry with `data_size` bytes of data and returns the error.
std::string tensor_error(std::string_view entry, std::size_t data_size) {
  std::string header = fmt::format(R"({{"t":{}}})", entry);
  return parse_error(make_file(header, std::string(data_size, '\0'))).message;
}

void expect_error(std::string_view file, std::string_view expected) {
  Failure f = parse_error(file);
  EXPECT_EQ(f.kind, ErrorKind::kInvalidInput) << f.message;
  EXPECT_NE(f.message.find(expected), std::string::npos)
      << "expected '" << expected << "' in: " << f.message;
  EXPECT_EQ(f.message.rfind(kWhat, 0), 0u) << "error must start with the file: " << f.message;
}

// One U8 tensor entry: "name":{"dtype":"U8","shape":[n],"data_offsets":[b,e]}.
std::string u8(std::string_view name, int n, int begin, int end) {
  return fmt::format(R"("{}":{{"dtype":"U8","shape":[{}],"data_offsets":[{},{}]}})", name, n, begin,
                     end);
}

class SafetensorsFileTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir_{"safetensors"};
};

std::vector<std::uint8_t> pattern(std::size_t n, std::uint8_t seed) {
  std::vector<std::uint8_t> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<std::uint8_t>(seed + 7 * i);
  return v;
}

TEST(DTypeTest, NamesAndSizesRoundTrip) {
  const std::vector<std::pair<std::string, std::size_t>> expected = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
      {"I32", 4}, {"I16", 2}, {"I8", 1},  {"U8", 1},   {"BOOL", 1}};
  for (const auto& [name, size] : expected) {
    std::optional<DType> dtype = dtype_from_safetensors(name);
    ASSERT_TRUE(dtype.has_value()) << name;
    EXPECT_EQ(dtype_safetensors_name(*dtype), name);
    EXPECT_EQ(dtype_size(*dtype), size) << name;
  }
  EXPECT_FALSE(dtype_from_safetensors("F8_E4M3").has_value());
  EXPECT_FALSE(dtype_from_safetensors("f32").has_value());
  EXPECT_FALSE(dtype_from_safetensors("").has_value());
}

TEST_F(SafetensorsFileTest, RoundTripsEveryDtypeScalarZeroSizeAndMetadata) {
  const std::vector<DType> dtypes = {DType::kF64, DType::kF32, DType::kF16, DType::kBF16,
                                     DType::kI64, DType::kI32, DType::kI16, DType::kI8,
                                     DType::kU8,  DType::kBool};
  std::vector<std::vector<std::uint8_t>> buffers;
  std::vector<TensorToWrite> tensors;
  for (std::size_t i = 0; i < dtypes.size(); ++i) {
    // Odd shapes so a mixed-up stride or size shows.
    std::vector<std::int64_t> shape = {static_cast<std::int64_t>(i + 1), 3};
    buffers.push_back(pattern(dtype_size(dtypes[i]) * (i + 1) * 3, static_cast<std::uint8_t>(i)));
    tensors.push_back({fmt::format("layers.{}.{}", i, dtype_safetensors_name(dtypes[i])), dtypes[i],
                       shape, buffers.back()});
  }
  buffers.push_back(pattern(4, 99));
  tensors.push_back({"scalar", DType::kF32, {}, buffers.back()});
  tensors.push_back({"empty", DType::kBF16, {0, 5}, {}});
  tensors.push_back(
      {"after_empty", DType::kU8, {1}, std::span<const std::uint8_t>(buffers[0]).first(1)});
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "ü \"quoted\""}};

  const fs::path path = dir_ / "model.safetensors";
  write_safetensors(path, tensors, metadata);
  SafetensorsFile file(path);

  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const TensorToWrite& want = tensors[i];
    // The writer keeps the caller's order, so data order equals it too.
    EXPECT_EQ(file.tensors()[i].name, want.name);
    const TensorInfo* got = file.find(want.name);
    ASSERT_NE(got, nullptr) << want.name;
    EXPECT_EQ(got->dtype, want.dtype) << want.name;
    EXPECT_EQ(got->shape, want.shape) << want.name;
    std::span<const std::uint8_t> data = file.data(*got);
    ASSERT_EQ(data.size(), want.bytes.size()) << want.name;
    EXPECT_TRUE(std::equal(data.begin(), data.end(), want.bytes.begin())) << want.name;
  }
  const TensorInfo* scalar = file.find("scalar");
  EXPECT_EQ(scalar->n_elements(), 1u);
  EXPECT_EQ(scalar->n_bytes(), 4u);
  const TensorInfo* empty = file.find("empty");
  EXPECT_EQ(empty->n_elements(), 0u);
  EXPECT_EQ(empty->offset_begin, empty->offset_end);
  EXPECT_EQ(file.data(*empty).size(), 0u);
  EXPECT_EQ(file.find("missing"), nullptr);
  EXPECT_EQ(file.find("layers.0"), nullptr);

  // The data region starts 8-byte aligned, as the reference writer keeps it.
  std::string raw = read_file(path);
  std::uint64_t n = 0;
  std::memcpy(&n, raw.data(), 8);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(raw.compare(8, 16, R"({"__metadata__":)"), 0) << raw.substr(8, 40);
  // Spans point into the mapped file: no copies.
  const std::uint8_t* base = file.data(file.tensors()[0]).data();
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(base) % 8, 0u);
}

TEST_F(SafetensorsFileTest, WriterMatchesReferenceLayoutByteForByte) {
  // The layout the reference implementation (huggingface/safetensors) writes
  // for one F32 tensor of shape [1, 1, 2, 3] holding 0..5: compact JSON,
  // padded with spaces so that 8 + N is a multiple of 8.
  std::string header = R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}})";
  ASSERT_EQ(header.size(), 65u);
  header += std::string(7, ' ');
  std::vector<float> values = {0, 1, 2, 3, 4, 5};
  std::string data(reinterpret_cast<const char*>(values.data()), 24);
  const std::string expected = make_file(header, data);

  write_safetensors(dir_ / "a.safetensors", {{"attn0", DType::kF32, {1, 1, 2, 3}, as_bytes(data)}});
  EXPECT_EQ(read_file(dir_ / "a.safetensors"), expected);
  SafetensorsFile file(dir_ / "a.safetensors");
  EXPECT_EQ(file.tensors().at(0).n_bytes(), 24u);

  // No tensors, metadata only: {"__metadata__":{"framework":"pt"}} + 5 spaces.
  write_safetensors(dir_ / "b.safetensors", {}, {{"framework", "pt"}});
  EXPECT_EQ(read_file(dir_ / "b.safetensors"),
            make_file(R"({"__metadata__":{"framework":"pt"}})" + std::string(5, ' ')));
  write_safetensors(dir_ / "c.safetensors", {});
  EXPECT_EQ(read_file(dir_ / "c.safetensors"), make_file("{}      "));
  EXPECT_TRUE(SafetensorsFile(dir_ / "c.safetensors").tensors().empty());
}

TEST_F(SafetensorsFileTest, WriterRejectsBadTensorsAndLeavesNothingBehind) {
  std::vector<std::uint8_t> bytes(16);
  auto error_of = [&](const std::vector<TensorToWrite>& tensors,
                      const std::map<std::string, std::string>& metadata = {}) {
    try {
      write_safetensors(dir_ / "out.safetensors", tensors, metadata);
    } catch (const Error& e) {
      EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
      return std::string(e.what());
    }
    return std::string();
  };
  const std::string out = (dir_ / "out.safetensors").string();
  EXPECT_EQ(error_of({{"a", DType::kF32, {2, 2}, bytes}, {"a", DType::kF32, {4}, bytes}}),
            out + ": duplicate tensor name 'a'");
  EXPECT_EQ(error_of({{"w", DType::kF32, {3}, bytes}}),
            out + ": tensor 'w': 16 bytes given but F32 shape [3] needs 12");
  EXPECT_EQ(error_of({{"w", DType::kF32, {-4}, bytes}}),
            out + ": tensor 'w': shape[0] is -4, expected a non-negative integer");
  EXPECT_NE(error_of({{"w", DType::kF32, {INT64_MAX, 4}, bytes}}).find("overflows 64 bits"),
            std::string::npos);
  EXPECT_NE(error_of({{"__metadata__", DType::kU8, {16}, bytes}}).find("reserved"),
            std::string::npos);
  EXPECT_EQ(error_of({{"bad\xff", DType::kU8, {16}, bytes}}),
            out + ": the name of tensor #0 is not valid UTF-8");
  EXPECT_EQ(error_of({}, {{"k", "\xc3"}}), out + ": __metadata__ field 'k' is not valid UTF-8");
  EXPECT_TRUE(fs::is_empty(dir_.path())) << "a failed write must leave no file";
}

TEST_F(SafetensorsFileTest, OpenReportsMissingFileAndMalformedFile) {
  try {
    SafetensorsFile file(dir_ / "absent.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kNotFound);
  }
  write_file_atomic(dir_ / "bad.safetensors", make_file("{}", "xyz"));
  try {
    SafetensorsFile file(dir_ / "bad.safetensors");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInvalidInput);
    EXPECT_EQ(std::string(e.what()),
              (dir_ / "bad.safetensors").string() +
                  ": 3 trailing bytes after the end of the tensor data (offset 0 of 3)");
  }
}

TEST(SafetensorsParseTest, AcceptsScalarZeroSizePaddingAndAnyKeyOrder) {
  // Keys out of data order, a scalar, a zero-size tensor and reference-style
  // space padding: all valid.
  std::string header =
      R"({"b":{"shape":[],"dtype":"I32","data_offsets":[2,6]},)"
      R"("z":{"data_offsets":[2,2],"dtype":"F32","shape":[4,0]},)"
      R"("a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"__metadata__":{"k":"v"}})";
  header += "   \n\t ";
  SafetensorsHeader h = parse_safetensors(as_bytes(make_file(header, "abcdef")), kWhat);
  ASSERT_EQ(h.tensors.size(), 3u);
  EXPECT_EQ(h.tensors[0].name, "a");
  EXPECT_EQ(h.tensors[1].name, "z");
  EXPECT_EQ(h.tensors[2].name, "b");
  EXPECT_EQ(h.tensors[2].n_elements(), 1u);
  EXPECT_EQ(h.tensors[1].n_bytes(), 0u);
  EXPECT_EQ(h.metadata.at("k"), "v");
  EXPECT_EQ(h.data_start, 8 + header.size());
  // null metadata is treated as absent, as the reference reader does.
  EXPECT_TRUE(
      parse_safetensors(as_bytes(make_file(R"({"__metadata__":null})")), kWhat).metadata.empty());
}

// RELIABILITY.md case 1.
TEST(SafetensorsParseTest, RejectsBadHeaderLengthBeforeAllocating) {
  for (std::size_t n = 0; n < 8; ++n) {
    expect_error(std::string(n, '\0'), fmt::format("file is {} bytes, too short", n));
  }
  std::string huge(8, '\xff');
  expect_error(huge + "{}", "header length 18446744073709551615 is over the limit of 100000000");
  std::string over = make_file("{}");
  std::uint64_t n = kSafetensorsMaxHeader + 1;
  std::memcpy(over.data(), &n, 8);
  expect_error(over, "header length 100000001 is over the limit");
  std::string past = make_file("{}");
  past[0] = 3;
  expect_error(past, "header length 3 runs past the end of the file (10 bytes)");
}

// Case 2.
TEST(SafetensorsParseTest, RejectsHeaderThatIsNotUtf8JsonObject) {
  expect_error(make_file("{\"a\xff\":1}"), "model.safetensors: header: invalid JSON");
  expect_error(make_file("{\xc3\x28}"), "header: invalid JSON");
  expect_error(make_file("{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]"),
               "header: invalid JSON");
  expect_error(make_file("[1,2]"), "header is not a JSON object (it must start with '{')");
  expect_error(make_file("\"x\""), "header is not a JSON object");
  expect_error(make_file(" {}"), "header is not a JSON object");
  expect_error(make_file("\xEF\xBB\xBF{}"), "header is not a JSON object");
  expect_error(make_file(""), "header is not a JSON object");
  expect_error(make_file("{} {}"), "header: invalid JSON");
  // nlohmann takes a NUL for the end of input; bytes hidden after it must
  // not pass.
  expect_error(make_file(std::string("{}\0{\"hidden\":1}", 15)),
               "header: invalid JSON: NUL byte at offset 10");
}

// Case 3.
TEST(SafetensorsParseTest, RejectsOverlapsGapsAndEndBeforeStart) {
  EXPECT_EQ(tensor_error(R"({"dtype":"F32","shape":[1],"data_offsets":[10,4]})", 16),
            "model.safetensors: tensor 't': data_offsets [10, 4] end before start");
  expect_error(
      make_file(R"({"model.layers.3.mlp.up_proj.weight":{"dtype":"F32","shape":[1],)"
                R"("data_offsets":[10,4]}})"),
      "model.safetensors: tensor 'model.layers.3.mlp.up_proj.weight': data_offsets [10, 4] end "
      "before start");
  struct Case {
    std::string header;
    std::size_t data_size;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"{" + u8("a", 4, 0, 4) + "," + u8("b", 4, 2, 6) + "}", 6,
       "tensor 'b': data_offsets [2, 6] overlap tensor 'a' [0, 4]"},
      // Two names for the same bytes are an overlap too.
      {"{" + u8("a", 4, 0, 4) + "," + u8("b", 4, 0, 4) + "}", 4, "overlap tensor 'a' [0, 4]"},
      // A zero-size tensor inside another one.
      {"{" + u8("a", 4, 0, 4) + "," + u8("z", 0, 2, 2) + "}", 4,
       "tensor 'z': data_offsets [2, 2] overlap tensor 'a' [0, 4]"},
      {"{" + u8("a", 4, 0, 4) + "," + u8("b", 2, 6, 8) + "}", 8,
       "tensor 'b': data_offsets [6, 8] leave a gap of 2 unused bytes after tensor 'a'"},
      {"{" + u8("a", 4, 4, 8) + "}", 8,
       "tensor 'a': data_offsets [4, 8] leave a gap of 4 unused bytes after the start"},
  };
  for (const Case& c : cases) {
    expect_error(make_file(c.header, std::string(c.data_size, 'x')), c.expected);
  }
}

// Case 4.
TEST(SafetensorsParseTest, RejectsTrailingAndMissingBytes) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
  EXPECT_EQ(parse_error(make_file(header, "12345678")).message, "");
  expect_error(make_file(header, "12345678<script>"),
               "8 trailing bytes after the end of the tensor data (offset 8 of 16)");
  expect_error(make_file(header, "1234567"),
               "tensor 'a': data_offsets [0, 8] run past the end of the data (7 bytes)");
  expect_error(make_file("{}", "x"), "1 trailing bytes");
}

// Case 5.
TEST(SafetensorsParseTest, RejectsShapesWhoseSizeOverflows) {
  // 2^64-2 does not even fit a signed dim.
  EXPECT_NE(
      tensor_error(R"({"dtype":"U8","shape":[2,18446744073709551614],"data_offsets":[0,0]})", 0)
          .find("shape[1] is 18446744073709551614, expected a non-negative integer"),
      std::string::npos);
  // Element count 2^64 overflows.
  EXPECT_EQ(
      tensor_error(R"({"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]})", 0),
      "model.safetensors: tensor 't': shape [4294967296, 4294967296] of U8 is too large "
      "(byte size overflows 64 bits)");
  // Element count fits (2^64-2) but times 4 bytes does not.
  EXPECT_NE(
      tensor_error(R"({"dtype":"F32","shape":[9223372036854775807,2],"data_offsets":[0,0]})", 0)
          .find("overflows 64 bits"),
      std::string::npos);
  // A product that wraps to exactly the offsets given must not pass:
  // 2^62 * 4 bytes = 2^64 wraps to 0.
  EXPECT_NE(tensor_error(R"({"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,0]})", 0)
                .find("overflows 64 bits"),
            std::string::npos);
}

// Case 6.
TEST(SafetensorsParseTest, RejectsByteSizeThatDisagreesWithShape) {
  EXPECT_EQ(tensor_error(R"({"dtype":"BF16","shape":[2,3],"data_offsets":[0,10]})", 10),
            "model.safetensors: tensor 't': data_offsets [0, 10] hold 10 bytes but BF16 shape "
            "[2, 3] needs 12");
  EXPECT_NE(tensor_error(R"({"dtype":"F32","shape":[0],"data_offsets":[0,4]})", 4)
                .find("hold 4 bytes but F32 shape [0] needs 0"),
            std::string::npos);
}

// Case 7.
TEST(SafetensorsParseTest, RejectsBadDtypesDimsOffsetsAndMetadata) {
  auto entry = [](std::string_view dtype, std::string_view shape, std::string_view offsets) {
    return tensor_error(
        fmt::format(R"({{"dtype":{},"shape":{},"data_offsets":{}}})", dtype, shape, offsets), 4);
  };
  EXPECT_EQ(entry(R"("F17")", "[1]", "[0,4]"),
            "model.safetensors: tensor 't': unknown dtype \"F17\" (expected F64, F32, F16, BF16, "
            "I64, I32, I16, I8, U8 or BOOL)");
  EXPECT_NE(entry("32", "[1]", "[0,4]").find("field 'dtype': expected a string, got 32"),
            std::string::npos);
  EXPECT_NE(entry(R"("U8")", "[-4]", "[0,4]").find("shape[0] is -4, expected a non-negative"),
            std::string::npos);
  EXPECT_NE(entry(R"("U8")", "[4.0]", "[0,4]").find("shape[0] is 4.0, expected"),
            std::string::npos);
  EXPECT_NE(entry(R"("U8")", "[2,1e0]", "[0,4]").find("shape[1] is 1.0"), std::string::npos);
  EXPECT_NE(entry(R"("U8")", R"(["4"])", "[0,4]").find(R"(shape[0] is "4", expected)"),
            std::string::npos);
  EXPECT_NE(entry(R"("U8")", "4", "[0,4]").find("field 'shape': expected an array of integers"),
            std::string::npos);
  EXPECT_NE(entry(R"("U8")", "[[4]]", "[0,4]").find("shape[0] is [4]"), std::string::npos);
  for (std::string_view bad :
       {"[0]", "[0,4,4]", "[-1,3]", "[0,4.0]", R"(["0",4])", "{}", "4", "null"}) {
    EXPECT_NE(entry(R"("U8")", "[4]", bad).find("expected [begin, end] with non-negative"),
              std::string::npos)
        << bad;
  }
  EXPECT_EQ(tensor_error("[1,2]", 0),
            "model.safetensors: tensor 't': expected an object with dtype, shape and "
            "data_offsets, got [1,2]");
  EXPECT_EQ(tensor_error(R"({"dtype":"U8","shape":[4],"data_offsets":[0,4],"extra":1})", 4),
            "model.safetensors: tensor 't': unknown field 'extra'");
  EXPECT_EQ(tensor_error(R"({"dtype":"U8","shape":[4]})", 4),
            "model.safetensors: tensor 't': missing field 'data_offsets'");
  EXPECT_EQ(tensor_error(R"({"shape":[4],"data_offsets":[0,4]})", 4),
            "model.safetensors: tensor 't': missing field 'dtype'");
  EXPECT_EQ(tensor_error(R"({"dtype":"U8","data_offsets":[0,4]})", 4),
            "model.safetensors: tensor 't': missing field 'shape'");
  expect_error(make_file(R"({"__metadata__":{"a":"x","b":1}})"),
               "__metadata__: field 'b': expected a string, got 1");
  expect_error(make_file(R"({"__metadata__":{"a":{"x":"y"}}})"), "field 'a': expected a string");
  expect_error(make_file(R"({"__metadata__":["a"]})"),
               "__metadata__: expected an object of strings, got [\"a\"]");

  // A dtype the format defines but we do not load is unsupported, not malformed.
  Failure fp8 = parse_error(
      make_file(R"({"t":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}})", "1234"));
  EXPECT_EQ(fp8.kind, ErrorKind::kUnsupported);
  EXPECT_EQ(fp8.message, "model.safetensors: tensor 't': dtype F8_E4M3 is not supported yet");
  // Long garbage is cut short in the message.
  std::string long_dtype = "\"" + std::string(500, 'X') + "\"";
  EXPECT_LT(entry(long_dtype, "[4]", "[0,4]").size(), 250u);
}

// Case 8.
TEST(SafetensorsParseTest, RejectsDuplicateNamesAndKeys) {
  expect_error(make_file(R"({"w":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},)"
                         R"("w":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}})",
                         "1234"),
               "header: duplicate JSON key 'w'");
  expect_error(
      make_file(R"({"w":{"dtype":"U8","dtype":"I8","shape":[2],"data_offsets":[0,2]}})", "12"),
      "duplicate JSON key 'dtype'");
  expect_error(make_file(R"({"__metadata__":{},"__metadata__":{}})"),
               "duplicate JSON key '__metadata__'");
}

// Case 9.
TEST(SafetensorsParseTest, RejectsDeepNestingWithoutCrashing) {
  std::string deep =
      R"({"__metadata__":)" + std::string(100000, '[') + std::string(100000, ']') + "}";
  expect_error(make_file(deep), "header: JSON nested deeper than 8 levels");
  std::string deep_shape = R"({"t":{"dtype":"U8","shape":)" + std::string(20, '[') + "1" +
                           std::string(20, ']') + R"(,"data_offsets":[0,1]}})";
  expect_error(make_file(deep_shape, "x"), "nested deeper");
}

// Case 18 applied to safetensors: every prefix of a valid file fails cleanly.
TEST_F(SafetensorsFileTest, EveryTruncationGivesACleanError) {
  std::vector<std::uint8_t> a = pattern(24, 1), b = pattern(6, 2);
  write_safetensors(dir_ / "m.safetensors",
                    {{"a", DType::kF32, {2, 3}, a},
                     {"b", DType::kBF16, {3}, b},
                     {"s", DType::kI8, {}, std::span<const std::uint8_t>(b).first(1)}},
                    {{"format", "pt"}});
  const std::string full = read_file(dir_ / "m.safetensors");
  ASSERT_EQ(parse_error(full).message, "");
  for (std::size_t n = 0; n < full.size(); ++n) {
    Failure f = parse_error(std::string_view(full).substr(0, n));
    EXPECT_EQ(f.kind, ErrorKind::kInvalidInput) << "prefix " << n << ": " << f.message;
    EXPECT_FALSE(f.message.empty()) << "prefix of " << n << " bytes parsed as valid";
  }
}

// Every single-byte change of the length or header either still parses (a
// change inside a name, say) or fails with an Error: never a crash.
TEST_F(SafetensorsFileTest, EveryHeaderByteFlipIsHandled) {
  std::vector<std::uint8_t> a = pattern(8, 3);
  write_safetensors(dir_ / "m.safetensors",
                    {{"a", DType::kF32, {2}, a}, {"z", DType::kU8, {0}, {}}}, {{"k", "v"}});
  const std::string full = read_file(dir_ / "m.safetensors");
  std::uint64_t header_end = 8 + static_cast<std::uint8_t>(full[0]);
  int n_rejected = 0;
  for (std::size_t i = 0; i < header_end; ++i) {
    for (char c : {'\0', '\xff', '9', '"', '{', ']', '-', '.'}) {
      std::string changed = full;
      changed[i] = c;
      try {
        parse_safetensors(as_bytes(changed), kWhat);
      } catch (const Error& e) {
        ++n_rejected;
        EXPECT_EQ(std::string(e.what()).rfind(kWhat, 0), 0u) << e.what();
      }
    }
  }
  EXPECT_GT(n_rejected, 0);
}

}  // namespace
}  // namespace enclave
