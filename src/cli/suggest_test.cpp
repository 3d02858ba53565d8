#include "cli/suggest.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

namespace enclave::cli {
namespace {

TEST(EditDistance, CountsASwapOfNeighboursAsOneEdit) {
  EXPECT_EQ(edit_distance("trian", "train"), 1u);
  EXPECT_EQ(edit_distance("promt", "prompt"), 1u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

TEST(Nearest, PicksTheClosestLikelyTypoOrNothing) {
  const std::vector<std::string> commands = {"models", "model", "merge", "train", "tokenize"};
  EXPECT_EQ(nearest("trian", commands), "train");
  EXPECT_EQ(nearest("modle", commands), "model");
  EXPECT_EQ(nearest("tok", commands), "tokenize");  // a prefix
  EXPECT_EQ(nearest("xyzzy", commands), std::nullopt);
  const std::vector<std::string> flags = {"--model", "--prompt", "--max-tokens", "-h"};
  EXPECT_EQ(nearest("--promt", flags), "--prompt");
  EXPECT_EQ(nearest("--max-token", flags), "--max-tokens");
  EXPECT_EQ(nearest("--verbose", flags), std::nullopt);
}

// The same shape as `enclave`: subcommands that require a subcommand or a flag.
class UnknownArgumentTest : public ::testing::Test {
 protected:
  UnknownArgumentTest() {
    app_.name("enclave");
    app_.require_subcommand(1);
    app_.add_option("--workspace", workspace_, "Workspace");
    CLI::App* train = app_.add_subcommand("train", "Train");
    train->require_subcommand(1);
    train->add_subcommand("sft", "SFT")->add_option("--epochs", number_, "Epochs");
    CLI::App* generate = app_.add_subcommand("generate", "Generate");
    generate->add_option("--prompt", text_, "Prompt")->required();
    generate->add_option("--max-tokens", number_, "Max tokens");
  }

  // The message for argv, after the parse error CLI11 gives for it.
  std::optional<std::string> message_for(std::vector<std::string> args) {
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    EXPECT_THROW(app_.parse(args), CLI::ParseError);
    return unknown_argument_message(app_);
  }

  CLI::App app_;
  std::string workspace_;
  std::string text_;
  int number_ = 0;
};

TEST_F(UnknownArgumentTest, NamesTheNearestCommand) {
  EXPECT_EQ(message_for({"trian", "sft"}), "unknown command 'trian'; did you mean 'train'?");
}

TEST_F(UnknownArgumentTest, NamesTheNearestSubcommandWithItsParent) {
  EXPECT_EQ(message_for({"train", "stf"}),
            "unknown command 'train stf'; did you mean 'train sft'?");
}

TEST_F(UnknownArgumentTest, NamesTheNearestFlagOfTheCommand) {
  EXPECT_EQ(message_for({"generate", "--promt", "hi"}),
            "unknown flag '--promt' for 'generate'; did you mean '--prompt'?");
  EXPECT_EQ(message_for({"generate", "--prompt", "hi", "--max-tokenz=3"}),
            "unknown flag '--max-tokenz' for 'generate'; did you mean '--max-tokens'?");
}

TEST_F(UnknownArgumentTest, NamesAGlobalFlag) {
  EXPECT_EQ(message_for({"--workspcae", "w", "generate", "--prompt", "x"}),
            "unknown flag '--workspcae'; did you mean '--workspace'?");
}

TEST_F(UnknownArgumentTest, SaysUnknownWithoutAGuessWhenNothingIsClose) {
  EXPECT_EQ(message_for({"xyzzy"}), "unknown command 'xyzzy'");
  EXPECT_EQ(message_for({"generate", "--prompt", "x", "extra"}),
            "unexpected argument 'extra' for 'generate'");
}

TEST_F(UnknownArgumentTest, NothingWhenEveryArgumentWasKnown) {
  EXPECT_EQ(message_for({"generate"}), std::nullopt);  // --prompt is required: CLI11 says so
  EXPECT_EQ(message_for({}), std::nullopt);            // a subcommand is required
}

}  // namespace
}  // namespace enclave::cli
