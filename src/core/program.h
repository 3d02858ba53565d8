// The identity of this process: its command line, the program version and
// the build it came from. main() sets it once; runs, reports and launchers
// read it, so every record names the program the same way (version "0.1.0"
// and build id "1a2b3c4d5e6f" as separate fields).
// Thread safety: set_program_identity is meant to be called once, before
// other threads start; program_identity may then be called from any thread.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace enclave {

struct ProgramIdentity {
  std::vector<std::string> argv;  // the command line as main() received it
  std::string version;            // release version, "0.1.0"
  std::string build_id;           // source revision the binary was built from
};

// Records the identity of this process; a later call replaces it.
void set_program_identity(std::vector<std::string> argv, std::string version, std::string build_id);
// The identity set by main(); empty fields if none was set (library tests).
ProgramIdentity program_identity();

// Removes path (a file, or a folder and all it holds) when the process
// ends, by exit() or by quick_exit(): the CLI leaves by quick_exit, which
// runs no static destructor and no atexit handler (cli/main.cpp), so
// nothing that must go at exit may rely on those. Safe from any thread.
void remove_at_exit(const std::filesystem::path& path);

}  // namespace enclave
