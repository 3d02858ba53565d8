#include "text/post_processor.h"

#include "core/error.h"
#include "text/bpe.h"

namespace enclave {

namespace {

std::vector<TokenId> read_ids(const JsonField& ids) {
  std::vector<TokenId> out;
  for (std::size_t i = 0; i < ids.array().size(); ++i) {
    const std::int64_t id = ids[i].integer();
    if (id < 0 || id > kMaxTokenId) ids[i].fail("token id out of range");
    out.push_back(static_cast<TokenId>(id));
  }
  return out;
}

PostProcessor parse_template(const JsonField& field) {
  PostProcessor p;
  const JsonField single = field["single"];
  const JsonField specials = field["special_tokens"];
  bool seen_sequence = false;
  for (std::size_t i = 0; i < single.array().size(); ++i) {
    const JsonField item = single[i];
    item.object();
    if (item.has("Sequence")) {
      const std::string id = item["Sequence"]["id"].string();
      if (id != "A")
        item["Sequence"]["id"].fail("a single-sequence template can only use $A, got $" + id);
      if (seen_sequence) item.fail("$A appears twice");
      seen_sequence = true;
    } else if (item.has("SpecialToken")) {
      const std::string name = item["SpecialToken"]["id"].string();
      const JsonField entry = specials[name];
      if (entry.is_null())
        item["SpecialToken"]["id"].fail("'" + name + "' is not in special_tokens");
      std::vector<TokenId> ids = read_ids(entry["ids"]);
      std::vector<TokenId>& target = seen_sequence ? p.suffix : p.prefix;
      target.insert(target.end(), ids.begin(), ids.end());
    } else {
      item.fail("expected {\"SpecialToken\": ...} or {\"Sequence\": ...}");
    }
  }
  if (!seen_sequence) single.fail("template has no $A");
  return p;
}

// ["<s>", 0] -> 0
TokenId read_token_pair(const JsonField& pair) {
  if (pair.array().size() != 2) pair.fail("expected [token, id]");
  pair[0].string();
  const std::int64_t id = pair[1].integer();
  if (id < 0 || id > kMaxTokenId) pair[1].fail("token id out of range");
  return static_cast<TokenId>(id);
}

}  // namespace

PostProcessor parse_post_processor(const JsonField& field) {
  if (field.is_null()) return {};
  field.object();
  const std::string type = field["type"].string();
  if (type == "TemplateProcessing") return parse_template(field);
  if (type == "ByteLevel") return {};
  if (type == "RobertaProcessing" || type == "BertProcessing") {
    return PostProcessor{{read_token_pair(field["cls"])}, {read_token_pair(field["sep"])}};
  }
  if (type == "Sequence") {
    // Each processor wraps the output of the ones before it.
    PostProcessor all;
    const JsonField list = field["processors"];
    for (std::size_t i = 0; i < list.array().size(); ++i) {
      PostProcessor p = parse_post_processor(list[i]);
      all.prefix.insert(all.prefix.begin(), p.prefix.begin(), p.prefix.end());
      all.suffix.insert(all.suffix.end(), p.suffix.begin(), p.suffix.end());
    }
    return all;
  }
  field["type"].fail_unsupported("post-processor type '" + type + "' is not supported");
}

}  // namespace enclave
