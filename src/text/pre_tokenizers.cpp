#include "text/pre_tokenizers.h"

#include <algorithm>

#include "core/error.h"
#include "text/byte_level.h"
#include "text/normalizers.h"
#include "text/unicode_class.h"
#include "text/utf8.h"

namespace enclave {

namespace {

constexpr std::string_view kMetaspace = "\xE2\x96\x81";  // U+2581 "▁"

// Each numeric character is one match (HF's char-predicate patterns).
std::vector<ByteRange> digit_matches(std::string_view text) {
  std::vector<ByteRange> out;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t start = pos;
    if (is_number(next_code_point(text, pos))) out.emplace_back(start, pos);
  }
  return out;
}

SplitBehavior parse_behavior(const JsonField& field) {
  const std::string b = field.string();
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  field.fail("unknown split behavior '" + b + "'");
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::vector<ByteRange> split_by_matches(std::size_t size, const std::vector<ByteRange>& matches,
                                        SplitBehavior behavior, bool invert) {
  // The whole text as alternating (range, is_match) parts, as HF's find_matches.
  struct Part {
    ByteRange range;
    bool is_match;
  };
  std::vector<Part> parts;
  std::size_t pos = 0;
  for (const ByteRange& m : matches) {
    if (m.first > pos) parts.push_back({{pos, m.first}, invert});
    parts.push_back({m, !invert});  // empty matches too: they separate parts, as in HF
    pos = m.second;
  }
  if (pos < size) parts.push_back({{pos, size}, invert});

  std::vector<Part> merged;  // is_match now means "remove"
  bool previous_match = false;
  for (const Part& p : parts) {
    switch (behavior) {
      case SplitBehavior::kRemoved:
        merged.push_back(p);
        break;
      case SplitBehavior::kIsolated:
        merged.push_back({p.range, false});
        break;
      case SplitBehavior::kMergedWithPrevious:
        if (p.is_match && !previous_match && !merged.empty()) {
          merged.back().range.second = p.range.second;
        } else {
          merged.push_back({p.range, false});
        }
        break;
      case SplitBehavior::kMergedWithNext:
        break;  // done below, walking backwards
      case SplitBehavior::kContiguous:
        if (p.is_match == previous_match && !merged.empty()) {
          merged.back().range.second = p.range.second;
        } else {
          merged.push_back({p.range, false});
        }
        break;
    }
    previous_match = p.is_match;
  }
  if (behavior == SplitBehavior::kMergedWithNext) {
    // HF walks the parts backwards: a match joins the part after it.
    previous_match = false;
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (it->is_match && !previous_match && !merged.empty()) {
        merged.back().range.first = it->range.first;
      } else {
        merged.push_back({it->range, false});
      }
      previous_match = it->is_match;
    }
    std::reverse(merged.begin(), merged.end());
  }
  std::vector<ByteRange> out;
  for (const Part& p : merged) {
    if (!p.is_match && p.range.second > p.range.first) out.push_back(p.range);
  }
  return out;
}

PreTokenizer PreTokenizer::from_json(const JsonField& field) {
  PreTokenizer p;
  if (!field.is_null()) parse_into(field, p.steps_);
  return p;
}

void PreTokenizer::parse_into(const JsonField& field, std::vector<Step>& steps) {
  field.object();
  const std::string type = field["type"].string();
  Step step{};
  if (type == "Sequence") {
    const JsonField list = field["pretokenizers"];
    for (std::size_t i = 0; i < list.array().size(); ++i) parse_into(list[i], steps);
    return;
  }
  if (type == "Split") {
    step.kind = Kind::kSplit;
    step.pattern = Pattern::from_json(field["pattern"]);
    step.behavior = parse_behavior(field["behavior"]);
    step.invert = field["invert"].boolean_or(false);
  } else if (type == "ByteLevel") {
    step.kind = Kind::kByteLevel;
    step.flag = field["add_prefix_space"].boolean_or(true);
    step.use_regex = field["use_regex"].boolean_or(true);
  } else if (type == "Metaspace") {
    step.kind = Kind::kMetaspace;
    step.literal = field["replacement"].string();
    if (step.literal.empty() || utf8_sequence_length(step.literal, 0) != step.literal.size()) {
      field["replacement"].fail("expected one character");
    }
    step.pattern = Pattern::literal(step.literal);
    step.flag = field["split"].boolean_or(true);
    if (field.has("prepend_scheme")) {
      const std::string scheme = field["prepend_scheme"].string();
      if (scheme == "always") {
        step.prepend = Prepend::kAlways;
      } else if (scheme == "first") {
        step.prepend = Prepend::kFirst;
      } else if (scheme == "never") {
        step.prepend = Prepend::kNever;
      } else {
        field["prepend_scheme"].fail("expected always, first or never, got '" + scheme + "'");
      }
    } else {
      step.prepend =
          field["add_prefix_space"].boolean_or(true) ? Prepend::kAlways : Prepend::kNever;
    }
  } else if (type == "Digits") {
    step.kind = Kind::kDigits;
    step.flag = field["individual_digits"].boolean_or(false);
  } else {
    field["type"].fail_unsupported("pre-tokenizer type '" + type + "' is not supported");
  }
  steps.push_back(std::move(step));
}

void PreTokenizer::apply(const Step& step, std::vector<Piece>& pieces) {
  std::vector<Piece> out;
  out.reserve(pieces.size());
  auto split_piece = [&out](const Piece& piece, const std::vector<ByteRange>& matches,
                            SplitBehavior behavior, bool invert) {
    for (const ByteRange& r : split_by_matches(piece.text.size(), matches, behavior, invert)) {
      out.push_back(
          {piece.text.substr(r.first, r.second - r.first), piece.at_start && r.first == 0});
    }
  };
  for (Piece& piece : pieces) {
    switch (step.kind) {
      case Kind::kSplit: {
        split_piece(piece, step.pattern.find_all(piece.text), step.behavior, step.invert);
        break;
      }
      case Kind::kByteLevel: {
        if (step.flag && !starts_with(piece.text, " ")) piece.text.insert(0, " ");
        const std::size_t first = out.size();
        if (step.use_regex) {
          split_piece(piece, find_split_matches(SplitPattern::kGpt2, piece.text),
                      SplitBehavior::kIsolated, false);
        } else if (!piece.text.empty()) {
          out.push_back(std::move(piece));
        }
        for (std::size_t i = first; i < out.size(); ++i) out[i].text = to_byte_level(out[i].text);
        break;
      }
      case Kind::kMetaspace: {
        piece.text = replace_all(piece.text, " ", step.literal);
        const bool prepend =
            step.prepend == Prepend::kAlways || (step.prepend == Prepend::kFirst && piece.at_start);
        if (prepend && !starts_with(piece.text, step.literal)) piece.text.insert(0, step.literal);
        if (step.flag) {
          split_piece(piece, step.pattern.find_all(piece.text), SplitBehavior::kMergedWithNext,
                      false);
        } else if (!piece.text.empty()) {
          out.push_back(std::move(piece));
        }
        break;
      }
      case Kind::kDigits:
        split_piece(piece, digit_matches(piece.text),
                    step.flag ? SplitBehavior::kIsolated : SplitBehavior::kContiguous, false);
        break;
    }
  }
  pieces = std::move(out);
}

std::vector<std::string> PreTokenizer::pre_tokenize(std::string_view text,
                                                    bool at_text_start) const {
  std::vector<Piece> pieces;
  if (!text.empty()) pieces.push_back({std::string(text), at_text_start});
  for (const Step& step : steps_) apply(step, pieces);
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (Piece& p : pieces) out.push_back(std::move(p.text));
  return out;
}

bool PreTokenizer::is_byte_level() const {
  for (const Step& s : steps_) {
    if (s.kind == Kind::kByteLevel) return true;
  }
  return false;
}

}  // namespace enclave
