#include "train/train.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "core/error.h"
#include "model/engine.h"
#include "model/lora.h"
#include "train/checkpoint.h"
#include "train/train_test_util.h"

namespace enclave::train {
namespace {

namespace fs = std::filesystem;

class TrainTest : public ::testing::Test {
 protected:
  TrainTest() {
    clear_stop_request();
    testing::write_small_model(dir_ / "base", 3);
    testing::write_jsonl(dir_ / "sft.jsonl", testing::echo_sft_records(24));
    testing::write_jsonl(dir_ / "pairs.jsonl", testing::separable_pairs(16));
  }
  TrainConfig config(TrainMode mode, const std::string& data) {
    TrainConfig c;
    c.mode = mode;
    c.model = (dir_ / "base").string();
    c.data = data;
    c.out = "out";
    c.batch_size = 4;
    c.max_steps = 12;
    c.log_every = 1000;
    c.threads = 1;
    return c;
  }
  TrainData data(const std::string& file) { return TrainData{.train_file = dir_ / file}; }
  // Trains and collects every step's report.
  TrainResult run(const TrainConfig& c, const TrainData& d, const fs::path& out,
                  std::vector<StepReport>* steps = nullptr,
                  std::function<void(const StepReport&)> extra = nullptr) {
    TrainCallbacks callbacks;
    callbacks.on_step = [&](const StepReport& r) {
      if (steps != nullptr) steps->push_back(r);
      if (extra) extra(r);
    };
    return train(c, dir_ / "base", d, out, callbacks);
  }
  testing::ScratchDir dir_;
};

double mean(const std::vector<double>& v, std::size_t begin, std::size_t end) {
  double s = 0;
  for (std::size_t i = begin; i < end; ++i) s += v[i];
  return s / static_cast<double>(end - begin);
}

TEST_F(TrainTest, SftLossDecreasesAndTheModelLoads) {
  TrainConfig c = config(TrainMode::kSft, "sft.jsonl");
  c.lr = 3e-3;
  c.max_steps = 20;
  c.micro_batch_tokens = 40;  // forces several micro-batches per step (accumulation)
  std::vector<StepReport> steps;
  TrainResult r = run(c, data("sft.jsonl"), dir_ / "out", &steps);
  ASSERT_EQ(r.losses.size(), 20u);
  std::printf("sft: loss %.4f -> %.4f\n", mean(r.losses, 0, 3), mean(r.losses, 17, 20));
  EXPECT_LT(mean(r.losses, 17, 20), 0.7 * mean(r.losses, 0, 3));
  EXPECT_GT(steps.back().tokens_per_s, 0);
  EXPECT_GT(steps.front().grad_norm, 0);
  EXPECT_EQ(steps.back().step, 20);
  auto engine = Engine::load(dir_ / "out", EngineOptions{});
  EXPECT_NE(engine->tokenizer(), nullptr);
}

TEST_F(TrainTest, MicroBatchingDoesNotChangeTheLossCurve) {
  TrainConfig c = config(TrainMode::kSft, "sft.jsonl");
  c.lr = 1e-3;
  c.max_steps = 4;
  TrainResult whole = run(c, data("sft.jsonl"), dir_ / "a");
  c.micro_batch_tokens = 30;  // one example per micro-batch
  TrainResult split = run(c, data("sft.jsonl"), dir_ / "b");
  double diff = 0;
  for (std::size_t i = 0; i < 4; ++i)
    diff = std::max(diff, std::abs(whole.losses[i] - split.losses[i]));
  std::printf("accumulated vs one batch: max loss diff %.3g\n", diff);
  EXPECT_LT(diff, 1e-4);
}

TEST_F(TrainTest, LoraTrainsAnAdapterThatLoadsOnTheBase) {
  TrainConfig c = config(TrainMode::kSft, "sft.jsonl");
  c.lora = true;
  c.lora_r = 4;
  c.lr = 3e-2;
  c.lr_scheduler = LrScheduler::kConstant;
  c.max_steps = 15;
  // A random base with 0.02 weights bounds the logits LoRA can reach (the final norm is
  // frozen); larger weights leave room to learn.
  testing::write_small_model(dir_ / "base", 3, 0.2);
  TrainResult r = run(c, data("sft.jsonl"), dir_ / "adapter");
  std::printf("lora sft: loss %.4f -> %.4f, %lld of %lld parameters trained\n",
              mean(r.losses, 0, 3), mean(r.losses, 12, 15), static_cast<long long>(r.n_trainable),
              static_cast<long long>(r.n_parameters));
  EXPECT_TRUE(r.adapter);
  EXPECT_LT(mean(r.losses, 12, 15), 0.85 * mean(r.losses, 0, 3));
  EXPECT_LT(r.n_trainable, r.n_parameters / 4);
  EXPECT_TRUE(fs::exists(dir_ / "adapter" / kAdapterConfigFile));
  EXPECT_EQ(read_adapter_config(dir_ / "adapter").r, 4);
  auto engine = Engine::load(dir_ / "base", EngineOptions{.adapter = (dir_ / "adapter").string()});
  auto base = Engine::load(dir_ / "base", EngineOptions{});
  std::vector<float> a = engine->last_logits({1, 40, 41}), b = base->last_logits({1, 40, 41});
  double diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i)
    diff = std::max(diff, static_cast<double>(std::abs(a[i] - b[i])));
  EXPECT_GT(diff, 1e-3);  // the adapter changed the model; the base files did not
}

TEST_F(TrainTest, DpoStartsAtLog2AndRewardAccuracyRises) {
  for (bool lora : {false, true}) {
    TrainConfig c = config(TrainMode::kDpo, "pairs.jsonl");
    c.lr = lora ? 2e-2 : 2e-3;
    c.lora = lora;
    c.max_steps = 20;
    c.beta = 0.1;
    std::vector<StepReport> steps;
    run(c, data("pairs.jsonl"), dir_ / (lora ? "dpo_lora" : "dpo"), &steps);
    std::printf("dpo%s: loss %.6f (log 2 = %.6f) -> %.4f, accuracy %.2f -> %.2f, margin %.3f\n",
                lora ? " lora" : "", steps.front().loss, std::log(2.0), steps.back().loss,
                steps.front().extra["rewards/accuracies"], steps.back().extra["rewards/accuracies"],
                steps.back().extra["rewards/margins"]);
    EXPECT_NEAR(steps.front().loss, std::log(2.0), 1e-6);
    // Policy and reference agree up to float rounding at the start (batch shapes differ).
    EXPECT_LT(std::abs(steps.front().extra["rewards/chosen"]), 1e-5);
    EXPECT_EQ(steps.back().extra["rewards/accuracies"], 1.0);
    EXPECT_LT(steps.back().loss, 0.5);
    EXPECT_GT(steps.back().extra["rewards/margins"], 0.0);
    EXPECT_TRUE(steps.back().extra.count("logps/chosen"));
  }
}

TEST_F(TrainTest, SdpoMakesEachChunksStartTheNextReference) {
  TrainConfig c = config(TrainMode::kSdpo, "pairs.jsonl");
  c.lr = 2e-3;
  c.max_steps = 10;
  c.sdpo_split = SdpoSplit::kField;
  c.sdpo_field = "level";
  std::vector<StepReport> steps;
  run(c, data("pairs.jsonl"), dir_ / "sdpo", &steps);
  ASSERT_EQ(steps.size(), 10u);
  // Chunk 2 starts at step 6 against the model chunk 1 produced: loss log 2 again.
  std::printf("sdpo: chunk 1 %.4f -> %.4f, chunk 2 starts at %.6f\n", steps[0].loss, steps[4].loss,
              steps[5].loss);
  EXPECT_NEAR(steps[0].loss, std::log(2.0), 1e-6);
  EXPECT_LT(steps[4].loss, std::log(2.0) - 0.05);
  EXPECT_NEAR(steps[5].loss, std::log(2.0), 1e-6);

  TrainConfig m = config(TrainMode::kSdpo, "pairs.jsonl");
  m.max_steps = 4;
  m.lr = 1e-3;
  m.sdpo_chunks = 2;  // easy-to-hard by the reference margin
  EXPECT_EQ(run(m, data("pairs.jsonl"), dir_ / "sdpo_margin").steps, 4);
}

TEST_F(TrainTest, SdpoChunkFilesTrainAsTheSameChunksByField) {
  // The pairs split by "level" into one file per chunk, each tokenised into
  // its own cache and read as one list: the steps are those of the field
  // split over the single file, which holds the same chunks in the same order.
  const std::vector<nlohmann::json> pairs = testing::separable_pairs(16);
  std::vector<nlohmann::json> by_level[2];
  for (const nlohmann::json& p : pairs) by_level[p.at("level").get<int>()].push_back(p);
  testing::write_jsonl(dir_ / "level0.jsonl", by_level[0]);
  testing::write_jsonl(dir_ / "level1.jsonl", by_level[1]);
  TrainConfig c = config(TrainMode::kSdpo, "pairs.jsonl");
  c.lr = 2e-3;
  c.max_steps = 4;
  c.sdpo_split = SdpoSplit::kField;
  c.sdpo_field = "level";
  std::vector<StepReport> by_field, by_files;
  run(c, data("pairs.jsonl"), dir_ / "sdpo_field", &by_field);
  c.sdpo_split = SdpoSplit::kFiles;
  c.sdpo_files = {"level0.jsonl", "level1.jsonl"};
  TrainData d{.chunk_files = {dir_ / "level0.jsonl", dir_ / "level1.jsonl"},
              .token_cache_dir = dir_ / "tokens"};
  TrainResult r = run(c, d, dir_ / "sdpo_files", &by_files);
  ASSERT_EQ(by_files.size(), by_field.size());
  for (std::size_t i = 0; i < by_field.size(); ++i)
    EXPECT_NEAR(by_files[i].loss, by_field[i].loss, 1e-6) << "step " << i + 1;
  // Two cache files, one per chunk file, named in the run's key.
  EXPECT_EQ(std::count(r.token_cache_key.begin(), r.token_cache_key.end(), ','), 1);
  EXPECT_FALSE(r.token_cache_hit);
  EXPECT_TRUE(run(c, d, dir_ / "sdpo_files_again").token_cache_hit);
}

TEST_F(TrainTest, ResumeGivesTheSameLossesAsAnUninterruptedRun) {
  for (bool lora : {false, true}) {
    TrainConfig c = config(TrainMode::kSft, "sft.jsonl");
    c.lr = 3e-3;
    c.max_steps = 8;
    c.lora = lora;
    c.lora_dropout = lora ? 0.1 : 0.0;
    c.warmup_steps = 2;
    c.checkpoint_dir = (dir_ / (lora ? "ckpt_lora" : "ckpt")).string();
    c.save_every = 2;
    c.keep_checkpoints = 2;
    const std::string tag = lora ? "lora" : "full";
    TrainResult whole = run(c, data("sft.jsonl"), dir_ / ("whole_" + tag));
    fs::remove_all(c.checkpoint_dir);

    // Interrupted after step 5 (as Ctrl-C does), then resumed from the latest checkpoint.
    TrainResult first =
        run(c, data("sft.jsonl"), dir_ / ("first_" + tag), nullptr, [](const StepReport& r) {
          if (r.step == 5) request_stop();
        });
    clear_stop_request();
    EXPECT_TRUE(first.interrupted);
    EXPECT_EQ(first.steps, 5);
    EXPECT_FALSE(fs::exists(dir_ / ("first_" + tag)));
    EXPECT_EQ(list_checkpoints(c.checkpoint_dir).size(),
              2u);  // step 4 and the interrupt's step 5; step 2 pruned
    c.resume = "latest";
    TrainResult second = run(c, data("sft.jsonl"), dir_ / ("second_" + tag));
    ASSERT_EQ(second.start_step, 5);
    ASSERT_EQ(second.losses.size(), 3u);
    double diff = 0;
    for (std::size_t i = 0; i < 3; ++i)
      diff = std::max(diff, std::abs(second.losses[i] - whole.losses[5 + i]));
    for (std::size_t i = 0; i < 5; ++i)
      diff = std::max(diff, std::abs(first.losses[i] - whole.losses[i]));
    std::printf("resume (%s): max loss diff vs uninterrupted %.3g\n", tag.c_str(), diff);
    EXPECT_EQ(diff, 0.0);
    EXPECT_TRUE(fs::exists(dir_ / ("second_" + tag)));
  }
}

TEST_F(TrainTest, ResumeRefusesChangedSettingsAndMissingCheckpoints) {
  TrainConfig c = config(TrainMode::kSft, "sft.jsonl");
  c.max_steps = 2;
  c.save_every = 1;
  c.checkpoint_dir = (dir_ / "ck").string();
  run(c, data("sft.jsonl"), dir_ / "o1");
  c.resume = "latest";
  c.batch_size = 8;
  try {
    run(c, data("sft.jsonl"), dir_ / "o2");
    ADD_FAILURE() << "resumed with another batch size";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("batch_size"), std::string::npos) << e.what();
  }
  c.checkpoint_dir = (dir_ / "empty").string();
  EXPECT_THROW(run(c, data("sft.jsonl"), dir_ / "o3"), Error);
  c.resume = (dir_ / "sft.jsonl").string();
  EXPECT_THROW(run(c, data("sft.jsonl"), dir_ / "o4"), Error);
}

