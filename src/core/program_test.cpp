#include "core/program.h"

#include <gtest/gtest.h>

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

}  // namespace
}  // namespace enclave
