"""Black-box tests of `enclave eval run | compare | gate | tasks` on tiny
models made by `enclave model init`: the results table and JSON, agreement
with `enclave score` (the same code path), recording in the store, paired
bootstrap comparisons, gate exit codes, and one-line errors for bad input.

    /usr/bin/python3 tests/eval_cli_test.py --enclave build/src/cli/enclave --workdir /tmp/eval_cli [-k pattern]
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import unittest

import fixtures
import harness

ENCLAVE = None
WORKDIR = None
GATE_FAILED = 10  # cmd_eval.cpp: a rule does not hold


def run(*args, env=None, cwd=None, timeout=600):
    full_env = dict(os.environ)
    full_env.pop("ENCLAVE_HOME", None)
    if env:
        full_env.update(env)
    return subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, timeout=timeout,
                          env=full_env, cwd=cwd)


def fresh_dir(name):
    path = os.path.join(WORKDIR, name)
    if os.path.exists(path):
        shutil.rmtree(path)
    return path


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


class EvalCliTest(unittest.TestCase):
    tiny = None
    other = None
    ws = None

    @classmethod
    def setUpClass(cls):
        if EvalCliTest.tiny is not None:
            return
        EvalCliTest.tiny = fresh_dir("tiny")
        EvalCliTest.other = fresh_dir("tiny_other")
        for path, seed in ((cls.tiny, 1), (cls.other, 2)):
            r = run("model", "init", "--preset", "tiny", "--out", path, "--seed", seed)
            assert r.returncode == 0, r.stderr
        EvalCliTest.ws = fresh_dir("ws")
        r = run("init", cls.ws)
        assert r.returncode == 0, r.stderr
        for path in (cls.tiny, cls.other):
            r = run("models", "register", "tiny", path, env={"ENCLAVE_HOME": cls.ws})
            assert r.returncode == 0, r.stderr

    def ok(self, *args, env=None, cwd=None):
        r = run(*args, env=env, cwd=cwd)
        self.assertEqual(r.returncode, 0, f"{args}\nstdout: {r.stdout}\nstderr: {r.stderr}")
        return r

    def one_line_error(self, r, code, *needles):
        self.assertEqual(r.returncode, code, f"stdout: {r.stdout}\nstderr: {r.stderr}")
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        self.assertEqual(len(lines), 1, r.stderr)
        self.assertTrue(lines[0].startswith("enclave: error: "), lines[0])
        for needle in needles:
            self.assertIn(needle, lines[0])

    def ws_env(self):
        return {"ENCLAVE_HOME": self.ws}

    # --- tasks ---

    def test_tasks_lists_and_writes_the_builtin_sets(self):
        r = self.ok("eval", "tasks", "--json")
        tasks = json.loads(r.stdout)
        names = {t["task"] for t in tasks}
        skills = {n for n in names if n.startswith("skills.")}
        self.assertEqual(skills, {"skills.reverse_en", "skills.reverse_ko", "skills.uppercase_en", "skills.count_en",
                                  "skills.count_ko", "skills.arithmetic_en", "skills.arithmetic_ko"})
        self.assertIn("general.instructions", names)
        self.assertIn("general.text_ko", names)
        out = fresh_dir("written")
        self.ok("eval", "tasks", "--write", out)
        self.assertTrue(os.path.isfile(os.path.join(out, "general.yaml")))
        with open(os.path.join(out, "skills", "data", "skills.reverse_ko", "test.jsonl"), encoding="utf-8") as f:
            doc = json.loads(f.readline())
        # A TRL preference record: the prompt "거꾸로: 가 나 다", chosen "다 나 가".
        letters = doc["prompt"][0]["content"].split(": ", 1)[1].split(" ")
        self.assertEqual(doc["chosen"], [{"role": "assistant", "content": " ".join(reversed(letters))}])
        self.one_line_error(run("eval", "tasks", "--write", out), 1, "already exists")
        ids = self.ok("eval", "tasks", "--instructions").stdout.split()
        self.assertGreaterEqual(len(ids), 12)
        self.assertIn("language:response_language", ids)

    # --- run ---

    def test_run_prints_table_and_json(self):
        r = self.ok("eval", "run", "--model", self.tiny, "--suite", "general.sequence_en", "--limit", 6, "--no-record")
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split(), ["task", "metric", "value", "stderr"])
        self.assertTrue(lines[1].startswith("general.sequence_en"))
        self.assertEqual(lines[1].split()[1], "acc")
        self.assertTrue(any(line.split()[1] == "acc_norm" for line in lines[1:3]))
        r = self.ok("eval", "run", "--model", self.tiny, "--suite", "general.sequence_en", "--limit", 6,
                    "--no-record", "--json")
        result = json.loads(r.stdout)
        task = result["tasks"][0]
        self.assertEqual(task["n_docs"], 6)
        for metric in ("acc", "acc_norm"):
            value = task["metrics"][metric]["value"]
            self.assertTrue(0 <= value <= 1)
            self.assertIn("stderr", task["metrics"][metric])
        self.assertIsNone(result["run_id"])

    def test_run_answers_the_same_one_at_a_time_and_batched(self):
        # generate_until answers decoded together (continuous batching: more
        # documents than slots) are those of Engine::generate one at a time.
        # (Logits agree up to float rounding: on other documents a random
        # model's near-flat logits can tie; on these six they do not.)
        samples = {}
        for batch in (1, 4):
            path = os.path.join(WORKDIR, f"batch{batch}_samples.jsonl")
            self.ok("eval", "run", "--model", self.tiny, "--suite", "skills.reverse_en", "--limit", 6, "--no-record",
                    "--batch-size", batch, "--samples", path)
            with open(path, encoding="utf-8") as f:
                samples[batch] = [json.loads(line) for line in f]
        self.assertEqual(len(samples[1]), 6)
        self.assertTrue(any(s["response"] for s in samples[1]), samples[1])
        for one, batched in zip(samples[1], samples[4]):
            self.assertEqual(one, batched)

    def test_run_writes_mistakes_as_preference_pairs(self):
        # A random model answers wrongly: every wrong, non-empty answer
        # becomes a pair whose chosen turn is the reference.
        mistakes = os.path.join(WORKDIR, "mistakes.jsonl")
        samples = os.path.join(WORKDIR, "mistakes_samples.jsonl")
        r = self.ok("eval", "run", "--model", self.tiny, "--suite", "skills.count_ko", "--limit", 8, "--no-record",
                    "--mistakes", mistakes, "--samples", samples, "--json")
        result = json.loads(r.stdout)
        with open(samples, encoding="utf-8") as f:
            wrong = [s for s in map(json.loads, f) if s["scores"]["exact_match"] < 1 and s["filtered"]]
        with open(mistakes, encoding="utf-8") as f:
            pairs = [json.loads(line) for line in f]
        self.assertEqual(result["mistakes"], len(pairs))
        self.assertGreater(len(pairs), 0)
        self.assertEqual([p["doc"] for p in pairs], [s["doc"] for s in wrong])
        for pair, sample in zip(pairs, wrong):
            self.assertEqual(pair["task"], "skills.count_ko")
            self.assertEqual(len(pair["prompt"]), 1)
            self.assertEqual(pair["prompt"][0]["role"], "user")
            self.assertTrue(pair["prompt"][0]["content"].startswith("글자 수: "))
            letters = pair["prompt"][0]["content"].split(": ", 1)[1].split(" ")
            self.assertEqual(pair["chosen"], [{"role": "assistant", "content": str(len(letters))}])
            self.assertEqual(pair["rejected"], [{"role": "assistant", "content": sample["filtered"]}])
        # A suite whose answers are chosen, not generated, has no mistakes to write.
        self.one_line_error(run("eval", "run", "--model", self.tiny, "--suite", "general.sequence_en",
                                "--mistakes", mistakes, "--no-record"), 1, "--mistakes", "generate_until")

    def test_scores_agree_with_enclave_score(self):
        # Both batch sizes ask for the same sequences: each is scored once.
        scored = {}
        for batch_size in (1, 8):
            samples = os.path.join(WORKDIR, f"samples_{batch_size}.jsonl")
            self.ok("eval", "run", "--model", self.tiny, "--suite", "general.compare_ko", "--limit", 4,
                    "--no-record", "--batch-size", batch_size, "--samples", samples)
            max_diff = 0.0
            with open(samples, encoding="utf-8") as f:
                docs = [json.loads(line) for line in f]
            self.assertEqual(len(docs), 4)
            for doc in docs:
                self.assertEqual(doc["task"], "general.compare_ko")
                for req, ll in zip(doc["requests"], doc["loglikelihoods"]):
                    tokens = ",".join(map(str, req["tokens"]))
                    if tokens not in scored:
                        r = self.ok("score", "--model", self.tiny, "--tokens", tokens, "--json")
                        scored[tokens] = json.loads(r.stdout)["logprobs"]
                    logprobs = scored[tokens]
                    want = sum(logprobs[len(logprobs) - req["n_continuation"]:])
                    max_diff = max(max_diff, abs(want - ll))
            print(f"batch {batch_size}: eval log-likelihoods vs `enclave score`: max diff {max_diff:.3g}")
            self.assertLess(max_diff, 1e-4)

    def test_run_is_recorded_against_the_model_version(self):
        r = self.ok("eval", "run", "--model", "tiny@1", "--suite", "general.compare_en", "--limit", 5,
                    env=self.ws_env())
        self.assertIn("recorded as run", r.stdout)
        run_id = int(r.stdout.strip().split()[-1])
        shown = json.loads(self.ok("runs", "show", run_id, "--json", env=self.ws_env()).stdout)
        self.assertEqual(shown["kind"], "eval")
        self.assertEqual(shown["status"], "finished")
        self.assertIn("general.compare_en/acc", shown["metrics"])
        self.assertIn("suite/score", shown["metrics"])
        self.assertIn("tiny@1", json.dumps(shown))
        lineage = self.ok("lineage", "tiny@1", "--down", env=self.ws_env()).stdout
        self.assertIn(str(run_id), lineage)

    def test_task_file_with_dataset_ref_perplexity_and_chat(self):
        d = fresh_dir("custom")
        write(os.path.join(d, "data", "test.jsonl"),
              '{"text": "The model stays inside the network."}\n{"text": "모델은 네트워크 안에 있습니다."}\n')
        r = self.ok("datasets", "register", "notes", os.path.join(d, "data"), env=self.ws_env())
        write(os.path.join(d, "ppl.yaml"),
              "task: notes_ppl\ndataset: {ref: notes, split: test}\noutput_type: perplexity\n"
              "doc_to_target: '{{text}}'\n")
        r = self.ok("eval", "run", "--model", "tiny", "--suite", os.path.join(d, "ppl.yaml"), "--json",
                    env=self.ws_env())
        metrics = json.loads(r.stdout)["tasks"][0]["metrics"]
        self.assertGreater(metrics["perplexity"]["value"], 1.0)
        self.assertGreater(metrics["bits_per_byte"]["value"], 0.0)
        write(os.path.join(d, "gen.jsonl"), '{"q": "Hello", "a": "Hi"}\n{"q": "Bye", "a": "Bye"}\n')
        write(os.path.join(d, "gen.yaml"),
              "task: chat_gen\ndataset: gen.jsonl\noutput_type: generate_until\ndoc_to_text: '{{q}}'\n"
              "doc_to_target: '{{a}}'\ngeneration_kwargs: {max_gen_toks: 4}\n"
              "metric_list: [exact_match, contains, token_f1, rouge_l, chrf]\n")
        samples = os.path.join(d, "samples.jsonl")
        self.ok("eval", "run", "--model", self.tiny, "--suite", os.path.join(d, "gen.yaml"), "--chat-template",
                "--no-record", "--samples", samples)
        with open(samples, encoding="utf-8") as f:
            first = json.loads(f.readline())
        self.assertIn("<|start_header_id|>user", first["prompt"])

    def test_lm_eval_task_file_with_jinja_json_and_csv(self):
        """A task file as lm-evaluation-harness users write them: local files through
        dataset_path json/csv + data_files, Jinja doc_to_text with a loop and filters,
        doc_to_choice as a rendered list, doc_to_target an index. Prompts must be what
        jinja2 renders under lm-evaluation-harness's environment, and acc the argmax of
        the per-choice log-likelihoods."""
        from jinja_reference import render_lm_eval
        d = fresh_dir("lm_eval_task")
        docs = [{"question": "  Capital of France? ", "choices": ["Paris", "Rome", "서울"], "label": 0},
                {"question": "Largest planet?", "choices": ["Mars", "Jupiter", "Venus"], "label": 1},
                {"question": "한국의 수도는?", "choices": ["부산", "서울", "대구"], "label": 1}]
        write(os.path.join(d, "test.json"), json.dumps(docs, ensure_ascii=False))
        write(os.path.join(d, "train.csv"),
              'question,choices,label\n"2 + 2 = ?","[\'3\', \'4\']",1\n')
        doc_to_text = ("{% for c in choices %}{{ 'ABC'[loop.index0] }}. {{ c }}\n{% endfor %}"
                       "Question: {{ question | trim }}\nAnswer:")
        write(os.path.join(d, "task.yaml"),
              "task: capitals\ndataset_path: json\ndataset_kwargs:\n  data_files:\n"
              "    test: test.json\ntest_split: test\noutput_type: multiple_choice\n"
              f"doc_to_text: {json.dumps(doc_to_text)}\n"
              "doc_to_choice: '{{ choices }}'\ndoc_to_target: '{{ label }}'\n"
              "metric_list: [acc]\nmetadata: {version: 1.0}\n")
        samples = os.path.join(d, "samples.jsonl")
        r = self.ok("eval", "run", "--model", self.tiny, "--suite", os.path.join(d, "task.yaml"),
                    "--no-record", "--samples", samples, "--json")
        acc = json.loads(r.stdout)["tasks"][0]["metrics"]["acc"]["value"]
        with open(samples, encoding="utf-8") as f:
            rows = [json.loads(line) for line in f]
        self.assertEqual(len(rows), 3)
        correct = 0
        for row in rows:
            doc = docs[row["doc"]]
            self.assertEqual(row["context"], render_lm_eval(doc_to_text, doc))
            self.assertEqual(row["choices"], doc["choices"])
            self.assertEqual(row["gold"], doc["label"])
            lls = row["loglikelihoods"]
            correct += int(max(range(len(lls)), key=lls.__getitem__) == doc["label"])
        self.assertAlmostEqual(acc, correct / 3, places=6)

        # The same task over CSV, with a field name as doc_to_target (a dataset column).
        write(os.path.join(d, "csv.yaml"),
              "task: sums\ndataset_path: csv\ndataset_kwargs: {data_files: {test: train.csv}}\n"
              "test_split: test\noutput_type: multiple_choice\ndoc_to_text: '{{question}}'\n"
              "doc_to_choice: '{{ choices }}'\ndoc_to_target: label\n")
        r = self.ok("eval", "run", "--model", self.tiny, "--suite", os.path.join(d, "csv.yaml"),
                    "--no-record", "--samples", samples)
        with open(samples, encoding="utf-8") as f:
            row = json.loads(f.readline())
        self.assertEqual(row["choices"], ["3", "4"])
        self.assertEqual(row["gold"], 1)

        # A missing field is an error naming the template, as StrictUndefined makes it.
        write(os.path.join(d, "bad.yaml"),
              "task: bad\ndataset_path: json\ndataset_kwargs: {data_files: {test: test.json}}\n"
              "output_type: multiple_choice\ndoc_to_text: '{{ questoin }}'\n"
              "doc_to_choice: '{{ choices }}'\ndoc_to_target: '{{ label }}'\n")
        r = run("eval", "run", "--model", self.tiny, "--suite", os.path.join(d, "bad.yaml"), "--no-record")
        self.one_line_error(r, 1, "doc_to_text", "questoin")

    # --- compare ---

    def test_compare_reports_intervals_and_verdicts(self):
        r = self.ok("eval", "compare", "tiny@1", "tiny@1", "--suite", "general.compare_en", "--limit", 10, "--json",
                    env=self.ws_env())
        same = json.loads(r.stdout)
        for row in same["rows"]:
            self.assertEqual(row["delta"], 0.0)
            self.assertEqual(row["verdict"], "no significant difference")
        r = self.ok("eval", "compare", "tiny@1", "tiny@2", "--suite", "general.compare_en", "--limit", 10,
                    "--bootstrap", 300, "--confidence", 0.9, env=self.ws_env())
        header = r.stdout.splitlines()[0].split()
        self.assertEqual(header[:5], ["task", "metric", "A", "B", "delta"])
        self.assertIn("90%", r.stdout)
        r = self.ok("eval", "compare", "tiny@1", "tiny@2", "--suite", "general.compare_en", "--limit", 10, "--json",
                    env=self.ws_env())
        for row in json.loads(r.stdout)["rows"]:
            self.assertLessEqual(row["ci_low"], row["ci_high"])
            self.assertAlmostEqual(row["delta"], row["b"] - row["a"], places=12)
            self.assertIn(row["verdict"], ("better", "worse", "no significant difference"))

    # --- gate ---

    def test_gate_and_compare_take_an_adapter(self):
        d = fresh_dir("adapter")
        fox = os.path.join(d, "fox")
        fixtures.write_adapter(fox)
        write(os.path.join(d, "rules.yaml"), "rules:\n  - 'general.compare_en.acc >= 0'\n")
        common = ["--suite", "general.compare_en", "--limit", 4]
        gate = json.loads(self.ok("eval", "gate", "--model", "tiny@1", "--adapter", fox, *common, "--rules",
                                  os.path.join(d, "rules.yaml"), "--json", env=self.ws_env()).stdout)
        self.assertTrue(gate["passed"])
        self.assertIsNone(gate["reused_eval_runs"]["model"])  # an adapter is evaluated afresh
        shown = json.loads(self.ok("runs", "show", gate["run_id"], "--json", env=self.ws_env()).stdout)
        self.assertEqual(shown["params"]["adapter"], fox)
        self.assertEqual(shown["params"]["adapter_path"], os.path.abspath(fox))
        c = json.loads(self.ok("eval", "compare", "tiny@1", "tiny@1", "--adapter", fox, *common, "--json",
                               env=self.ws_env()).stdout)
        self.assertEqual(c["model_b"], "tiny@1+" + fox)
        bad = run("eval", "gate", "--model", "tiny@1", "--adapter", os.path.join(d, "none"), *common, "--rules",
                  os.path.join(d, "rules.yaml"), env=self.ws_env())
        self.assertNotEqual(bad.returncode, 0)
        # A registered adapter is a version: the gate reuses the eval run of
        # the same base and adapter versions, and no run of another adapter.
        self.ok("models", "register", "fox", fox, env=self.ws_env())
        self.ok("models", "tag", "fox@1", "base=tiny@1", env=self.ws_env())
        ran = json.loads(self.ok("eval", "run", "--model", "tiny@1", "--adapter", "fox@1", *common, "--json",
                                 env=self.ws_env()).stdout)
        gate = json.loads(self.ok("eval", "gate", "--model", "tiny@1", "--adapter", "fox", *common, "--rules",
                                  os.path.join(d, "rules.yaml"), "--json", env=self.ws_env()).stdout)
        self.assertEqual(gate["reused_eval_runs"]["model"], ran["run_id"])
        plain = json.loads(self.ok("eval", "gate", "--model", "tiny@1", *common, "--rules",
                                   os.path.join(d, "rules.yaml"), "--json", env=self.ws_env()).stdout)
        self.assertNotEqual(plain["reused_eval_runs"]["model"], ran["run_id"])

    def test_gate_exit_codes_and_record(self):
        d = fresh_dir("gate")
        write(os.path.join(d, "pass.yaml"),
              "rules:\n  - 'general.compare_en.acc >= 0'\n  - 'regression(general.*) <= 0.0'\n")
        write(os.path.join(d, "fail.yaml"),
              "rules:\n  - 'general.compare_en.acc > 1'\n  - 'general.compare_en.acc >= 0'\n")
        args = ["eval", "gate", "--model", "tiny@1", "--suite", "general.compare_en", "--limit", 6]
        r = self.ok(*args, "--baseline", "tiny@1", "--rules", os.path.join(d, "pass.yaml"), env=self.ws_env())
        self.assertIn("gate passed", r.stdout)
        r = run(*args, "--rules", os.path.join(d, "fail.yaml"), env=self.ws_env())
        self.assertEqual(r.returncode, GATE_FAILED, r.stderr)
        self.assertIn("gate failed: 1 rule(s)", r.stderr)
        self.assertIn("general.compare_en.acc > 1", r.stderr)
        self.assertNotIn("general.compare_en.acc >= 0", r.stderr)
        run_id = int(r.stdout.strip().split()[-1])
        shown = json.loads(self.ok("runs", "show", run_id, "--json", env=self.ws_env()).stdout)
        self.assertEqual(shown["kind"], "gate")
        self.assertEqual(shown["metrics"]["gate/passed"]["last"], 0.0)
        r = run(*args, "--rules", os.path.join(d, "fail.yaml"), "--json", "--no-record", env=self.ws_env())
        self.assertEqual(r.returncode, GATE_FAILED)
        self.assertFalse(json.loads(r.stdout)["passed"])
        # regression() without --baseline: an input error before any model runs.
        self.one_line_error(run(*args, "--rules", os.path.join(d, "pass.yaml"), env=self.ws_env()), 1, "--baseline")
        # a rule selecting no metric (acc spelt accuracy): exit 1 before any model runs
        write(os.path.join(d, "typo.yaml"), "rules:\n  - 'general.compare_en.accuracy >= 0.5'\n")
        self.one_line_error(run(*args, "--rules", os.path.join(d, "typo.yaml"), env=self.ws_env()), 1,
                            "valid: general.compare_en.acc")
        write(os.path.join(d, "bad.yaml"), "rules:\n  - 'general.compare_en.acc => 0.5'\n")
        self.one_line_error(run(*args, "--rules", os.path.join(d, "bad.yaml"), env=self.ws_env()), 1,
                            "bad.yaml: rules[0]")

    # --- errors ---

    def test_bad_input_is_one_line(self):
        self.one_line_error(run("eval", "run", "--model", self.tiny, "--suite", "no-such-suite"), 2, "no-such-suite")
        d = fresh_dir("bad")
        write(os.path.join(d, "data.jsonl"), '{"q": "x", "a": "y"}\n{"q": "x", "q": "dup"}\n')
        write(os.path.join(d, "typo.yaml"), "task: t\ndataset: data.jsonl\noutput_type: generate_until\n"
              "doc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\nnum_fewshots: 2\n")
        self.one_line_error(run("eval", "run", "--model", self.tiny, "--suite", os.path.join(d, "typo.yaml")), 1,
                            "typo.yaml", "num_fewshots")
        write(os.path.join(d, "dup.yaml"), "task: t\ndataset: data.jsonl\noutput_type: generate_until\n"
              "doc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n")
        self.one_line_error(run("eval", "run", "--model", self.tiny, "--suite", os.path.join(d, "dup.yaml"),
                                "--no-record"), 1, "data.jsonl: line 2")
        write(os.path.join(d, "data2.jsonl"), '{"q": "x"}\n')
        write(os.path.join(d, "missing.yaml"), "task: t\ndataset: data2.jsonl\noutput_type: generate_until\n"
              "doc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n")
        self.one_line_error(run("eval", "run", "--model", self.tiny, "--suite", os.path.join(d, "missing.yaml"),
                                "--no-record"), 1, "line 1: 'a' is undefined")
        self.one_line_error(run("eval", "run", "--model", os.path.join(d, "nope"), "--suite", "general.copy_en"), 2)
        r = run("eval", "run", "--model", self.tiny, "--suite", "general.copy_en", "--limit", 1.5)
        self.one_line_error(r, 1, "--limit")
        r = run("eval", "compare", "tiny@1", "--suite", "general.copy_en")
        self.assertEqual(r.returncode, 64)


def main():
    global ENCLAVE, WORKDIR
    a, rest = harness.parse(__doc__, "eval_cli_test")
    ENCLAVE, WORKDIR = a.enclave, a.workdir
    return harness.run(rest)

if __name__ == "__main__":
    sys.exit(main())