TEST_F(TrainTest, EvalEveryAndEarlyStopping) {
  testing::write_jsonl(dir_ / "eval.jsonl", testing::echo_sft_records(6));
  TrainConfig c = config(TrainMode::kSft, "sft.jsonl");
  c.lr = 3e-3;
  c.max_steps = 6;
  c.eval_every = 2;
  std::vector<std::pair<std::int64_t, double>> evals;
  TrainCallbacks callbacks;
  callbacks.on_eval = [&](std::int64_t step, const std::map<std::string, double>& m) {
    evals.emplace_back(step, m.at("eval/loss"));
  };
  TrainData d = data("sft.jsonl");
  d.eval_file = dir_ / "eval.jsonl";
  train(c, dir_ / "base", d, dir_ / "e1", callbacks);
  ASSERT_EQ(evals.size(), 3u);  // steps 2, 4 and the final one
  EXPECT_EQ(evals.back().first, 6);
  EXPECT_LT(evals.back().second, evals.front().second);

  c.lr = 1.0;  // diverges, so the validation loss stops improving
  c.max_steps = 40;
  c.eval_every = 1;
  c.early_stopping_patience = 2;
  TrainResult r = train(c, dir_ / "base", d, dir_ / "e2", {});
  EXPECT_TRUE(r.early_stopped);
  EXPECT_LT(r.steps, 40);
}

