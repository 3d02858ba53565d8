"""Black-box tests of `enclave merge` and `enclave model upscale`: merges of
`enclave model init` models checked tensor by tensor against an independent
PyTorch implementation of mergekit's formulas (linear, SLERP, TIES; DARE by
its drop-or-rescale property and seed reproducibility), depth up-scaling
(n layers become 2(n - D), tensors equal their source layers), results
registered in the workspace with lineage to every input model and the config,
merged and upscaled models that score and generate, and bad configs that end
with ONE stderr line naming the field.

    /usr/bin/python3 tests/merge_cli_test.py --enclave build/src/cli/enclave --workdir /tmp/merge-cli \
        [--fixtures build/tests/fixtures] [ClassName ...] [-k pattern]
"""

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import unittest

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import safetensors_io  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
import harness

ENCLAVE = None
WORKDIR = None
FIXTURES = None  # the tiny models of tests/fixtures.py
EXIT_INTERNAL = 70  # main.cpp: an error that was not an enclave::Error


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ENCLAVE_HOME", "ENCLAVE_RUN_ID")}
    env.update(extra)
    return env


def run(*args, env=None, cwd=None, timeout=300):
    return subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env if env is not None else clean_env(), timeout=timeout)


def fresh_dir(name):
    path = os.path.join(WORKDIR, name)
    if os.path.exists(path):
        for root, dirs, _ in os.walk(path):  # stored blobs and their folders may be read-only
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(path)
    return path


def load_model(path):
    """{name: float64 tensor} of a model folder, single file or sharded."""
    index = os.path.join(path, "model.safetensors.index.json")
    files = ["model.safetensors"]
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    out = {}
    for name in files:
        tensors, _ = safetensors_io.load(os.path.join(path, name))
        out.update({k: v.to(torch.float64) for k, v in tensors.items()})
    return out


def config_of(path):
    with open(os.path.join(path, "config.json")) as f:
        return json.load(f)


def max_diff(a, b):
    """Largest |a - b| over the tensors of two models (same names required)."""
    assert a.keys() == b.keys(), sorted(set(a) ^ set(b))[:5]
    return max(float((a[k] - b[k]).abs().max()) for k in a)


# mergekit's formulas, written from its documentation, independent of the C++.

def slerp(t, v0, v1, eps=1e-8, dot_threshold=0.9995):
    n0 = v0 / v0.norm() if v0.norm() > eps else v0
    n1 = v1 / v1.norm() if v1.norm() > eps else v1
    dot = float((n0 * n1).sum())
    if abs(dot) > dot_threshold:
        return (1 - t) * v0 + t * v1
    theta = math.acos(dot)
    return math.sin((1 - t) * theta) / math.sin(theta) * v0 + math.sin(t * theta) / math.sin(theta) * v1


def trim(delta, density):
    k = int(density * delta.numel())
    flat = delta.flatten()
    keep = torch.zeros_like(flat, dtype=torch.bool)
    if k > 0:
        # Largest magnitudes; among equal ones the lowest index (stable sort).
        order = torch.sort(flat.abs(), descending=True, stable=True).indices
        keep[order[:k]] = True
    return torch.where(keep, flat, torch.zeros_like(flat)).reshape(delta.shape)


def ties(base, models, weights, density):
    deltas = torch.stack([w * trim(m - base, density) for m, w in zip(models, weights)])
    sign = torch.where(deltas.sum(0) >= 0, 1.0, -1.0)
    agree = (torch.sign(deltas) == sign)
    w = torch.tensor(weights, dtype=torch.float64).reshape(-1, *[1] * base.dim())
    merged = (deltas * agree).sum(0)
    divisor = (w * agree).sum(0)
    divisor = torch.where(divisor == 0, torch.ones_like(divisor), divisor)
    return base + merged / divisor


