// The harness on a real (tiny, random) model. Every expected value is
// recomputed here straight from Engine::score / Engine::generate, the code
// path of `enclave score` and `enclave generate`, and differences print
// their maximum.
#include "eval/harness.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "core/error.h"
#include "eval/eval_testing.h"
#include "eval/instructions.h"
#include "eval/prompt.h"
#include "eval/scorer.h"
#include "eval/task_docs.h"

namespace enclave::eval {
namespace {

using store::testing::ScratchDir;
using testing::tiny_engine;
using testing::write_jsonl;

double sum_tail(const std::vector<double>& logprobs, std::size_t n) {
  double s = 0;
  for (std::size_t i = logprobs.size() - n; i < logprobs.size(); ++i) s += logprobs[i];
  return s;
}

TEST(ScoreBatchTest, AgreesWithScore) {
  const Engine& engine = tiny_engine();
  std::vector<std::vector<TokenId>> seqs = {{1, 50, 60, 70, 80, 90, 100},
                                            {1, 7},
                                            {1, 300, 301},
                                            {5},
                                            {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13}};
  std::vector<Engine::SequenceScores> batch = engine.score_batch(seqs);
  ASSERT_EQ(batch.size(), seqs.size());
  double max_diff = 0;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    std::vector<double> one = engine.score(seqs[i]);
    ASSERT_EQ(one.size(), batch[i].logprobs.size());
    ASSERT_EQ(batch[i].greedy.size(), one.size());
    for (std::size_t j = 0; j < one.size(); ++j)
      max_diff = std::max(max_diff, std::abs(one[j] - batch[i].logprobs[j]));
  }
  std::printf("score_batch vs score: max diff %.3g\n", max_diff);
  EXPECT_LT(max_diff, 1e-4);
  // greedy[j] says whether tokens[j+1] is the argmax after tokens[0..j].
  const std::vector<TokenId>& s = seqs[0];
  for (std::size_t j = 0; j + 1 < s.size(); ++j) {
    std::vector<float> logits =
        engine.last_logits(std::vector<TokenId>(s.begin(), s.begin() + j + 1));
    const auto argmax =
        static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    EXPECT_EQ(batch[0].greedy[j] != 0, argmax == s[j + 1]) << j;
  }
  std::vector<TokenId> greedy_seq = {1};
  for (int k = 0; k < 4; ++k) {
    std::vector<float> logits = engine.last_logits(greedy_seq);
    greedy_seq.push_back(
        static_cast<TokenId>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
  }
  std::vector<Engine::SequenceScores> g = engine.score_batch({greedy_seq});
  for (std::uint8_t flag : g[0].greedy) EXPECT_EQ(flag, 1);
  EXPECT_THROW(engine.score_batch({{1, 2}, {}}), Error);
  EXPECT_THROW(engine.score_batch({{1, 999999}}), Error);
}

TEST(ScoreBatchTest, ContinuationsAgreeWithScore) {
  const Engine& engine = tiny_engine();
  const std::vector<TokenId> context = {1, 40, 41, 42, 43, 44, 45, 46};
  const std::vector<std::vector<TokenId>> continuations = {
      {7}, {300, 301, 302}, {9, 10}, {500, 2, 3, 4, 5, 6}};
  std::vector<Engine::SequenceScores> shared = engine.score_continuations(context, continuations);
  ASSERT_EQ(shared.size(), continuations.size());
  double max_diff = 0;
  for (std::size_t i = 0; i < continuations.size(); ++i) {
    std::vector<TokenId> whole(context);
    whole.insert(whole.end(), continuations[i].begin(), continuations[i].end());
    std::vector<Engine::SequenceScores> ref = engine.score_batch({whole});
    const std::size_t n = continuations[i].size();
    ASSERT_EQ(shared[i].logprobs.size(), n);
    for (std::size_t j = 0; j < n; ++j) {
      const std::size_t pos = ref[0].logprobs.size() - n + j;
      max_diff = std::max(max_diff, std::abs(shared[i].logprobs[j] - ref[0].logprobs[pos]));
      EXPECT_EQ(shared[i].greedy[j], ref[0].greedy[pos]) << i << " " << j;
    }
  }
  std::printf("score_continuations vs score: max diff %.3g\n", max_diff);
  EXPECT_LT(max_diff, 1e-4);
  EXPECT_THROW(engine.score_continuations({}, {{1}}), Error);
  EXPECT_THROW(engine.score_continuations(context, {{1}, {}}), Error);
  EXPECT_THROW(engine.score_continuations(context, {std::vector<TokenId>(2048, 5)}), Error);
}

TEST(ScorerTest, RollingWindowsScoreEveryTokenOnce) {
  std::vector<TokenId> tokens(23);
  for (std::size_t i = 0; i < tokens.size(); ++i) tokens[i] = static_cast<TokenId>(i + 1);
  std::vector<LoglikelihoodRequest> windows = rolling_windows(tokens, 8);
  std::vector<int> scored(tokens.size(), 0);
  for (const auto& w : windows) {
    EXPECT_LE(w.tokens.size(), 8u);
    EXPECT_EQ(w.n_continuation + 1, w.tokens.size());
    for (std::size_t k = w.tokens.size() - w.n_continuation; k < w.tokens.size(); ++k)
      ++scored[w.tokens[k] - 1];
  }
  EXPECT_EQ(scored[0], 0);  // the first token has nothing to be predicted from
  for (std::size_t i = 1; i < tokens.size(); ++i) EXPECT_EQ(scored[i], 1) << i;
  EXPECT_TRUE(rolling_windows({1}, 8).empty());
  EXPECT_THROW(score_requests(tiny_engine(), {{{1, 2}, 2}}, {}), Error);  // no context token
}

class HarnessTest : public ::testing::Test {
 protected:
  TaskSpec task(OutputType type, const std::vector<nlohmann::json>& docs) {
    write_jsonl(dir_ / "data.jsonl", docs);
    TaskSpec t;
    t.name = "t";
    t.output_type = type;
    t.dataset.path = dir_ / "data.jsonl";
    return t;
  }
  ScratchDir dir_;
};

std::vector<nlohmann::json> mc_docs() {
  return {{{"q", "Which day comes after Monday?"},
           {"choices", {"Tuesday", "Friday", "Sunday"}},
           {"a", 0}},
          {{"q", "2 + 2 ="}, {"choices", {"3", "4", "22", "five"}}, {"a", 1}},
          {{"q", "하늘의 색은?"}, {"choices", {"파란색", "초록색"}}, {"a", "파란색"}},
          {{"q", "The opposite of hot is"}, {"choices", {"cold", "warm"}}, {"a", 0}},
          {{"q", "Capital letters of abc:"}, {"choices", {"ABC", "abc", "AbC"}}, {"a", 0}}};
}

TEST_F(HarnessTest, MultipleChoiceMatchesEngineScore) {
  const Engine& engine = tiny_engine();
  TaskSpec t = task(OutputType::kMultipleChoice, mc_docs());
  t.doc_to_text = "Question: {{q}}\nAnswer:";
  t.doc_to_choice = "{{choices}}";
  t.doc_to_target = "{{a}}";
  struct Path {
    int batch;
    bool share_prefix;
    const char* name;
  };
  for (const Path& path : {Path{1, true, "one at a time"}, Path{4, false, "batched"},
                           Path{4, true, "shared prefix"}}) {
    const int batch = path.batch;
    TaskResult r = run_task(
        engine, t, {.batch_size = batch, .share_prefix = path.share_prefix, .keep_samples = true});
    ASSERT_EQ(r.samples.size(), 5u);
    double max_diff = 0;
    double acc = 0;
    double acc_norm = 0;
    for (const nlohmann::json& s : r.samples) {
      const auto& choices = s["choices"];
      std::size_t best = 0;
      std::size_t best_norm = 0;
      std::vector<double> lls;
      for (std::size_t c = 0; c < choices.size(); ++c) {
        const auto& req = s["requests"][c];
        const auto tokens = req["tokens"].get<std::vector<TokenId>>();
        const double ll = sum_tail(engine.score(tokens), req["n_continuation"].get<std::size_t>());
        max_diff = std::max(max_diff, std::abs(ll - s["loglikelihoods"][c].get<double>()));
        lls.push_back(ll);
        if (ll > lls[best]) best = c;
        if (ll / choices[c].get<std::string>().size() >
            lls[best_norm] / choices[best_norm].get<std::string>().size()) {
          best_norm = c;
        }
      }
      acc += best == s["gold"].get<std::size_t>();
      acc_norm += best_norm == s["gold"].get<std::size_t>();
    }
    std::printf("multiple choice, %s: loglikelihoods vs Engine::score max diff %.3g\n", path.name,
                max_diff);
    EXPECT_LT(max_diff, 1e-4);
    EXPECT_DOUBLE_EQ(aggregate(*r.find("acc")), acc / 5);
    EXPECT_DOUBLE_EQ(aggregate(*r.find("acc_norm")), acc_norm / 5);
    EXPECT_EQ(r.samples[2]["gold"], 0);  // "파란색" named by text
    // The continuation is " Tuesday" etc. after "Answer:": the delimiter belongs to it.
    const auto& req = r.samples[0]["requests"][0];
    const auto tokens = req["tokens"].get<std::vector<TokenId>>();
    const std::size_t n = req["n_continuation"].get<std::size_t>();
    EXPECT_EQ(engine.tokenizer()->decode(std::vector<TokenId>(tokens.end() - n, tokens.end())),
              " Tuesday");
  }
}

TEST_F(HarnessTest, LoglikelihoodAndPerplexityByHand) {
  const Engine& engine = tiny_engine();
  std::vector<nlohmann::json> docs = {{{"ctx", "The air gap keeps"}, {"cont", "data inside."}},
                                      {{"ctx", "서울은"}, {"cont", "한국의 수도입니다."}}};
  TaskSpec ll = task(OutputType::kLoglikelihood, docs);
  ll.doc_to_text = "{{ctx}}";
  ll.doc_to_target = "{{cont}}";
  TaskResult r = run_task(engine, ll, {.batch_size = 2, .keep_samples = true});
  double sum_ll = 0;
  double n_tokens = 0;
  double n_bytes = 0;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const auto tokens = r.samples[i]["tokens"].get<std::vector<TokenId>>();
    const std::size_t n = r.samples[i]["n_continuation"].get<std::size_t>();
    sum_ll += sum_tail(engine.score(tokens), n);
    n_tokens += static_cast<double>(n);
    n_bytes += static_cast<double>(docs[i]["cont"].get<std::string>().size() + 1);  // " " + target
  }
  EXPECT_NEAR(aggregate(*r.find("perplexity")), std::exp(-sum_ll / n_tokens),
              1e-6 * std::exp(-sum_ll / n_tokens));
  EXPECT_NEAR(aggregate(*r.find("bits_per_byte")), -sum_ll / (std::log(2.0) * n_bytes), 1e-6);
  EXPECT_EQ(aggregate(*r.find("acc")), 0.0);  // a random model does not guess whole continuations