TEST_F(TrainTest, Bf16ModesTrain) {
  for (Precision p : {Precision::kBf16, Precision::kBf16Autocast}) {
    TrainConfig c = config(TrainMode::kSft, "sft.jsonl");
    c.precision = p;
    c.lr = 3e-3;
    c.max_steps = 12;
    c.gradient_checkpointing = true;
    TrainResult r = run(c, data("sft.jsonl"), dir_ / (p == Precision::kBf16 ? "bf16" : "autocast"));
    std::printf("%s: loss %.4f -> %.4f\n",
                p == Precision::kBf16 ? "bf16 + fp32 master" : "bf16 autocast",
                mean(r.losses, 0, 3), mean(r.losses, 9, 12));
    EXPECT_TRUE(std::isfinite(r.losses.back()));
    EXPECT_LT(mean(r.losses, 9, 12), 0.8 * mean(r.losses, 0, 3));
  }
}

TEST_F(TrainTest, BadDataIsReportedWithTheRecord) {
  testing::write_jsonl(dir_ / "bad.jsonl", {{{"prompt", "x"}, {"chosen", "y"}}});
  TrainConfig c = config(TrainMode::kDpo, "bad.jsonl");
  try {
    run(c, data("bad.jsonl"), dir_ / "x");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("bad.jsonl:1: missing field 'rejected'"),
              std::string::npos)
        << e.what();
  }
  TrainConfig s = config(TrainMode::kSft, "pairs.jsonl");
  EXPECT_THROW(run(s, data("pairs.jsonl"), dir_ / "y"), Error);
}

