#include "text/json_field.h"

#include "core/error.h"

namespace enclave {

namespace {
const nlohmann::json kNull = nullptr;
}  // namespace

JsonField::JsonField(const nlohmann::json& value, std::string file, std::string path)
    : value_(&value), file_(std::move(file)), path_(std::move(path)) {}

JsonField JsonField::operator[](std::string_view key) const {
  std::string path = path_.empty() ? std::string(key) : path_ + "." + std::string(key);
  if (!value_->is_object()) return JsonField(kNull, file_, std::move(path));
  auto it = value_->find(key);
  return JsonField(it == value_->end() ? kNull : *it, file_, std::move(path));
}

JsonField JsonField::operator[](std::size_t index) const {
  std::string path = path_ + "[" + std::to_string(index) + "]";
  if (!value_->is_array() || index >= value_->size())
    return JsonField(kNull, file_, std::move(path));
  return JsonField((*value_)[index], file_, std::move(path));
}

bool JsonField::has(std::string_view key) const {
  return value_->is_object() && value_->contains(key) && !(*value_)[std::string(key)].is_null();
}

void JsonField::fail(std::string_view reason) const {
  if (path_.empty()) fail_input("{}: {}", file_, reason);
  fail_input("{}: field '{}': {}", file_, path_, reason);
}

void JsonField::fail_unsupported(std::string_view reason) const {
  if (path_.empty()) enclave::fail(ErrorKind::kUnsupported, "{}: {}", file_, reason);
  enclave::fail(ErrorKind::kUnsupported, "{}: field '{}': {}", file_, path_, reason);
}

namespace {
std::string got(const nlohmann::json& v) {
  return v.is_null() ? std::string("missing") : std::string("got ") + v.type_name();
}
}  // namespace

const nlohmann::json& JsonField::object() const {
  if (!value_->is_object()) fail("expected an object, " + got(*value_));
  return *value_;
}

const nlohmann::json& JsonField::array() const {
  if (!value_->is_array()) fail("expected an array, " + got(*value_));
  return *value_;
}

std::string JsonField::string() const {
  if (!value_->is_string()) fail("expected a string, " + got(*value_));
  return value_->get<std::string>();
}

std::int64_t JsonField::integer() const {
  if (value_->is_number_unsigned()) {
    if (value_->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
      fail("integer out of range");
    return static_cast<std::int64_t>(value_->get<std::uint64_t>());
  }
  if (value_->is_number_integer()) return value_->get<std::int64_t>();
  fail("expected an integer, " + got(*value_));
}

bool JsonField::boolean() const {
  if (!value_->is_boolean()) fail("expected true or false, " + got(*value_));
  return value_->get<bool>();
}

std::string JsonField::string_or(std::string fallback) const {
  return is_null() ? std::move(fallback) : string();
}

std::optional<std::string> JsonField::optional_string() const {
  if (is_null()) return std::nullopt;
  return string();
}

bool JsonField::boolean_or(bool fallback) const { return is_null() ? fallback : boolean(); }

}  // namespace enclave