  TaskSpec ppl = task(OutputType::kPerplexity, docs);
  ppl.doc_to_target = "{{ctx}} {{cont}}";
  TaskResult p = run_task(engine, ppl, {.batch_size = 1});
  double doc_ll = 0;
  double doc_tokens = 0;
  for (const auto& d : docs) {
    const std::string text = d["ctx"].get<std::string>() + " " + d["cont"].get<std::string>();
    std::vector<TokenId> ids = {*engine.tokenizer()->bos_id()};
    for (TokenId id : engine.tokenizer()->encode(text, false, false)) ids.push_back(id);
    std::vector<double> lp = engine.score(ids);
    for (double v : lp) doc_ll += v;
    doc_tokens += static_cast<double>(lp.size());
  }
  const double want = std::exp(-doc_ll / doc_tokens);
  std::printf("perplexity %.4f, by hand %.4f\n", aggregate(*p.find("perplexity")), want);
  EXPECT_NEAR(aggregate(*p.find("perplexity")), want, 1e-6 * want);
  EXPECT_GT(standard_error(*p.find("perplexity")), 0.0);
}

TEST_F(HarnessTest, FewShotIsDeterministicAndNeverShowsTheDocument) {
  std::vector<nlohmann::json> docs;
  for (int i = 0; i < 12; ++i)
    docs.push_back({{"q", "question " + std::to_string(i)}, {"a", "answer" + std::to_string(i)}});
  TaskSpec t = task(OutputType::kGenerateUntil, docs);
  t.doc_to_text = "Q: {{q}}\nA:";
  t.doc_to_target = "{{a}}";
  t.num_fewshot = 3;
  TaskDocs loaded = load_task_docs(t);
  const Engine& engine = tiny_engine();
  auto contexts = [&](std::uint64_t seed) {
    TaskSpec s = t;
    s.fewshot_seed = seed;
    PromptBuilder prompts(s, loaded, *engine.tokenizer(), engine.chat_template(), false, 3, 2048);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < loaded.docs.size(); ++i) out.push_back(prompts.context(i));
    return out;
  };
  const std::vector<std::string> a = contexts(1234);
  EXPECT_EQ(a, contexts(1234));
  EXPECT_NE(a, contexts(99));
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::string own = "Q: question " + std::to_string(i) + "\nA:";
    EXPECT_EQ(a[i].find(own), a[i].size() - own.size())
        << "document " << i << " appears only at the end";
    EXPECT_EQ(std::count(a[i].begin(), a[i].end(), 'Q'), 4);
  }
  EXPECT_EQ(a[0].substr(0, 3), "Q: ");
  EXPECT_NE(a[0].find(" answer"), std::string::npos);  // example = text + " " + target + "\n\n"
  EXPECT_NE(a[0].find("\n\n"), std::string::npos);
  // select_fewshot: distinct, in range, excluding the document, stable.
  for (std::size_t doc = 0; doc < 20; ++doc) {
    std::vector<std::size_t> s = select_fewshot(20, 5, 7, doc, doc);
    std::set<std::size_t> unique(s.begin(), s.end());
    EXPECT_EQ(unique.size(), 5u);
    EXPECT_EQ(unique.count(doc), 0u);
    EXPECT_EQ(s, select_fewshot(20, 5, 7, doc, doc));
  }
  EXPECT_EQ(select_fewshot(4, 3, 7, 0, 0).size(), 3u);  // dense: all the others
  EXPECT_THROW(select_fewshot(3, 3, 7, 0, 0), Error);
}