TEST_F(TrainTest, DpSgdTrainsLoraWithinItsBudget) {
  TrainConfig c = config(TrainMode::kSft, "sft.jsonl");  // 24 examples
  c.lora = true;
  c.lora_r = 4;
  c.lr = 1e-2;
  c.max_steps = 4;
  c.dp_epsilon = 4.0;
  c.dp_delta = 1e-3;
  c.dp_max_grad_norm = 0.5;
  std::vector<StepReport> steps;
  TrainResult r = run(c, data("sft.jsonl"), dir_ / "out", &steps);
  ASSERT_TRUE(r.dp.has_value());
  ASSERT_EQ(steps.size(), 4u);
  EXPECT_DOUBLE_EQ(r.dp->sampling_rate, 4.0 / 24);
  EXPECT_EQ(r.dp->n_examples, 24);
  EXPECT_EQ(r.dp->steps, 4);
  // The noise is the least that keeps the whole run within its budget.
  EXPECT_LE(r.dp->epsilon, 4.0);
  EXPECT_GT(r.dp->epsilon, 4.0 * (1 - 1e-4));
  EXPECT_DOUBLE_EQ(steps.back().extra.at("dp/epsilon"), r.dp->epsilon);
  std::set<double> sizes;
  for (std::size_t i = 1; i < steps.size(); ++i) {
    EXPECT_GT(steps[i].extra.at("dp/epsilon"), steps[i - 1].extra.at("dp/epsilon"));
    sizes.insert(steps[i].extra.at("dp/batch_size"));
  }
  EXPECT_GT(steps.front().grad_norm, 0);
  std::printf("dp sft lora: sigma %.4f, epsilon %.4f, batch sizes", r.dp->noise_multiplier,
              r.dp->epsilon);
  for (double s : sizes) std::printf(" %g", s);
  std::printf("\n");
  // The adapter is written like any other.
  EXPECT_TRUE(fs::exists(dir_ / "out" / "adapter_model.safetensors"));

  // delta must be below 1/N, and a batch cannot exceed the data.
  c.dp_delta = 0.05;
  try {
    run(c, data("sft.jsonl"), dir_ / "o2");
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dp_delta: 0.05 is not below 1 / 24 training examples"),
              std::string::npos)
        << e.what();
  }
  c.dp_delta = 1e-3;
  c.batch_size = 30;
  EXPECT_THROW(run(c, data("sft.jsonl"), dir_ / "o3"), Error);
}

}  // namespace
}  // namespace enclave::train
