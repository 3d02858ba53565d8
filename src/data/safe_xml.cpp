#include "data/safe_xml.h"

#include "core/error.h"

namespace enclave::data {

namespace {
constexpr int kMaxDepth = 200;
}

void load_untrusted_xml(pugi::xml_document& doc, std::string_view xml, std::string_view what,
                        std::string_view entry) {
  if (xml.find("<!DOCTYPE") != std::string_view::npos ||
      xml.find("<!ENTITY") != std::string_view::npos) {
    fail_input("{}: {} declares a DTD or entities (refused: entity expansion)", what, entry);
  }
  const pugi::xml_parse_result parsed =
      doc.load_buffer(xml.data(), xml.size(), pugi::parse_default);
  if (!parsed)
    fail_input("{}: {}: {} at byte {}", what, entry, parsed.description(), parsed.offset);
}

void check_xml_depth(int depth) {
  if (depth > kMaxDepth) fail_input("XML nested deeper than {} levels", kMaxDepth);
}

std::string_view local_name(const pugi::xml_node& node) {
  const std::string_view name = node.name();
  const std::size_t colon = name.find(':');
  return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

}  // namespace enclave::data
