#include "core/program.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "core/scratch_dir_testing.h"

namespace enclave {
namespace {

TEST(ProgramIdentity, SetOnceAndReadBack) {
  set_program_identity({"enclave", "runs", "list"}, "0.1.0", "abc123");
  ProgramIdentity id = program_identity();
  EXPECT_EQ(id.argv, (std::vector<std::string>{"enclave", "runs", "list"}));
  EXPECT_EQ(id.version, "0.1.0");
  EXPECT_EQ(id.build_id, "abc123");
  set_program_identity({}, "", "");
  EXPECT_TRUE(program_identity().argv.empty());
}

// A child process marks a folder (with a file in it) and a file for
// removal, then leaves by exit() or by quick_exit(), as the CLI does: both
// are gone either way.
TEST(RemoveAtExit, RemovesWhetherTheProcessExitsOrQuickExits) {
  testing::ScratchDir dir("exit");
  for (bool quick : {false, true}) {
    const std::filesystem::path folder = dir.path() / (quick ? "quick" : "exit");
    const std::filesystem::path file = dir.path() / (quick ? "quick.txt" : "exit.txt");
    std::filesystem::create_directories(folder);
    std::ofstream(folder / "inside.bin") << "x";
    std::ofstream(file) << "x";
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      remove_at_exit(folder);
      remove_at_exit(file);
      if (quick) std::quick_exit(0);
      std::exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    EXPECT_FALSE(std::filesystem::exists(folder)) << (quick ? "quick_exit" : "exit");
    EXPECT_FALSE(std::filesystem::exists(file)) << (quick ? "quick_exit" : "exit");
  }
}

}  // namespace
}  // namespace enclave