class MergeCase(unittest.TestCase):
    """A workspace per class with two registered tiny models (alpha, beta) and
    a base folder, all three from the shared fixture folder (read only)."""

    @classmethod
    def setUpClass(cls):
        cls.ws = fresh_dir(cls.__name__ + "-ws")
        cls.env = clean_env(ENCLAVE_HOME=cls.ws)
        cls.dirs = {name: fixtures.tiny(FIXTURES, seed) for name, seed in (("alpha", 1), ("beta", 2), ("base", 3))}
        p = run("init", cls.ws)
        assert p.returncode == 0, p.stderr
        for name in ("alpha", "beta"):
            p = run("models", "register", name, cls.dirs[name], env=cls.env)
            assert p.returncode == 0, p.stderr
        cls.weights = {name: load_model(path) for name, path in cls.dirs.items()}

    def ok(self, *args):
        p = run(*args, env=self.env)
        self.assertEqual(p.returncode, 0, f"enclave {' '.join(map(str, args))}: {p.stderr}")
        return p

    def expect_error(self, args, *must_contain, code=None):
        p = run(*args, env=self.env)
        cmd = "enclave " + " ".join(map(str, args))
        self.assertGreater(p.returncode, 0, f"{cmd}: exit code {p.returncode}; stderr {p.stderr[-500:]!r}")
        self.assertNotEqual(p.returncode, EXIT_INTERNAL, f"{cmd}: internal error: {p.stderr!r}")
        if code is not None:
            self.assertEqual(p.returncode, code, f"{cmd}: stderr {p.stderr!r}")
        err = p.stderr.strip()
        self.assertNotIn("\n", err, f"{cmd}: stderr is not one line:\n{p.stderr}")
        self.assertTrue(err.startswith("enclave: error:"), err)
        for word in must_contain:
            self.assertIn(str(word), err, f"{cmd}: stderr does not mention {word!r}: {err}")
        self.assertEqual(p.stdout, "", f"{cmd}: printed to stdout on failure")
        return err

    def config(self, name, text):
        path = os.path.join(WORKDIR, name + ".yaml")
        for key, value in self.dirs.items():
            text = text.replace("$" + key, value)
        with open(path, "w") as f:
            f.write(text)
        return path

    def merge(self, name, text, *extra):
        """Merges into model `name` of the workspace; returns (summary, stored folder)."""
        out = json.loads(self.ok("merge", "--config", self.config(name, text), "--out", name, "--json", *extra).stdout)
        return out, self.path(name)

    def path(self, ref):
        return self.ok("models", "path", ref).stdout.strip()

    def report(self, what, diff, limit):
        print(f"{what}: max diff {diff:.3g}", file=sys.stderr)
        self.assertLessEqual(diff, limit, what)

    def check_runs(self, model_dir):
        p = self.ok("score", "--model", model_dir, "--text", "Merged models still read text.", "--json")
        scored = json.loads(p.stdout)
        self.assertTrue(all(math.isfinite(v) and v <= 0 for v in scored["logprobs"]), scored)
        p = self.ok("generate", "--model", model_dir, "--prompt", "Hello", "--max-tokens", "6", "--seed", "1",
                    "--ignore-eos")
        self.assertIn("tokens/s", p.stderr)


