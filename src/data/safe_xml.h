// Loading XML from untrusted containers (DOCX, HWPX) with pugixml: a
// document that declares a DTD or entities is refused (entity expansion,
// XXE; OOXML and OWPML never declare one), nothing external is ever read,
// and walkers bound their recursion with check_xml_depth.
// Thread safety: stateless.
#pragma once

#include <pugixml.hpp>
#include <string_view>

namespace enclave::data {

// Parses `xml` (the member `entry` of the file `what`) into doc. Throws
// Error(kInvalidInput) "WHAT: ENTRY: reason".
void load_untrusted_xml(pugi::xml_document& doc, std::string_view xml, std::string_view what,
                        std::string_view entry);

// Deeper XML than any real document: throws Error(kInvalidInput) past 200.
void check_xml_depth(int depth);

// The element's name without its namespace prefix ("hp:p" -> "p").
std::string_view local_name(const pugi::xml_node& node);

}  // namespace enclave::data
