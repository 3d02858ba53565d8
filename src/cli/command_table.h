// The table of `enclave`'s top-level commands: name, the one line --help
// shows, and whether the command needs tensors (libtorch).
//
// src/cli builds two executables from the same sources and this one table:
// `enclave` links only the torch-free libraries (core, store, text, data) and
// so starts in milliseconds; `enclave-torch` links everything. `enclave`
// registers its own commands fully, lists the tensor commands in --help and
// hands them to `enclave-torch` (tensor_exec.h), which registers every
// command. Moving a command between the groups is its line in
// command_table.cpp plus its cmd_*.cpp between the source lists in
// CMakeLists.txt.
// Thread safety: the table is immutable after static initialisation.
#pragma once

#include <CLI/CLI.hpp>
#include <span>
#include <string_view>

namespace enclave::cli {

struct CommandSpec {
  std::string_view name;
  std::string_view description;  // one line, shown by --help in both executables
  bool needs_tensors = false;
  // Registers the command fully; null in `enclave` for a tensor command.
  void (*add)(CLI::App& app) = nullptr;
};

// Every top-level command, in the order --help lists them.
std::span<const CommandSpec> command_table();

// Process-wide settings read from the environment before any command runs
// (in `enclave-torch`: ENCLAVE_ONEDNN, model/engine.h); nothing in `enclave`.
void prepare_runtime();

}  // namespace enclave::cli
