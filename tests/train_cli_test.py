"""Black-box tests of `enclave train` and `enclave model merge-lora`: runs
recorded in the store with params, per-step metrics and lineage; YAML config
with flags winning; LoRA adapters usable by score/generate and equal to their
merge; DPO starting at log 2; Ctrl-C writing a checkpoint that --resume
continues exactly; 2-process data parallel matching 1 process; bad input
giving one clear stderr line.

    /usr/bin/python3 tests/train_cli_test.py --enclave build/src/cli/enclave --workdir /tmp/train_cli [-k pattern]
"""

import argparse
import functools
import itertools
import json
import math
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import unittest

ENCLAVE = None
WORKDIR = None

# --- An accountant for DP-SGD written from the papers, independent of Enclave's ---
# The orders Enclave's accountant minimises over (src/train/dp_accountant.h).
DP_ORDERS = [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5] + list(range(5, 65)) + [80, 96, 128, 160, 192, 256]


def _log_sum_exp(terms):
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


@functools.lru_cache(maxsize=None)
def sgm_log_a(q, sigma, alpha):
    """log A_alpha of the sampled Gaussian mechanism (Mironov, Talwar, Zhang 2019):
    A_alpha = E_{z~N(0,sigma^2)}[((1-q) + q exp((2z-1)/(2 sigma^2)))^alpha]."""
    if float(alpha).is_integer():
        # Integer orders: the binomial expansion (Sec. 3.3), exact binomials.
        a = int(alpha)
        return _log_sum_exp([math.log(math.comb(a, k)) + k * math.log(q) + (a - k) * math.log1p(-q)
                             + (k * k - k) / (2 * sigma ** 2) for k in range(a + 1)])
    # Fractional orders: the defining integral by Simpson's rule in log space
    # (not the paper's series, which Enclave uses).
    lo, hi, n = -14 * sigma - 1, alpha + 14 * sigma + 1, 1000
    h = (hi - lo) / n
    logs = []
    for i in range(n + 1):
        z = lo + i * h
        mix = _log_sum_exp([math.log1p(-q), math.log(q) + (2 * z - 1) / (2 * sigma ** 2)])
        weight = 1 if i in (0, n) else (4 if i % 2 else 2)
        logs.append(math.log(weight * h / 3) - z * z / (2 * sigma ** 2) - math.log(sigma * math.sqrt(2 * math.pi))
                    + alpha * mix)
    return _log_sum_exp(logs)


def dp_epsilon(q, sigma, steps, delta):
    """(epsilon, delta) after `steps` compositions: the RDP -> DP conversion of
    Canonne, Kamath, Steinke 2020 (Prop. 12), best over DP_ORDERS."""
    best = math.inf
    for a in DP_ORDERS:
        rdp = steps * sgm_log_a(q, sigma, a) / (a - 1)
        if delta ** 2 + math.expm1(-rdp) >= 0:
            return 0.0
        best = min(best, rdp + math.log1p(-1 / a) - math.log(delta * a) / (a - 1))
    return max(best, 0.0)


def run(*args, timeout=600, env=None):
    return subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


