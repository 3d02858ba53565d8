"""Black-box tests of the `enclave` binary: success paths of model init,
inspect, tokenize, score and generate, and the rule that bad input ends with
a non-zero exit code and ONE stderr line naming the file (or flag) and the
cause, never a crash, a stack trace or an internal error.

    /usr/bin/python3 tests/cli_test.py --enclave build/src/cli/enclave --workdir /tmp/cli [-k pattern]
"""

import argparse
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference"))
import make_model  # noqa: E402
import safetensors_io  # noqa: E402
import harness

ENCLAVE = None
WORKDIR = None
EXIT_INTERNAL = 70  # main.cpp: an error that was not an enclave::Error


def run(*args, timeout=300, env_extra=None):
    env = dict(os.environ, **env_extra) if env_extra else None
    return subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env)


def fresh_dir(name):
    path = os.path.join(WORKDIR, name)
    if os.path.exists(path):
        shutil.rmtree(path)
    return path


def bytes_to_unicode():
    """GPT-2's byte <-> printable character table used by byte-level BPE vocabularies."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def decode_pieces(pieces):
    """The texts that `pieces` spell under the byte-level and the SentencePiece
    conventions (special tokens such as <s> or <|begin_of_text|> dropped)."""
    body = [p for p in pieces if not (p.startswith("<") and p.endswith(">") and not p.startswith("<0x"))]
    texts = []
    inverse = {c: b for b, c in bytes_to_unicode().items()}
    if all(ch in inverse for p in body for ch in p):
        texts.append(bytes(inverse[ch] for p in body for ch in p).decode("utf-8", errors="replace"))
    sp = bytearray()
    for p in body:
        if len(p) == 6 and p.startswith("<0x") and p.endswith(">"):
            sp.append(int(p[3:5], 16))
        else:
            sp += p.replace("▁", " ").encode("utf-8")
    text = sp.decode("utf-8", errors="replace")
    texts += [text, text[1:] if text.startswith(" ") else text]
    return texts


class CliTestCase(unittest.TestCase):
    # One model made by `enclave model init`, shared by the success tests, and
    # one made by make_model.py (no tokenizer) that error tests copy and break.
    tiny = None
    plain = None

    @classmethod
    def setUpClass(cls):
        if CliTestCase.tiny is None:
            CliTestCase.tiny = fresh_dir("tiny")
            p = run("model", "init", "--preset", "tiny", "--out", CliTestCase.tiny, "--seed", "1")
            if p.returncode != 0:
                raise RuntimeError(f"enclave model init failed ({p.returncode}): {p.stderr}")
            CliTestCase.plain = fresh_dir("plain")
            make_model.make_model(CliTestCase.plain, seed=11, vocab=200)

    def expect_error(self, args, *must_contain):
        p = run(*args)
        cmd = "enclave " + " ".join(map(str, args))
        self.assertNotEqual(p.returncode, 0, f"{cmd}: exit code 0, expected an error; stdout {p.stdout[:200]!r}")
        self.assertGreater(p.returncode, 0, f"{cmd}: killed by signal {-p.returncode}; stderr {p.stderr[-500:]!r}")
        self.assertNotEqual(p.returncode, EXIT_INTERNAL, f"{cmd}: internal error instead of a typed one: {p.stderr!r}")
        err = p.stderr.strip()
        self.assertTrue(err, f"{cmd}: nothing on stderr")
        self.assertNotIn("\n", err, f"{cmd}: stderr is not one line:\n{p.stderr}")
        for word in must_contain:
            self.assertIn(str(word).lower(), err.lower(), f"{cmd}: stderr does not mention {word!r}: {err}")
        self.assertEqual(p.stdout, "", f"{cmd}: printed to stdout on failure")
        return err

    def broken_copy(self, name):
        path = fresh_dir(name)
        shutil.copytree(self.plain, path)
        return path

    def expect_ok(self, *args):
        p = run(*args)
        self.assertEqual(p.returncode, 0, f"enclave {' '.join(map(str, args))}: exit {p.returncode}: {p.stderr}")
        return p

    def vocab_size(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            return json.load(f)["vocab_size"]


class ErrorTest(CliTestCase):
    def test_missing_model_dir(self):
        missing = os.path.join(WORKDIR, "no-such-model")
        self.expect_error(["score", "--model", missing, "--tokens", "1,2"], "no-such-model")

    def test_config_not_json(self):
        d = self.broken_copy("config-not-json")
        with open(os.path.join(d, "config.json"), "w") as f:
            f.write('{"hidden_size": 64,, oops')
        self.expect_error(["score", "--model", d, "--tokens", "1,2"], "config.json")

    def test_config_missing_hidden_size(self):
        d = self.broken_copy("config-no-hidden")
        path = os.path.join(d, "config.json")
        with open(path) as f:
            config = json.load(f)
        del config["hidden_size"]
        with open(path, "w") as f:
            json.dump(config, f)
        self.expect_error(["score", "--model", d, "--tokens", "1,2"], "config.json", "hidden_size")

    def test_unknown_architecture(self):
        d = self.broken_copy("config-gpt2")
        path = os.path.join(d, "config.json")
        with open(path) as f:
            config = json.load(f)
        config["architectures"] = ["GPT2LMHeadModel"]
        config["model_type"] = "gpt2"
        with open(path, "w") as f:
            json.dump(config, f)
        self.expect_error(["score", "--model", d, "--tokens", "1,2"], "config.json", "GPT2LMHeadModel")

    def test_truncated_safetensors(self):
        src = os.path.join(self.plain, "model.safetensors")
        size = os.path.getsize(src)
        with open(src, "rb") as f:
            (header_len,) = struct.unpack("<Q", f.read(8))
        for label, keep in [("data", size - 1000), ("header", 8 + header_len // 2), ("length", 5)]:
            with self.subTest(truncated_in=label):
                d = self.broken_copy(f"truncated-{label}")
                os.truncate(os.path.join(d, "model.safetensors"), keep)
                self.expect_error(["score", "--model", d, "--tokens", "1,2"], "model.safetensors")

    def test_tensor_with_wrong_shape(self):
        d = self.broken_copy("wrong-shape")
        path = os.path.join(d, "model.safetensors")
        tensors, meta = safetensors_io.load(path)
        name = "model.layers.1.mlp.up_proj.weight"
        tensors[name] = tensors[name].t().contiguous()
        safetensors_io.save(path, tensors, meta)
        self.expect_error(["score", "--model", d, "--tokens", "1,2"], name, "shape")

    def test_missing_tensor(self):
        d = self.broken_copy("missing-tensor")
        path = os.path.join(d, "model.safetensors")
        tensors, meta = safetensors_io.load(path)
        del tensors["model.layers.0.self_attn.k_proj.weight"]
        safetensors_io.save(path, tensors, meta)
        self.expect_error(["score", "--model", d, "--tokens", "1,2"], "model.layers.0.self_attn.k_proj.weight")

    def test_index_names_missing_shard(self):
        d = fresh_dir("missing-shard")
        make_model.make_model(d, seed=12, shards=2)
        os.remove(os.path.join(d, "model-00002-of-00002.safetensors"))
        self.expect_error(["score", "--model", d, "--tokens", "1,2"], "model-00002-of-00002.safetensors")

    def test_token_id_out_of_vocab(self):
        vocab = self.vocab_size(self.plain)
        self.expect_error(["score", "--model", self.plain, "--tokens", f"1,2,{vocab + 50}"], str(vocab + 50))

    def test_token_list_not_numbers(self):
        self.expect_error(["score", "--model", self.plain, "--tokens", "abc"], "--tokens", "abc")

    def test_unknown_flag(self):
        self.expect_error(["score", "--model", self.plain, "--tokens", "1,2", "--no-such-flag"], "--no-such-flag")

    def test_init_refuses_non_empty_dir(self):
        self.expect_error(["model", "init", "--preset", "tiny", "--out", self.plain, "--seed", "1"], "plain")


class ModelTest(CliTestCase):
    def test_init_same_seed_gives_identical_bytes(self):
        a, b, c = fresh_dir("init-a"), fresh_dir("init-b"), fresh_dir("init-c")
        self.expect_ok("model", "init", "--preset", "tiny", "--out", a, "--seed", "7")
        self.expect_ok("model", "init", "--preset", "tiny", "--out", b, "--seed", "7")
        self.expect_ok("model", "init", "--preset", "tiny", "--out", c, "--seed", "8")
        for name in ("config.json", "model.safetensors"):
            with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
                self.assertEqual(fa.read(), fb.read(), f"{name} differs for the same seed")
        with open(os.path.join(a, "model.safetensors"), "rb") as fa, open(os.path.join(c, "model.safetensors"), "rb") as fc:
            self.assertNotEqual(fa.read(), fc.read(), "seeds 7 and 8 gave the same weights")
        tensors, meta = safetensors_io.load(os.path.join(a, "model.safetensors"))
        self.assertEqual(meta.get("format"), "pt")

    def test_init_from_config_in_bf16_with_a_published_tokenizer_shape(self):
        d = fresh_dir("init-config")
        os.makedirs(d)
        config = os.path.join(d, "config.json")
        with open(config, "w") as f:
            json.dump({"architectures": ["MistralForCausalLM"], "model_type": "mistral",
                       "vocab_size": 1024, "hidden_size": 64, "intermediate_size": 128,
                       "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
                       "sliding_window": 64, "max_position_embeddings": 256}, f)
        out = os.path.join(d, "m")
        self.expect_ok("model", "init", "--config", config, "--dtype", "bf16", "--tokenizer", self.tiny,
                       "--out", out, "--seed", "3")
        summary = json.loads(self.expect_ok("model", "inspect", out, "--json").stdout)
        self.assertEqual(summary["architecture"], "MistralForCausalLM")
        self.assertEqual(list(summary["dtypes"]), ["BF16"])
        with open(os.path.join(out, "config.json")) as f:
            self.assertEqual(json.load(f)["torch_dtype"], "bfloat16")
        # --dtype and --tokenizer belong to --config; one of --preset and --config is needed.
        for args in (["--preset", "tiny", "--dtype", "bf16"], [], ["--preset", "tiny", "--config", config]):
            r = run("model", "init", *args, "--out", os.path.join(d, "x"))
            self.assertNotEqual(r.returncode, 0, args)

    def test_inspect_says_what_dtype_auto_means_here(self):
        with open("/proc/cpuinfo") as f:
            flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
        native = "amx_bf16" in flags or "avx512_bf16" in flags
        summary = json.loads(self.expect_ok("model", "inspect", self.tiny, "--json").stdout)
        self.assertEqual(summary["compute_dtype_auto"]["dtype"], "bf16" if native else "f32")
        self.assertIn("compute dtype", self.expect_ok("model", "inspect", self.tiny).stdout)
        # ENCLAVE_DTYPE pins the default; a bad value is a one-line error.
        r = run("score", "--model", self.tiny, "--text", "hi", env_extra={"ENCLAVE_DTYPE": "fp8"})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ENCLAVE_DTYPE", r.stderr)

    def test_inspect_text(self):
        p = self.expect_ok("model", "inspect", self.tiny)
        self.assertIn("LlamaForCausalLM", p.stdout)

    def test_inspect_json_counts_parameters(self):
        for d in (self.tiny, self.plain):
            with self.subTest(model=os.path.basename(d)):
                p = self.expect_ok("model", "inspect", d, "--json")
                summary = json.loads(p.stdout)
                tensors, _ = safetensors_io.load(os.path.join(d, "model.safetensors"))
                self.assertEqual(summary.get("n_parameters"), sum(t.numel() for t in tensors.values()))

    def test_inspect_json_sharded_bf16(self):
        d = fresh_dir("inspect-sharded")
        make_model.make_model(d, seed=13, shards=3, dtype="BF16", arch="qwen2", tie=True)
        summary = json.loads(self.expect_ok("model", "inspect", d, "--json").stdout)
        total = 0
        for i in range(3):
            tensors, _ = safetensors_io.load(os.path.join(d, f"model-0000{i + 1}-of-00003.safetensors"))
            total += sum(t.numel() for t in tensors.values())
        self.assertEqual(summary.get("n_parameters"), total)


class TextTest(CliTestCase):
    def test_tokenize_json_round_trips(self):
        text = "Hello 한국어 👍"
        p = self.expect_ok("tokenize", "--model", self.tiny, "--text", text, "--json")
        out = json.loads(p.stdout)
        tokens = out["tokens"]
        self.assertTrue(tokens and all(isinstance(t, int) for t in tokens))
        self.assertTrue(all(0 <= t < self.vocab_size(self.tiny) for t in tokens))
        if "pieces" in out:
            self.assertEqual(len(out["pieces"]), len(tokens))
            self.assertIn(text, decode_pieces(out["pieces"]), f"pieces {out['pieces']} do not spell {text!r}")

    def test_score_text_json(self):
        p = self.expect_ok("score", "--model", self.tiny, "--text", "hello world", "--json")
        self.assertEqual(p.stdout.count("\n"), 1, "stdout must be one JSON line")
        out = json.loads(p.stdout)
        self.assertGreaterEqual(len(out["tokens"]), 2)
        self.assertEqual(len(out["logprobs"]), len(out["tokens"]) - 1)
        self.assertTrue(all(math.isfinite(v) and v <= 0 for v in out["logprobs"]), out["logprobs"])

    def test_generate_is_deterministic_for_a_seed(self):
        args = ["generate", "--model", self.tiny, "--prompt", "Hi", "--max-tokens", "8", "--seed", "3",
                "--temperature", "0.8"]
        first = self.expect_ok(*args)
        second = self.expect_ok(*args)
        self.assertEqual(first.stdout, second.stdout)
        self.assertIn("tokens/s", first.stderr)
        self.assertNotIn("tokens/s", first.stdout)

    def test_generate_chat(self):
        p = self.expect_ok("generate", "--model", self.tiny, "--prompt", "Hi", "--chat", "--max-tokens", "8",
                           "--seed", "1")
        self.assertIn("tokens/s", p.stderr)
        self.assertNotIn("tokens/s", p.stdout)


def write_lora_adapter(path, model_dir, seed, r=2):
    """A PEFT LoRA adapter (q_proj, v_proj) for the model in model_dir, random non-zero A and B."""
    import torch
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    hidden = config["hidden_size"]
    head_dim = hidden // config["num_attention_heads"]
    outs = {"q_proj": config["num_attention_heads"] * head_dim,
            "v_proj": config.get("num_key_value_heads", config["num_attention_heads"]) * head_dim}
    g = torch.Generator().manual_seed(seed)
    tensors = {}
    for layer in range(config["num_hidden_layers"]):
        for module, out in outs.items():
            name = f"base_model.model.model.layers.{layer}.self_attn.{module}"
            tensors[name + ".lora_A.weight"] = torch.randn(r, hidden, generator=g) * 0.2
            tensors[name + ".lora_B.weight"] = torch.randn(out, r, generator=g) * 0.2
    os.makedirs(path, exist_ok=True)
    safetensors_io.save(os.path.join(path, "adapter_model.safetensors"), tensors)
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "r": r, "lora_alpha": 2 * r, "target_modules": ["q_proj", "v_proj"]}, f)
    return path


# The bug: `train sft --lora --out tiny-chat` registered an adapter, and the
# next `--model tiny-chat` failed with ".enclave/checkouts/<hash>: missing
# config.json". A reference naming an adapter is its base plus the adapter.
class AdapterReferenceTest(CliTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ws = fresh_dir("adapter_ws")
        assert run("init", cls.ws).returncode == 0
        cls.sft = write_lora_adapter(fresh_dir("adapter_sft"), cls.tiny, seed=1)
        cls.dpo = write_lora_adapter(fresh_dir("adapter_dpo"), cls.tiny, seed=2)
        for args in (("models", "register", "tiny", cls.tiny),
                     ("models", "register", "tiny-chat", cls.sft),
                     ("models", "tag", "tiny-chat@1", "type=adapter", "base=tiny@1"),
                     ("models", "register", "tiny-dpo", cls.dpo),
                     ("models", "tag", "tiny-dpo@1", "type=adapter", "base=tiny-chat@1")):
            p = run("--workspace", cls.ws, *args)
            assert p.returncode == 0, p.stderr

    def in_ws(self, *args):
        return self.expect_ok("--workspace", self.ws, *args)

    def logprobs(self, *args):
        out = json.loads(self.in_ws("score", "--text", "hello adapter world", "--json", *args).stdout)
        return out["logprobs"]

    def assert_close(self, a, b, tol=2e-4):
        self.assertEqual(len(a), len(b))
        diff = max(abs(x - y) for x, y in zip(a, b))
        self.assertLess(diff, tol, f"max diff {diff}")

    def test_adapter_reference_is_base_plus_adapter(self):
        base = self.logprobs("--model", self.tiny)
        by_ref = self.logprobs("--model", "tiny-chat")
        by_dir = self.logprobs("--model", self.tiny, "--adapter", self.sft)
        self.assertEqual(by_ref, by_dir)
        self.assertGreater(max(abs(x - y) for x, y in zip(base, by_ref)), 1e-3, "the adapter changed nothing")
        args = ["--prompt", "Hi", "--max-tokens", "6", "--temperature", "0"]
        self.assertEqual(self.in_ws("generate", "--model", "tiny-chat", *args).stdout,
                         self.in_ws("generate", "--model", self.tiny, "--adapter", self.sft, *args).stdout)

    def test_stacked_adapters_fold_and_merge(self):
        # tiny-dpo was trained on tiny-chat: tiny + sft merged, dpo on top.
        stacked = self.logprobs("--model", "tiny-dpo")
        self.assert_close(stacked, self.logprobs("--model", "tiny-chat", "--adapter", "tiny-dpo"))
        merged = fresh_dir("adapter_merged")
        p = self.in_ws("model", "merge-lora", "--base", "tiny-chat", "--adapter", "tiny-dpo", "--out", merged,
                       "--dtype", "f32")
        self.assertIn("tiny@1 + adapter tiny-chat@1 + adapter tiny-dpo@1", p.stdout)
        self.assert_close(stacked, self.logprobs("--model", merged))
        self.assertNotEqual(stacked, self.logprobs("--model", "tiny-chat"))

    def test_adapter_without_base_says_how_to_fix_it(self):
        p = run("--workspace", self.ws, "models", "register", "orphan", self.sft)
        self.assertEqual(p.returncode, 0, p.stderr)
        err = self.expect_error(["--workspace", self.ws, "score", "--model", "orphan", "--tokens", "1,2"],
                                "orphan@1", "models tag orphan@1 base=")
        self.assertNotIn("config.json", err)
        self.expect_error(["--workspace", self.ws, "score", "--model", self.tiny, "--adapter", "tiny",
                           "--tokens", "1,2"], "not a lora adapter")

    def test_errors_name_references_not_checkout_hashes(self):
        broken = fresh_dir("adapter_broken")
        shutil.copytree(self.plain, broken)
        with open(os.path.join(broken, "config.json"), "w") as f:
            f.write("{ not json")
        p = run("--workspace", self.ws, "models", "register", "broken", broken)
        self.assertEqual(p.returncode, 0, p.stderr)
        err = self.expect_error(["--workspace", self.ws, "score", "--model", "broken", "--tokens", "1,2"],
                                "model broken@1/config.json")
        self.assertNotIn("checkouts", err)

def torch_executable():
    return os.path.join(os.path.dirname(ENCLAVE), "enclave-torch")


def loaded_libraries(*args, env=None):
    """Runs enclave with the dynamic loader reporting every library it
    initialises (LD_DEBUG=libs, inherited across exec); returns the process
    and the paths."""
    p = subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, timeout=120,
                       env={**os.environ, **(env or {}), "LD_DEBUG": "libs"})
    libs = [line.split("calling init:", 1)[1].strip() for line in p.stderr.splitlines() if "calling init:" in line]
    return p, libs


def torch_libraries(libs):
    return [lib for lib in libs if os.path.basename(lib).startswith(("libtorch", "libc10"))]


class StartupTest(unittest.TestCase):
    """`enclave` links only torch-free libraries; tensor commands run in
    enclave-torch, which it execs (src/cli/command_table.h)."""

    def test_version_and_models_list_do_not_load_libtorch(self):
        p, libs = loaded_libraries("--version")
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        self.assertTrue(libs, "LD_DEBUG=libs reported no libraries: the check would see nothing")
        self.assertEqual(torch_libraries(libs), [], "enclave --version loaded libtorch")
        ws = fresh_dir("startup-ws")
        self.assertEqual(run("init", ws).returncode, 0)
        p, libs = loaded_libraries("--workspace", ws, "models", "list")
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        self.assertEqual(torch_libraries(libs), [], "enclave models list loaded libtorch")

    def test_tensor_command_runs_in_enclave_torch(self):
        # The same check sees libtorch where it must be, so it can fail.
        p, libs = loaded_libraries("train", "--help")
        self.assertEqual(p.returncode, 0, p.stderr[-500:])
        self.assertTrue(torch_libraries(libs), "enclave train --help did not reach enclave-torch")
        self.assertIn("sft", run("train", "--help").stdout)
        self.assertIn("--prompt", run("generate", "--help").stdout)

    def test_help_lists_every_command_in_both_executables(self):
        def commands(exe):
            p = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)
            section = p.stdout.split("Subcommands:", 1)[1]
            return [line.split()[0] for line in section.splitlines() if line.startswith("  ") and line.split()]

        light = commands(ENCLAVE)
        self.assertEqual(light, commands(torch_executable()))
        for name in ("train", "generate", "models", "runs", "data", "serve", "api-keys", "feedback"):
            self.assertIn(name, light)

    def test_missing_enclave_torch_is_named(self):
        alone = fresh_dir("enclave-alone")
        os.makedirs(alone)
        exe = os.path.join(alone, "enclave")
        shutil.copy2(ENCLAVE, exe)
        self.assertEqual(subprocess.run([exe, "--version"], capture_output=True).returncode, 0)
        p = subprocess.run([exe, "train", "sft", "--help"], capture_output=True, text=True, timeout=60)
        self.assertEqual(p.returncode, 2, p.stderr)  # not found
        err = p.stderr.strip()
        self.assertNotIn("\n", err)
        self.assertIn(os.path.join(alone, "enclave-torch"), err)
        self.assertIn("'train'", err)


class TypoTest(unittest.TestCase):
    """Unknown commands and flags name the nearest valid one (exit 64), in
    `enclave` and in the enclave-torch it hands tensor commands to."""

    def expect_usage_error(self, args, message):
        p = run(*args)
        cmd = "enclave " + " ".join(map(str, args))
        self.assertEqual(p.returncode, 64, f"{cmd}: {p.stderr}")
        self.assertEqual(p.stdout, "", cmd)
        err = p.stderr.strip()
        self.assertNotIn("\n", err, cmd)
        self.assertIn(message, err, cmd)
        return err

    def test_unknown_command_names_the_nearest(self):
        self.expect_usage_error(["trian", "sft"], "enclave: error: unknown command 'trian'; did you mean 'train'?")
        self.expect_usage_error(["modles", "list"], "unknown command 'modles'; did you mean 'models'?")
        self.expect_usage_error(["models", "lsit"], "unknown command 'models lsit'; did you mean 'models list'?")
        self.expect_usage_error(["train", "stf"], "unknown command 'train stf'; did you mean 'train sft'?")

    def test_unknown_flag_names_the_nearest(self):
        self.expect_usage_error(["generate", "--model", "m", "--promt", "hi"],
                                "unknown flag '--promt' for 'generate'; did you mean '--prompt'?")
        self.expect_usage_error(["--workspce", "w", "runs", "list"],
                                "unknown flag '--workspce'; did you mean '--workspace'?")
        self.expect_usage_error(["runs", "list", "--limt", "3"],
                                "unknown flag '--limt' for 'runs list'; did you mean '--limit'?")

    def test_nothing_close_gets_no_guess(self):
        err = self.expect_usage_error(["xyzzy"], "unknown command 'xyzzy'")
        self.assertNotIn("did you mean", err)


def main():
    global ENCLAVE, WORKDIR
    a, rest = harness.parse(__doc__, "cli_test")
    ENCLAVE, WORKDIR = a.enclave, a.workdir
    return harness.run(rest)

if __name__ == "__main__":
    sys.exit(main())