TEST_F(HarnessTest, GenerateUntilMatchesEngineGenerate) {
  const Engine& engine = tiny_engine();
  std::vector<nlohmann::json> docs = {{{"q", "Say yes"}, {"a", "?"}},
                                      {{"q", "Say no"}, {"a", "zzz-never"}}};
  TaskSpec t = task(OutputType::kGenerateUntil, docs);
  t.doc_to_text = "{{q}}:";
  t.doc_to_target = "{{a}}";
  t.generation.max_gen_toks = 8;
  t.metrics = {{.name = "exact_match"}, {.name = "contains"}, {.name = "chrf"}};
  // The model's greedy answer to document 0 becomes its target.
  GenerateOptions g;
  g.max_tokens = 8;
  g.sampling.temperature = 0;
  const std::string answer0 =
      engine.generate(engine.tokenizer()->encode("Say yes:", true), g, {}).text;
  docs[0]["a"] = apply_filter({}, answer0);
  if (docs[0]["a"] == "") docs[0]["a"] = " ";  // keep the target non-empty after strip
  write_jsonl(dir_ / "data.jsonl", docs);
  TaskResult r = run_task(engine, t, {.keep_samples = true});
  EXPECT_EQ(r.samples[0]["response"], answer0);
  if (apply_filter({}, answer0) != "") {
    EXPECT_EQ(aggregate(*r.find("exact_match")), 0.5);
  }
  EXPECT_EQ(r.samples[1]["scores"]["exact_match"], 0.0);
}

