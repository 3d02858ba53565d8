// "Did you mean" for the command line: after CLI11 rejects argv, names the
// first word or flag it did not know and the nearest valid one, so
// `enclave trian sft` says "unknown command 'trian'; did you mean 'train'?"
// instead of "A subcommand is required".
// Thread safety: pure functions over the parsed app; no shared state.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace enclave::cli {

// Edit distance between a and b counting insertions, deletions,
// substitutions and swaps of two neighbours as one each (optimal string
// alignment), so "trian" is 1 from "train".
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate nearest to typed if it is close enough to be a likely typo
// (a third of its length, at least 1, or typed is a prefix of it), else none.
// Ties go to the earlier candidate.
std::optional<std::string> nearest(std::string_view typed, std::span<const std::string> candidates);

// After app.parse threw: a message for the first argument that no command
// along the parsed path knew, with the nearest valid subcommand or flag
// ("unknown command 'trian'; did you mean 'train'?", "unknown flag '--promt'
// for 'generate'; did you mean '--prompt'?"); none if every argument was
// known (the parse error itself is then the message).
std::optional<std::string> unknown_argument_message(const CLI::App& app);

}  // namespace enclave::cli