class LinearSlerpTest(MergeCase):
    def test_linear_merge_of_a_model_with_itself_is_the_identity(self):
        out, path = self.merge("self", "merge_method: linear\nmodels:\n"
                                       "  - {model: alpha, parameters: {weight: 0.25}}\n"
                                       "  - {model: $alpha, parameters: {weight: 0.75}}\n")
        self.assertEqual(out["version"]["name"], "self")
        self.report("linear(alpha, alpha)", max_diff(load_model(path), self.weights["alpha"]), 0.0)
        for name in ("tokenizer.json", "tokenizer_config.json", "config.json"):
            self.assertTrue(os.path.exists(os.path.join(path, name)), name)
        with open(os.path.join(path, "merge_config.yaml")) as f:
            self.assertIn("merge_method: linear", f.read())

    def test_linear_weights_match_torch(self):
        _, path = self.merge("lin", "merge_method: linear\nmodels:\n"
                                    "  - {model: alpha, parameters: {weight: [1, 3]}}\n"
                                    "  - {model: beta, parameters: {weight: 1}}\n")
        got, a, b = load_model(path), self.weights["alpha"], self.weights["beta"]
        n = config_of(path)["num_hidden_layers"]
        worst = 0.0
        for name, value in got.items():
            if name.startswith("model.layers."):
                t = int(name.split(".")[2]) / (n - 1)
            else:
                t = 0.0 if "embed_tokens" in name else 1.0
            wa = 1 + 2 * t  # the gradient [1, 3]
            want = (wa * a[name] + b[name]) / (wa + 1)
            worst = max(worst, float((value - want).abs().max()))
        self.report("linear with a weight gradient vs torch", worst, 1e-7)

    def test_slerp_endpoints_and_midpoint_match_torch(self):
        text = "merge_method: slerp\nbase_model: alpha\nmodels: [{model: alpha}, {model: beta}]\nparameters: {t: %s}\n"
        _, p0 = self.merge("slerp0", text % "0")
        self.report("slerp t=0 vs alpha", max_diff(load_model(p0), self.weights["alpha"]), 0.0)
        _, p1 = self.merge("slerp1", text % "1")
        self.report("slerp t=1 vs beta", max_diff(load_model(p1), self.weights["beta"]), 0.0)
        _, ph = self.merge("slerph", text % "[{filter: self_attn, value: 0.3}, {value: 0.6}]")
        got, a, b = load_model(ph), self.weights["alpha"], self.weights["beta"]
        want = {k: slerp(0.3 if "self_attn" in k else 0.6, a[k], b[k]) for k in a}
        self.report("slerp per group vs torch", max_diff(got, want), 1e-6)
        self.check_runs(ph)


class TiesDareTest(MergeCase):
    def test_ties_matches_torch_and_records_lineage(self):
        out, path = self.merge("tied", "merge_method: ties\nbase_model: $base\nmodels:\n"
                                       "  - {model: alpha, parameters: {weight: 1.0, density: 0.4}}\n"
                                       "  - {model: beta@1, parameters: {weight: 0.6, density: 0.4}}\n"
                                       "dtype: float32\n")
        got, base = load_model(path), self.weights["base"]
        want = {k: ties(base[k], [self.weights["alpha"][k], self.weights["beta"][k]], [1.0, 0.6], 0.4) for k in base}
        self.report("ties vs torch", max_diff(got, want), 1e-6)
        self.check_runs(path)

        up = json.loads(self.ok("lineage", "tied", "--up", "--json").stdout)
        run_node = up["upstream"][0]
        self.assertEqual(run_node["type"], "run")
        self.assertEqual(run_node["kind"], "merge")
        inputs = {(c.get("role"), c.get("ref", "artifact")) for c in run_node["children"]}
        self.assertIn(("model", "alpha@1"), inputs)
        self.assertIn(("model", "beta@1"), inputs)
        self.assertIn(("model", "artifact"), inputs)  # the base folder, stored
        self.assertIn(("merge_config", "artifact"), inputs)
        shown = json.loads(self.ok("runs", "show", str(out["run_id"]), "--json").stdout)
        self.assertEqual(shown["status"], "finished")
        self.assertEqual(shown["params"]["merge_config"]["merge_method"], "ties")
        self.assertIn("merge", shown["command"])
        down = self.ok("lineage", "alpha@1", "--down", "--json").stdout
        self.assertIn("tied@1", down)

    def test_dare_drops_or_rescales_and_one_seed_is_reproducible(self):
        text = ("merge_method: dare_linear\nbase_model: $base\nmodels:\n"
                "  - {model: alpha, parameters: {weight: 1.0, density: 0.5}}\n")
        _, p1 = self.merge("dare1", text, "--seed", "42")
        _, p2 = self.merge("dare2", text, "--seed", "42")
        _, p3 = self.merge("dare3", text, "--seed", "43")
        first, second, third = load_model(p1), load_model(p2), load_model(p3)
        self.report("dare seed 42 twice", max_diff(first, second), 0.0)
        self.assertGreater(max_diff(first, third), 0.0)
        # Every entry is the base (dropped) or base + delta / density (kept).
        base, a = self.weights["base"], self.weights["alpha"]
        kept = total = 0
        worst = 0.0
        for k, value in first.items():
            delta = a[k] - base[k]
            dropped = (value - base[k]).abs()
            rescaled = (value - (base[k] + delta / 0.5)).abs()
            worst = max(worst, float(torch.minimum(dropped, rescaled).max()))
            moved = delta != 0
            kept += int(((rescaled <= dropped) & moved).sum())
            total += int(moved.sum())
        self.report("dare entries are dropped or rescaled", worst, 1e-6)
        self.assertAlmostEqual(kept / total, 0.5, delta=0.01)