TEST_F(HarnessTest, InstructionFollowingScoresTheResponses) {
  std::vector<nlohmann::json> docs = {
      {{"prompt", "Write in lowercase."},
       {"instruction_id_list", {"change_case:english_lowercase"}},
       {"kwargs", {nlohmann::json::object()}}},
      {{"prompt", "No commas, at least 2 words."},
       {"instruction_id_list", {"punctuation:no_comma", "length_constraints:number_words"}},
       {"kwargs", {nlohmann::json::object(), {{"num_words", 2}, {"relation", "at least"}}}}}};
  TaskSpec t = task(OutputType::kInstructionFollowing, docs);
  t.doc_to_text = "{{prompt}}";
  t.generation.max_gen_toks = 12;
  TaskResult r = run_task(tiny_engine(), t, {.keep_samples = true});
  double strict = 0;
  double inst = 0;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const std::string response = r.samples[i]["response"];
    bool all = true;
    const nlohmann::json& checks = r.samples[i]["instructions"];
    for (std::size_t k = 0; k < checks.size(); ++k) {
      const nlohmann::json& check = checks[k];
      const Instruction ins{check["id"], docs[i]["kwargs"][k]};
      EXPECT_EQ(check["strict"].get<bool>(), follows_strict(ins, response));
      all = all && check["strict"].get<bool>();
      inst += check["strict"].get<bool>();
    }
    strict += all;
  }
  EXPECT_DOUBLE_EQ(aggregate(*r.find("prompt_level_strict_acc")), strict / 2);
  EXPECT_DOUBLE_EQ(aggregate(*r.find("inst_level_strict_acc")), inst / 3);
}