def ok(*args, **kw):
    r = run(*args, **kw)
    if r.returncode != 0:
        raise AssertionError(f"enclave {' '.join(map(str, args))} failed ({r.returncode}):\n{r.stderr}")
    return r


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PseudoEnglish:
    """Seeded text that tokenises like prose: 20,000 made-up words drawn by Zipf's law
    into sentences with capitals, commas, full stops and numbers. A pool of documents
    is made once; a corpus is the pool in a new shuffled order per pass, so gigabytes
    are written at disk speed."""

    def __init__(self, seed, n_docs=1000):
        rng = random.Random(seed)
        syllables = ["ka", "to", "ri", "mon", "sel", "an", "ber", "tis", "lo", "quen", "dra", "ve", "pu",
                     "shi", "nor", "el", "gam", "fu", "zo", "ret", "in", "ox", "ia", "th", "str", "ple"]
        words = set()
        while len(words) < 20000:
            words.add("".join(rng.choice(syllables) for _ in range(rng.choice([1, 2, 2, 2, 3, 3, 4]))))
        words = sorted(words)
        rng.shuffle(words)
        cum_weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(words))))
        self.pool = []
        for _ in range(n_docs):
            out = []
            for w in rng.choices(words, cum_weights=cum_weights, k=rng.randint(50, 400)):
                if not out or out[-1].endswith("."):
                    w = w.capitalize()
                if rng.random() < 0.02:
                    w = str(rng.randint(0, 2000))
                if rng.random() < 0.08:
                    w += rng.choice([".", ",", ".", ";", "?"])
                out.append(w)
            self.pool.append(json.dumps({"text": " ".join(out)}) + "\n")
        self.rng = rng

    def write(self, path, min_bytes):
        """Writes whole passes over the pool until path holds min_bytes (min_bytes 1: one
        pass); returns the number of documents."""
        n, size = 0, 0
        with open(path, "w") as f:
            while size < min_bytes:
                chunk = "".join(self.rng.sample(self.pool, len(self.pool)))
                f.write(chunk)
                size += len(chunk)
                n += len(self.pool)
        return n


class TrainCliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = os.path.join(WORKDIR, "ws")
        if os.path.exists(WORKDIR):
            shutil.rmtree(WORKDIR)
        os.makedirs(WORKDIR)
        ok("init", cls.root)
        cls.ws = ["--workspace", cls.root]
        cls.base_dir = os.path.join(WORKDIR, "tiny")
        ok("model", "init", "--preset", "tiny", "--out", cls.base_dir, "--seed", "3")
        ok("models", "register", "base", cls.base_dir, *cls.ws)
        cls.data = os.path.join(WORKDIR, "data")
        ok("train", "tasks", "--out", cls.data, "--n-pretrain", "80", "--n-sft", "64", "--n-eval", "8",
           "--n-dpo", "32", "--n-dpo-eval", "8")
        cls.common = ["--batch-size", "4", "--threads", "1", "--max-length", "128", *cls.ws]

    def train(self, mode, *args, expect=0):
        r = run("train", mode, "--model", "base", *self.common, "--json", *args)
        self.assertEqual(r.returncode, expect, r.stderr)
        return json.loads(r.stdout.strip().splitlines()[-1]) if expect == 0 else r

    def series(self, run_id, key):
        shown = json.loads(ok("runs", "show", str(run_id), "--series", "--json", *self.ws).stdout)
        return shown, [point[1] for point in shown["metrics"][key]["series"]]

    def test_sft_records_run_metrics_and_lineage(self):
        out = self.train("sft", "--data", os.path.join(self.data, "sft.jsonl"), "--out", "sft-model",
                         "--max-steps", "4", "--lr", "1e-3")
        self.assertEqual(out["steps"], 4)
        self.assertEqual(out["model"], "sft-model@1")
        shown, losses = self.series(out["run_id"], "loss")
        self.assertEqual(shown["kind"], "train")
        self.assertEqual(shown["status"], "finished")
        self.assertEqual(len(losses), 4)
        for key in ("lr", "grad_norm", "tokens_per_s"):
            self.assertEqual(shown["metrics"][key]["n"], 4, key)
        params = shown["params"]
        self.assertEqual(params["mode"], "sft")
        self.assertEqual(params["max_steps"], 4)
        self.assertAlmostEqual(params["lr"], 1e-3)
        self.assertEqual(params["batch_size"], 4)
        lineage = ok("lineage", "sft-model@1", "--up", "--params", *self.ws).stdout
        self.assertIn("base@1", lineage)
        self.assertIn("sft.jsonl", lineage)
        # The registered model loads and generates.
        path = ok("models", "path", "sft-model@1", *self.ws).stdout.strip()
        ok("generate", "--model", path, "--prompt", "Reverse: a b", "--max-tokens", "4")

    def test_yaml_config_with_flags_winning_and_bad_keys(self):
        cfg = os.path.join(WORKDIR, "train.yaml")
        with open(cfg, "w") as f:
            f.write("max_steps: 3\nlr: 0.001\nlr_scheduler: linear\nwarmup_steps: 1\n")
        out = self.train("sft", "--config", cfg, "--data", os.path.join(self.data, "sft.jsonl"), "--out", "yaml-model",
                         "--max-steps", "2")
        self.assertEqual(out["steps"], 2)
        shown, lrs = self.series(out["run_id"], "lr")
        self.assertEqual(shown["params"]["lr_scheduler"], "linear")
        self.assertAlmostEqual(lrs[0], 1e-3)
        with open(cfg, "w") as f:
            f.write("max_step: 3\n")
        r = self.train("sft", "--config", cfg, "--data", os.path.join(self.data, "sft.jsonl"), "--out", "x", expect=1)
        self.assertIn("unknown key 'max_step'", r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)

    def test_lora_adapter_scores_like_its_merge(self):
        out = self.train("sft", "--data", os.path.join(self.data, "sft.jsonl"), "--out", "lora-adapter",
                         "--max-steps", "3", "--lora", "--lora-r", "4", "--lr", "5e-3")
        self.assertTrue(out["adapter"])
        adapter = ok("models", "path", "lora-adapter@1", *self.ws).stdout.strip()
        with open(os.path.join(adapter, "adapter_config.json")) as f:
            config = json.load(f)
        self.assertEqual(config["peft_type"], "LORA")
        self.assertEqual(config["r"], 4)
        merged = os.path.join(WORKDIR, "merged")
        shutil.rmtree(merged, ignore_errors=True)
        ok("model", "merge-lora", "--base", "base", "--adapter", adapter, "--out", merged, *self.ws)
        text = "Count the letters: a b c"
        with_adapter = json.loads(ok("score", "--model", self.base_dir, "--adapter", adapter, "--text", text, "--json").stdout)
        merged_scores = json.loads(ok("score", "--model", merged, "--text", text, "--json").stdout)
        base_scores = json.loads(ok("score", "--model", self.base_dir, "--text", text, "--json").stdout)
        diff = max(abs(a - b) for a, b in zip(with_adapter["logprobs"], merged_scores["logprobs"]))
        moved = max(abs(a - b) for a, b in zip(with_adapter["logprobs"], base_scores["logprobs"]))
        print(f"merge-lora vs base+adapter: max logprob diff {diff:.3g} (adapter moved them by {moved:.3g})")
        self.assertLess(diff, 1e-4)
        self.assertGreater(moved, 1e-4)
        ok("generate", "--model", self.base_dir, "--adapter", adapter, "--prompt", "Hi", "--max-tokens", "3")
        # `eval run --adapter` scores base + adapter unmerged, as its merge scores.
        lls = {}
        for name, model in (("adapter", ["--model", "base", "--adapter", adapter]), ("merged", ["--model", merged]),
                            ("base", ["--model", "base"])):
            samples = os.path.join(WORKDIR, f"eval_{name}.jsonl")
            ok("eval", "run", *model, "--suite", "general.sequence_en", "--limit", "4", "--samples", samples,
               "--threads", "1", *self.ws)
            with open(samples, encoding="utf-8") as f:
                lls[name] = [ll for doc in map(json.loads, f) for ll in doc["loglikelihoods"]]
        diff = max(abs(a - b) for a, b in zip(lls["adapter"], lls["merged"]))
        moved = max(abs(a - b) for a, b in zip(lls["adapter"], lls["base"]))
        print(f"eval run --adapter vs merge-lora: max loglikelihood diff {diff:.3g} (vs base {moved:.3g})")
        self.assertLess(diff, 1e-3)
        self.assertGreater(moved, 1e-4)
        shown = json.loads(ok("runs", "list", "--json", *self.ws).stdout)
        self.assertTrue(any(r["kind"] == "eval" for r in shown))
        r = run("model", "merge-lora", "--base", "base", "--adapter", self.base_dir, "--out", merged + "2", *self.ws)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("adapter_config.json", r.stderr)

    def test_dpo_starts_at_log2_and_logs_rewards(self):
        out = self.train("dpo", "--data", os.path.join(self.data, "dpo.jsonl"), "--out", "dpo-model",
                         "--max-steps", "3", "--lr", "1e-4", "--beta", "0.1")
        shown, losses = self.series(out["run_id"], "loss")
        self.assertAlmostEqual(losses[0], math.log(2), places=5)
        for key in ("rewards/chosen", "rewards/rejected", "rewards/accuracies", "rewards/margins"):
            self.assertIn(key, shown["metrics"])
        out = self.train("sdpo", "--data", os.path.join(self.data, "dpo.jsonl"), "--out", "sdpo-model",
                         "--max-steps", "4", "--lr", "1e-4", "--sdpo-split", "field", "--sdpo-field", "difficulty")
        self.assertEqual(out["steps"], 4)
        # The pairs streamed into the token cache for DPO serve sDPO as they are.
        self.assertEqual(out["token_cache"], "hit")

    def test_sdpo_over_dataset_versions_in_order(self):
        # Chunks given as dataset versions, easy first: no --data needed, and
        # lineage leads back to each chunk's dataset version.
        with open(os.path.join(self.data, "dpo.jsonl")) as f:
            records = [json.loads(line) for line in f]
        cut = sorted(r["difficulty"] for r in records)[len(records) // 2]
        for name, keep in (("prefs-easy", lambda d: d < cut), ("prefs-hard", lambda d: d >= cut)):
            path = os.path.join(WORKDIR, name + ".jsonl")
            with open(path, "w") as f:
                f.writelines(json.dumps(r) + "\n" for r in records if keep(r["difficulty"]))
            ok("datasets", "register", name, path, *self.ws)
        files = ["--sdpo-split", "files", "--sdpo-files", "prefs-easy@1,prefs-hard@1", "--lr", "1e-4"]
        out = self.train("sdpo", "--out", "sdpo-files", "--max-steps", "2", *files)
        self.assertEqual(out["steps"], 2)
        up = json.loads(ok("lineage", "sdpo-files@1", "--up", "--json", *self.ws).stdout)
        text = json.dumps(up)
        self.assertIn("prefs-easy@1", text)
        self.assertIn("prefs-hard@1", text)
        # Fewer steps than chunks: refused with the reason, nothing registered.
        r = self.train("sdpo", "--out", "sdpo-too-short", "--max-steps", "1", *files, expect=1)
        last = r.stderr.strip().splitlines()[-1]
        self.assertTrue(last.startswith("enclave: error: sdpo: max_steps 1") and "2 chunks" in last, r.stderr)
        self.assertNotIn("sdpo-too-short", ok("models", "list", *self.ws).stdout)

    def test_tasks_hold_out_the_skills_suite(self):
        # The held-out files are items of the built-in suite, which no training file holds.
        suite = os.path.join(WORKDIR, "suite_tasks")
        shutil.rmtree(suite, ignore_errors=True)
        ok("eval", "tasks", "--write", suite)
        suite_prompts = set()
        for root, _, files in os.walk(os.path.join(suite, "skills", "data")):
            for name in files:
                with open(os.path.join(root, name), encoding="utf-8") as f:
                    suite_prompts.update(json.loads(line)["prompt"][0]["content"] for line in f)
        self.assertEqual(len(suite_prompts), 7 * 40)

        def prompts(name):
            with open(os.path.join(self.data, name), encoding="utf-8") as f:
                records = [json.loads(line) for line in f]
            return {r["messages"][0]["content"] if "messages" in r else r["prompt"][0]["content"] for r in records}

        self.assertLessEqual(prompts("sft_eval.jsonl") | prompts("dpo_eval.jsonl"), suite_prompts)
        self.assertEqual(len(prompts("sft_eval.jsonl") | prompts("dpo_eval.jsonl")), 16)
        for name in ("sft.jsonl", "dpo.jsonl"):
            self.assertFalse(prompts(name) & suite_prompts, name)
        with open(os.path.join(self.data, "pretrain.jsonl"), encoding="utf-8") as f:
            solved = [block for doc in map(json.loads, f) for block in doc["text"].split("\n\n") if block]
        self.assertFalse({block.split("\nAnswer: ")[0] for block in solved} & suite_prompts)
        r = run("train", "tasks", "--out", os.path.join(WORKDIR, "too_many"), "--n-eval", "200", "--n-dpo-eval", "81")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("skills suite", r.stderr)

    def test_mistakes_become_preference_pairs(self):
        # The DPO prompts scored as the suite scores its items: a random
        # model's wrong answers become pairs whose chosen turn is the answer.
        with open(os.path.join(self.data, "dpo.jsonl"), encoding="utf-8") as f:
            answers = {r["prompt"][0]["content"]: r["chosen"] for r in map(json.loads, f)}
        mistakes = os.path.join(WORKDIR, "mistakes.jsonl")
        result = json.loads(ok("eval", "run", "--model", "base", "--suite", os.path.join(self.data, "dpo_prompts.yaml"),
                               "--limit", "16", "--mistakes", mistakes, "--json", "--threads", "1", *self.ws).stdout)
        task = result["tasks"][0]
        self.assertEqual(task["task"], "skills.dpo_prompts")
        self.assertEqual(task["n_docs"], 16)
        with open(mistakes, encoding="utf-8") as f:
            pairs = [json.loads(line) for line in f]
        self.assertGreater(len(pairs), 0)
        self.assertEqual(result["mistakes"], len(pairs))
        self.assertLessEqual(len(pairs), round(16 * (1 - task["metrics"]["exact_match"]["value"])))
        for p in pairs:
            self.assertEqual([m["role"] for m in p["prompt"]], ["user"])
            self.assertEqual(p["chosen"], answers[p["prompt"][0]["content"]])
            self.assertEqual(p["rejected"][0]["role"], "assistant")
            self.assertNotEqual(p["rejected"][0]["content"], p["chosen"][0]["content"])
        # The pairs are DPO data as they stand.
        out = self.train("dpo", "--data", mistakes, "--out", "dpo-on-mistakes", "--max-steps", "1", "--lr", "1e-4")
        self.assertEqual(out["steps"], 1)

    def test_ctrl_c_checkpoints_and_resume_continues_exactly(self):
        sft = os.path.join(self.data, "sft.jsonl")
        args = ["--data", sft, "--max-steps", "12", "--lr", "1e-3", "--save-every", "100", "--log-every", "1"]
        whole = self.train("sft", *args, "--out", "whole")
        _, whole_losses = self.series(whole["run_id"], "loss")

        ckpt = os.path.join(WORKDIR, "ckpt")
        cmd = [ENCLAVE, "train", "sft", "--model", "base", *self.common, *args, "--out", "resumed",
               "--checkpoint-dir", ckpt]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            if line.startswith("step 4/"):
                proc.send_signal(signal.SIGINT)
                break
        _, err = proc.communicate(timeout=300)
        self.assertEqual(proc.returncode, 130, err)
        checkpoints = sorted(os.listdir(ckpt))
        self.assertEqual(len(checkpoints), 1, checkpoints)
        stopped = int(checkpoints[0].split("-")[1])
        self.assertGreaterEqual(stopped, 4)
        killed = json.loads(ok("runs", "list", "--json", *self.ws).stdout)[0]
        self.assertEqual(killed["status"], "killed")

        out = self.train("sft", *args, "--out", "resumed", "--checkpoint-dir", ckpt, "--resume")
        self.assertEqual(out["steps"], 12)
        shown = json.loads(ok("runs", "show", str(out["run_id"]), "--series", "--json", *self.ws).stdout)
        points = shown["metrics"]["loss"]["series"]
        self.assertEqual([p[0] for p in points], list(range(stopped + 1, 13)))
        diff = max(abs(p[1] - whole_losses[p[0] - 1]) for p in points)
        print(f"resume after SIGINT at step {stopped}: max loss diff vs uninterrupted {diff:.3g}")
        self.assertLess(diff, 1e-6)

    def train_measured(self, *args, ws=None, env=None):
        """`enclave train pretrain --model base ... --json` (in ws, default the class's
        workspace): its JSON output, its stderr, its own peak resident memory in bytes
        (ru_maxrss from wait4: the process's VmHWM over the whole run, libtorch and the model
        included) and its wall seconds."""
        out_path, err_path = os.path.join(WORKDIR, "measured.out"), os.path.join(WORKDIR, "measured.err")
        start = time.monotonic()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            proc = subprocess.Popen([ENCLAVE, "train", "pretrain", "--model", "base", *(ws or self.ws), "--json",
                                     *map(str, args)], stdout=out, stderr=err, env=env)
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.monotonic() - start
        with open(out_path) as out, open(err_path) as err:
            stdout, stderr = out.read(), err.read()
        self.assertEqual(proc.returncode, 0, stderr)
        return json.loads(stdout.strip().splitlines()[-1]), stderr, usage.ru_maxrss * 1024, seconds

    def test_pretrain_over_data_several_times_its_peak_memory(self):
        # Issue 17: a pretraining run over a data set several times larger than the
        # run's whole peak resident memory (VmHWM, libtorch and the model included)
        # completes: the JSONL streams through tokenisers on every core into the token
        # cache, which training reads mapped, giving back each step's pages. A first run
        # on one slice of the corpus measures the peak; the full corpus is sized from it.
        corpus = PseudoEnglish(seed=17)
        small = os.path.join(WORKDIR, "slice.jsonl")
        corpus.write(small, 1)
        args = ["--max-steps", "2", "--batch-size", "1", "--threads", "1", "--max-length", "128"]
        first, _, slice_peak, _ = self.train_measured("--data", small, "--out", "streamed", *args)
        self.assertEqual((first["steps"], first["token_cache"]), (2, "miss"))
        # The same content again (a resume, another learning rate) reads the token cache.
        again = self.train("pretrain", "--data", small, "--max-steps", "1", "--out", "streamed-again")
        self.assertEqual(again["token_cache"], "hit")
        shown = json.loads(ok("runs", "show", str(again["run_id"]), "--json", *self.ws).stdout)
        self.assertTrue(shown["params"]["token_cache"]["hit"])

        big = os.path.join(WORKDIR, "big.jsonl")
        cache_file = None
        try:
            start = time.monotonic()
            n_docs = corpus.write(big, int(3.5 * slice_peak))
            data_bytes = os.path.getsize(big)
            written = time.monotonic() - start
            out, err, peak, seconds = self.train_measured("--data", big, "--out", "streamed-big", *args)
            shown = json.loads(ok("runs", "show", str(out["run_id"]), "--json", *self.ws).stdout)
            cache_file = os.path.join(self.root, ".enclave", "checkouts",
                                      "tokens-" + shown["params"]["token_cache"]["key"])
            cache_bytes = os.path.getsize(cache_file)
            memory = out["memory_kb"]
            growth = (memory["peak_reading_data"] - memory["rss_before_data"]) * 1024
            print(f"pretrain over {data_bytes / 1e6:.0f} MB of JSONL ({n_docs} documents, written in {written:.1f} s; "
                  f"token cache {cache_bytes / 1e6:.0f} MB): {seconds:.1f} s, {data_bytes / 1e6 / seconds:.0f} MB/s; "
                  f"peak RSS (VmHWM) {peak / 1e6:.0f} MB = data / {data_bytes / peak:.1f} "
                  f"(one slice: {slice_peak / 1e6:.0f} MB); reading the data raised RSS by {growth / 1e6:.1f} MB")
            self.assertEqual((out["steps"], out["token_cache"]), (2, "miss"))
            # Every document went through the tokeniser into the packed sequences.
            self.assertIn(f"data: {n_docs} records -> ", err)
            self.assertGreater(cache_bytes, data_bytes)
            self.assertLess(peak, data_bytes / 3)
            self.assertLess(growth, data_bytes / 50)
        finally:
            for path in (big, cache_file):
                if path and os.path.exists(path):
                    os.remove(path)

    def test_encrypted_workspace_reads_its_token_cache_mapped(self):
        # In an encrypted workspace the token cache lies in the process's private plaintext
        # folder, whose files are read whole rather than mapped; the cache is mapped there
        # too, so the bound holds: resident memory grows by far less than the cache (about
        # 2.8 bytes per byte of this JSONL; read whole, the growth was the cache's size).
        key = os.path.join(WORKDIR, "enc.key")
        ok("store", "keygen", "--out", key)
        root = os.path.join(WORKDIR, "enc-ws")
        ok("init", "--encrypt", "--key-file", key, root)
        env = dict(os.environ, ENCLAVE_WORKSPACE_KEY_FILE=key)
        ws = ["--workspace", root]
        ok("models", "register", "base", self.base_dir, *ws, env=env)
        data = os.path.join(WORKDIR, "enc-data.jsonl")
        n_docs = PseudoEnglish(seed=5, n_docs=300).write(data, 60_000_000)
        data_bytes = os.path.getsize(data)
        try:
            out, err, _, _ = self.train_measured("--data", data, "--out", "enc-streamed", "--max-steps", "2",
                                                 "--batch-size", "1", "--threads", "1", "--max-length", "128",
                                                 ws=ws, env=env)
        finally:
            os.remove(data)
        self.assertEqual((out["steps"], out["token_cache"]), (2, "miss"))
        self.assertIn(f"data: {n_docs} records -> ", err)
        memory = out["memory_kb"]
        growth = (memory["peak_reading_data"] - memory["rss_before_data"]) * 1024
        print(f"encrypted workspace: {data_bytes / 1e6:.0f} MB of JSONL; reading it (tokenising, "
              f"writing and opening the token cache) raised resident memory by {growth / 1e6:.1f} MB")
        self.assertLess(growth, data_bytes / 2)
        # Nothing decrypted is left behind once the run has ended.
        leftovers = [f for _, _, files in os.walk(os.path.join(root, ".enclave")) for f in files
                     if f.startswith("tokens-")]
        self.assertEqual(leftovers, [])

    def test_two_process_data_parallel_matches_one_process(self):
        args = ["--data", os.path.join(self.data, "sft.jsonl"), "--max-steps", "4", "--lr", "1e-3"]
        single = self.train("sft", *args, "--out", "dp1")
        double = self.train("sft", *args, "--out", "dp2", "--nproc", "2", "--master-port", str(free_port()))
        _, a = self.series(single["run_id"], "loss")
        _, b = self.series(double["run_id"], "loss")
        self.assertEqual(len(b), 4)
        diff = max(abs(x - y) for x, y in zip(a, b))
        print(f"2-process vs 1-process loss curve: max diff {diff:.3g}")
        self.assertLess(diff, 1e-4)

    def test_dp_sgd_epsilon_matches_an_independent_accountant_and_learns(self):
        # DP-SGD at (8, 1e-5) on the demo's SFT data: 64 examples, about 8 a step.
        epsilon, delta, steps = 8.0, 1e-5, 12
        start = time.monotonic()
        out = json.loads(ok("train", "sft", "--model", "base", "--data", os.path.join(self.data, "sft.jsonl"), "--out",
                            "dp-sft", "--max-steps", steps, "--batch-size", "8", "--threads", "1", "--max-length", "128",
                            "--lr", "3e-3", "--lr-scheduler", "constant", "--dp-epsilon", epsilon, "--dp-delta", delta,
                            "--dp-max-grad-norm", "1.0", "--json", *self.ws).stdout.strip().splitlines()[-1])
        seconds = time.monotonic() - start
        shown, eps_series = self.series(out["run_id"], "dp/epsilon")
        dp = shown["params"]["dp"]
        self.assertEqual(out["dp"]["noise_multiplier"], dp["noise_multiplier"])
        self.assertEqual(dp["n_examples"], 64)
        self.assertAlmostEqual(dp["sampling_rate"], 8 / 64)
        self.assertEqual(dp["delta"], delta)
        self.assertEqual(dp["steps"], steps)
        self.assertEqual(len(eps_series), steps)
        q, sigma = dp["sampling_rate"], dp["noise_multiplier"]
        worst = 0.0
        for step in (1, steps // 2, steps):
            ours = dp_epsilon(q, sigma, step, delta)
            worst = max(worst, abs(eps_series[step - 1] - ours) / ours)
        print(f"dp: sigma {sigma:.4f} q {q} -> epsilon {eps_series[-1]:.4f} (target {epsilon}); "
              f"independent accountant: max relative diff {worst:.2g}")
        self.assertLess(worst, 1e-3)
        self.assertLessEqual(eps_series[-1], epsilon)
        self.assertEqual(dp["epsilon"], eps_series[-1])
        # The noise is no smaller than the budget allows: at 1% less noise the
        # independent accountant says the budget would be exceeded.
        self.assertGreater(dp_epsilon(q, sigma * 0.99, steps, delta), epsilon)
        _, losses = self.series(out["run_id"], "loss")
        first, last = sum(losses[:2]) / 2, sum(losses[-3:]) / 3
        print(f"dp sft at epsilon {epsilon}: loss {first:.3f} -> {last:.3f} in {seconds:.1f}s")
        # An untrained tiny model sits near ln(1024) = 6.93 whatever the batch;
        # noise alone would not lower it. DP-SGD at epsilon 8 takes off about 0.6.
        self.assertLess(last, first - 0.3)

    def test_bad_input_gives_one_line(self):
        bad = os.path.join(WORKDIR, "bad.jsonl")
        with open(bad, "w") as f:
            f.write('{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]}\n{"messages": \n')
        cases = [
            (["sft", "--data", bad, "--out", "b1"], 1, "bad.jsonl:2"),
            (["sft", "--data", os.path.join(WORKDIR, "missing.jsonl"), "--out", "b2"], 2, "missing.jsonl"),
            (["sft", "--data", bad, "--out", "b3", "--batch-size", "x"], 1, "--batch-size"),
            (["dpo", "--data", os.path.join(self.data, "sft.jsonl"), "--out", "b4"], 1, "missing field 'prompt'"),
            (["sft", "--data", bad, "--out", "bad name!"], 1, "model name"),
            (["sft", "--data", bad, "--out", "b5", "--dp-epsilon", "8"], 1, "missing --dp-delta, --dp-max-grad-norm"),
            (["dpo", "--data", bad, "--out", "b6", "--dp-epsilon", "8", "--dp-delta", "1e-5", "--dp-max-grad-norm", "1"],
             1, "not `train dpo`"),
        ]
        for args, code, text in cases:
            r = run("train", args[0], "--model", "base", *self.ws, *args[1:])
            self.assertEqual(r.returncode, code, f"{args}: {r.stderr}")
            self.assertIn(text, r.stderr, args)
            self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)


def main():
    global ENCLAVE, WORKDIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--enclave", required=True)
    parser.add_argument("--workdir", required=True)
    args, rest = parser.parse_known_args()
    ENCLAVE = os.path.abspath(args.enclave)
    WORKDIR = os.path.abspath(args.workdir)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