class UpscaleTest(MergeCase):
    def test_upscale_gives_2_n_minus_d_layers_equal_to_sources(self):
        p = self.ok("model", "upscale", "--model", "alpha", "--drop", "1", "--out", "alpha-dus")
        self.assertIn("from 4 to 6 layers", p.stdout)
        path = self.path("alpha-dus")
        self.assertEqual(config_of(path)["num_hidden_layers"], 6)
        got, src = load_model(path), self.weights["alpha"]
        want = {}
        for k, v in src.items():
            if not k.startswith("model.layers."):
                want[k] = v
                continue
            i, rest = int(k.split(".")[2]), ".".join(k.split(".")[3:])
            if i < 3:
                want[f"model.layers.{i}.{rest}"] = v  # first copy: layers 0..2
            if i >= 1:
                want[f"model.layers.{i + 2}.{rest}"] = v  # second copy: layers 1..3 as 3..5
        self.report("upscale 4 -> 6 vs source layers", max_diff(got, want), 0.0)
        self.check_runs(path)
        up = json.loads(self.ok("lineage", "alpha-dus", "--up", "--json").stdout)
        self.assertEqual(up["upstream"][0]["kind"], "upscale")
        self.assertIn("alpha@1", json.dumps(up))

    def test_out_dir_needs_no_workspace(self):
        out = fresh_dir("plain_up")
        p = run("model", "upscale", "--model", self.dirs["beta"], "--drop", "2", "--out-dir", out, "--json",
                "--dtype", "bfloat16", cwd="/")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(json.loads(p.stdout)["n_layer"], 4)
        self.assertEqual(config_of(out)["torch_dtype"], "bfloat16")
        out2 = fresh_dir("plain_merge")
        cfg = self.config("plain", "merge_method: linear\nmodels: [{model: $beta, parameters: {weight: 1}}]\n")
        p = run("merge", "--config", cfg, "--out-dir", out2, "--shard-gb", "0.005", cwd="/")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("linear merge of 1 model into", p.stdout)
        self.assertTrue(os.path.exists(os.path.join(out2, "model.safetensors.index.json")))  # 5 MB shards
        self.report("linear(beta), sharded, vs beta", max_diff(load_model(out2), self.weights["beta"]), 0.0)
        self.check_runs(out2)