TEST_F(HarnessTest, LimitsAndBadDocuments) {
  std::vector<nlohmann::json> docs;
  for (int i = 0; i < 10; ++i) docs.push_back({{"q", "q"}, {"a", "a"}});
  TaskSpec t = task(OutputType::kLoglikelihood, docs);
  t.doc_to_text = "{{q}}";
  t.doc_to_target = "{{a}}";
  EXPECT_EQ(run_task(tiny_engine(), t, {.limit = 3}).n_docs, 3u);
  EXPECT_EQ(run_task(tiny_engine(), t, {.limit = 0.5}).n_docs, 5u);
  t.doc_to_target = "{{missing}}";
  try {
    run_task(tiny_engine(), t, {});
    FAIL() << "missing field accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("document 0"), std::string::npos) << e.what();
  }
  TaskSpec chat = task(OutputType::kGenerateUntil, docs);
  chat.doc_to_text = "{{q}}";
  chat.doc_to_target = "{{a}}";
  chat.num_fewshot = 20;  // more than the 9 other documents
  EXPECT_THROW(run_task(tiny_engine(), chat, {}), Error);
}

TEST_F(HarnessTest, ChatTemplateWrapsThePrompt) {
  const Engine& engine = tiny_engine();
  ASSERT_TRUE(engine.chat_template().has_value());
  std::vector<nlohmann::json> docs = {{{"q", "Hello?"}, {"a", "Hi"}},
                                      {{"q", "Bye?"}, {"a", "Bye"}}};
  TaskSpec t = task(OutputType::kGenerateUntil, docs);
  t.doc_to_text = "{{q}}";
  t.doc_to_target = "{{a}}";
  t.num_fewshot = 1;
  t.generation.max_gen_toks = 4;
  TaskResult r = run_task(engine, t, {.chat_template = true, .keep_samples = true});
  const std::string prompt = r.samples[0]["prompt"];
  const std::string expected = render_chat(
      *engine.chat_template(), {{"user", "Bye?"}, {"assistant", "Bye"}, {"user", "Hello?"}}, true);
  EXPECT_EQ(prompt, expected);
  EXPECT_TRUE(r.chat_template);
}

}  // namespace
}  // namespace enclave::eval