class BadConfigTest(MergeCase):
    def test_bad_configs_name_the_field(self):
        def bad(name, text, *words, code=1):
            return self.expect_error(["merge", "--config", self.config(name, text), "--out", "bad"], *words,
                                     code=code)

        bad("unknown", "merge_method: average\nmodels: [{model: alpha}]\n", "field 'merge_method'", "average")
        bad("range", "merge_method: passthrough\nslices: [{sources: [{model: alpha, layer_range: [2, 7]}]}]\n",
            "field 'slices[0].sources[0].layer_range'", "past the 4 layers")
        bad("range2", "merge_method: passthrough\nslices: [{sources: [{model: alpha, layer_range: [3, 1]}]}]\n",
            "field 'slices[0].sources[0].layer_range'")
        bad("density", "merge_method: ties\nbase_model: alpha\nmodels: [{model: beta, parameters: {weight: 1, "
                       "density: 2}}]\n", "field 'models[0].parameters.density'")
        bad("nobase", "merge_method: ties\nmodels: [{model: beta, parameters: {weight: 1}}]\n", "field 'base_model'")
        bad("missing", "merge_method: linear\nmodels: [{model: gamma, parameters: {weight: 1}}]\n",
            "field 'models[0].model'", "gamma", code=2)
        bad("dup", "merge_method: linear\nmerge_method: slerp\nmodels: [{model: alpha}]\n", "duplicate key")

        # Different shapes: alpha with a narrower MLP written by another preset's config.
        narrow = fresh_dir("narrow")
        shutil.copytree(self.dirs["alpha"], narrow)
        cfg = config_of(narrow)
        cfg["hidden_size"] = 128
        cfg["head_dim"] = 16
        with open(os.path.join(narrow, "config.json"), "w") as f:
            json.dump(cfg, f)
        bad("shapes", f"merge_method: linear\nmodels: [{{model: alpha, parameters: {{weight: 1}}}}, "
                      f"{{model: {narrow}, parameters: {{weight: 1}}}}]\n", "hidden_size", "not compatible")
        # Different tokenizers need tokenizer_source.
        other = fresh_dir("other_tok")
        shutil.copytree(self.dirs["beta"], other)
        tok_path = os.path.join(other, "tokenizer.json")
        with open(tok_path) as f:
            tok = f.read()
        with open(tok_path, "w") as f:
            f.write(tok.replace("<|end_of_text|>", "<|eot_id|>", 1))
        models = f"models: [{{model: alpha, parameters: {{weight: 1}}}}, {{model: {other}, parameters: {{weight: 1}}}}]\n"
        bad("tok", "merge_method: linear\n" + models, "tokenizer_source", "differ")
        bad("tok2", "merge_method: linear\ntokenizer_source: nothing-here\n" + models, "field 'tokenizer_source'",
            code=2)
        _, path = self.merge("tok_ok", "merge_method: linear\ntokenizer_source: alpha\n" + models)
        with open(os.path.join(path, "tokenizer.json")) as f, open(os.path.join(self.dirs["alpha"], "tokenizer.json")) as g:
            self.assertEqual(f.read(), g.read())

        # Flags and names.
        self.expect_error(["merge", "--config", os.path.join(WORKDIR, "nope.yaml"), "--out", "x"], "nope.yaml", code=2)
        self.expect_error(["merge", "--config", self.config("ok", "merge_method: linear\nmodels: [{model: alpha, "
                                                                   "parameters: {weight: 1}}]\n")], "--out")
        self.expect_error(["merge", "--config", os.path.join(WORKDIR, "ok.yaml"), "--out", "../escape"], "escape")
        self.expect_error(["model", "upscale", "--model", "alpha", "--drop", "4", "--out", "x"], "drop", "4 layers")
        self.expect_error(["model", "upscale", "--model", "alpha", "--drop", "1", "--out", "x", "--dtype", "int4"],
                          "--dtype")
        self.expect_error(["model", "upscale", "--model", "gamma", "--drop", "1", "--out", "x"], "gamma", code=2)
        # Nothing was registered by the failures.
        listed = self.ok("models", "list", "--json").stdout
        for name in ('"bad"', '"x"', '"escape"'):
            self.assertNotIn(name, listed)

    def test_help_lists_merge_and_upscale(self):
        self.assertIn("merge", self.ok("--help").stdout)
        self.assertIn("upscale", self.ok("model", "--help").stdout)


def main():
    global ENCLAVE, WORKDIR, FIXTURES
    a, rest = harness.parse(__doc__, "merge_cli_test", fixtures=True)
    ENCLAVE, WORKDIR = a.enclave, a.workdir
    FIXTURES = fixtures.find_or_make(ENCLAVE, a.fixtures, WORKDIR)
    return harness.run(rest)

if __name__ == "__main__":
    sys.exit(main())
