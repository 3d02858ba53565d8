"""`enclave model export --format gguf`: the file it writes, read back with
an independent GGUF reader (tests/reference/gguf_io.py), for every family
(Llama, Mistral, Qwen2, Qwen3, Gemma 2, Gemma 3, EXAONE 3.5, Phi-3): the
architecture name and hyper-parameters llama.cpp reads, llama.cpp's tensor
names (mapped here from the Hugging Face names as llama.cpp's converter maps
them) and layouts (Llama's q/k rows permuted for interleaved rotary, Gemma
norms stored as 1 + w, Phi-3's fused projections, llama3 rope_freqs and
longrope factor tensors), the values exactly in f32 and within a
quantisation step in f16/bf16/q8_0/q4_0, and the tokenizer (tokens in id
order, merges, special ids, chat template). When llama.cpp's llama-bench is
available (LLAMA_BENCH, or ../shared/tools/llama.cpp/llama-bench) and the
CPU has AVX-512, each exported file is also loaded and run by it. What
llama.cpp cannot express is refused with a reason.

    /usr/bin/python3 tests/gguf_export_test.py --enclave build/src/cli/enclave --workdir /tmp/gguf
"""

import json
import math
import os
import shutil
import subprocess
import sys
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "reference"))
sys.path.insert(0, HERE)
import fixtures  # noqa: E402
import gguf_io  # noqa: E402
import harness  # noqa: E402
import safetensors_io  # noqa: E402

ENCLAVE = None
WORKDIR = None

BASE = {"vocab_size": 512, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 4,
        "num_key_value_heads": 2, "max_position_embeddings": 256, "initializer_range": 0.1}
LLAMA3_ROPE = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
               "original_max_position_embeddings": 64}
FAMILIES = {
    "llama": dict(architectures=["LlamaForCausalLM"], num_hidden_layers=2, rope_scaling=LLAMA3_ROPE,
                  rope_theta=500000.0),
    "mistral": dict(architectures=["MistralForCausalLM"], num_hidden_layers=2, sliding_window=16),
    "qwen2": dict(architectures=["Qwen2ForCausalLM"], num_hidden_layers=2, tie_word_embeddings=True),
    "qwen3": dict(architectures=["Qwen3ForCausalLM"], num_hidden_layers=2, head_dim=32),
    "gemma2": dict(architectures=["Gemma2ForCausalLM"], num_hidden_layers=2, head_dim=16,
                   query_pre_attn_scalar=16, sliding_window=8),
    "gemma3": dict(architectures=["Gemma3ForCausalLM"], num_hidden_layers=6, head_dim=16,
                   query_pre_attn_scalar=16, sliding_window=8, rope_scaling={"rope_type": "linear", "factor": 2.0}),
    "exaone": dict(architectures=["ExaoneForCausalLM"], num_layers=2, layer_norm_epsilon=1e-5,
                   tie_word_embeddings=False, rope_scaling=LLAMA3_ROPE),
    "phi3": dict(architectures=["Phi3ForCausalLM"], num_hidden_layers=2, original_max_position_embeddings=64,
                 partial_rotary_factor=0.5,
                 rope_scaling={"type": "longrope", "short_factor": [1.0, 1.1, 1.2, 1.3],
                               "long_factor": [2.0, 2.5, 3.0, 4.0]}),
}
ARCH = {"llama": "llama", "mistral": "llama", "qwen2": "qwen2", "qwen3": "qwen3", "gemma2": "gemma2",
        "gemma3": "gemma3", "exaone": "exaone", "phi3": "phi3"}

# llama.cpp's tensor names (gguf-py's tensor_mapping), per Hugging Face module.
LAYER_NAMES = {
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "self_attn.qkv_proj": "attn_qkv",
    "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
    "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down", "mlp.gate_up_proj": "ffn_up",
    "pre_feedforward_layernorm": "ffn_norm", "post_feedforward_layernorm": "post_ffw_norm",
    # EXAONE
    "ln_1": "attn_norm", "ln_2": "ffn_norm", "attn.attention.q_proj": "attn_q", "attn.attention.k_proj": "attn_k",
    "attn.attention.v_proj": "attn_v", "attn.attention.out_proj": "attn_output", "mlp.c_fc_0": "ffn_gate",
    "mlp.c_fc_1": "ffn_up", "mlp.c_proj": "ffn_down",
}


def gguf_name(family, hf):
    top = {"model.embed_tokens.weight": "token_embd.weight", "transformer.wte.weight": "token_embd.weight",
           "model.norm.weight": "output_norm.weight", "transformer.ln_f.weight": "output_norm.weight",
           "lm_head.weight": "output.weight"}
    if hf in top:
        return top[hf]
    prefix = "transformer.h." if family == "exaone" else "model.layers."
    rest = hf[len(prefix):]
    layer, module = rest.split(".", 1)
    module, kind = module.rsplit(".", 1)
    if module == "post_attention_layernorm":
        # After attention in Gemma (a sandwich norm); before the MLP elsewhere.
        name = "post_attention_norm" if family.startswith("gemma") else "ffn_norm"
    else:
        name = LAYER_NAMES[module]
    return f"blk.{layer}.{name}.{kind}"


def llama_permute(w, n_head):
    """convert_hf_to_gguf.py's LlamaModel.permute."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def expected_value(family, config, hf_name, w):
    gguf = gguf_name(family, hf_name)
    if ARCH[family] == "llama" and (".attn_q." in gguf or ".attn_k." in gguf):
        heads = config["num_attention_heads"] if ".attn_q." in gguf else config["num_key_value_heads"]
        return llama_permute(w, heads)
    if family.startswith("gemma") and hf_name.endswith("norm.weight"):
        return w + 1
    return w


def llama3_factors(config):
    rs = config["rope_scaling"]
    head_dim = config["hidden_size"] // config["num_attention_heads"]
    freqs = 1.0 / (config.get("rope_theta", 10000.0) ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    low, high = rs["original_max_position_embeddings"] / rs["low_freq_factor"], \
        rs["original_max_position_embeddings"] / rs["high_freq_factor"]
    out = []
    for f in freqs.tolist():
        wavelen = 2 * math.pi / f
        if wavelen < high:
            out.append(1.0)
        elif wavelen > low:
            out.append(rs["factor"])
        else:
            smooth = (rs["original_max_position_embeddings"] / wavelen - rs["low_freq_factor"]) / \
                (rs["high_freq_factor"] - rs["low_freq_factor"])
            out.append(1 / ((1 - smooth) / rs["factor"] + smooth))
    return torch.tensor(out)


def run(args, ok=True):
    p = subprocess.run([ENCLAVE, *args], capture_output=True, text=True, timeout=300)
    if ok and p.returncode != 0:
        raise AssertionError(f"enclave {' '.join(args)} exited {p.returncode}: {p.stderr.strip()}")
    return p


def llama_bench():
    path = os.environ.get("LLAMA_BENCH") or os.path.join(HERE, "..", "..", "shared", "tools", "llama.cpp",
                                                         "llama-bench")
    if not os.access(path, os.X_OK):
        return None
    with open("/proc/cpuinfo") as f:
        if "avx512f" not in f.read():
            return None  # the reference binaries are built for AVX-512
    return path


def init_model(root, name, config, seed="3"):
    """`enclave model init` of config (written as root/name.json) into root/name (made anew); the folder."""
    path = os.path.join(root, f"{name}.json")
    with open(path, "w") as f:
        json.dump(config, f)
    model = os.path.join(root, name)
    shutil.rmtree(model, ignore_errors=True)
    run(["model", "init", "--config", path, "--out", model, "--seed", seed])
    return model


def make_models(root, families):
    """Random models of these families under root (made anew); their configs."""
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    configs = {}
    for family in families:
        configs[family] = dict(BASE, **FAMILIES[family])
        init_model(root, family, configs[family])
    return configs


def score(model, tokens):
    p = run(["score", "--model", model, "--tokens", ",".join(map(str, tokens)), "--dtype", "f32", "--json"])
    return json.loads(p.stdout)["logprobs"]


TOKENS = [5, 17, 99, 200, 3, 44, 101, 7, 8, 9, 10, 11, 300, 12, 13, 14, 15, 16, 18, 19]


class GgufExportTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = os.path.join(WORKDIR, "gguf")
        cls.configs = make_models(cls.root, FAMILIES)

    def export(self, family, gtype, name="tiny-random"):
        out = os.path.join(self.root, f"{family}-{gtype}.gguf")
        p = run(["model", "export", "--model", os.path.join(self.root, family), "--format", "gguf", "--type", gtype,
                 "--name", name, "--out", out, "--json"])
        summary = json.loads(p.stdout)
        self.assertEqual(summary["architecture"], ARCH[family])
        return out

    def check_family(self, family):
        config = self.configs[family]
        meta, tensors = gguf_io.load(self.export(family, "f32"))
        arch = ARCH[family]
        self.assertEqual(meta["general.architecture"], arch)
        n_layer = config.get("num_hidden_layers", config.get("num_layers"))
        head_dim = config.get("head_dim", config["hidden_size"] // config["num_attention_heads"])
        for key, want in [("block_count", n_layer), ("embedding_length", config["hidden_size"]),
                          ("feed_forward_length", config["intermediate_size"]),
                          ("attention.head_count", config["num_attention_heads"]),
                          ("attention.head_count_kv", config["num_key_value_heads"]),
                          ("attention.key_length", head_dim), ("context_length", config["max_position_embeddings"]),
                          ("rope.dimension_count", int(head_dim * config.get("partial_rotary_factor", 1.0)))]:
            self.assertEqual(meta[f"{arch}.{key}"], want, key)
        source, _ = safetensors_io.load(os.path.join(self.root, family, "model.safetensors"))
        expected = {gguf_name(family, n): expected_value(family, config, n, t.float()) for n, t in source.items()}
        if config.get("rope_scaling", {}).get("rope_type") == "llama3":
            expected["rope_freqs.weight"] = llama3_factors(config)
        if family == "phi3":
            expected["rope_factors_long.weight"] = torch.tensor(config["rope_scaling"]["long_factor"])
            expected["rope_factors_short.weight"] = torch.tensor(config["rope_scaling"]["short_factor"])
            self.assertAlmostEqual(meta["phi3.rope.scaling.attn_factor"],
                                   math.sqrt(1 + math.log(256 / 64) / math.log(64)), places=6)
        self.assertEqual(sorted(tensors), sorted(expected))
        for name, want in expected.items():
            tname, shape, got = tensors[name]
            self.assertEqual(shape, list(want.shape), name)
            self.assertEqual(tname, "F32", name)
            torch.testing.assert_close(got, want.float(), rtol=1e-6, atol=1e-6, msg=name)
        if family.startswith("gemma"):
            self.assertAlmostEqual(meta[f"{arch}.attention.sliding_window"], config["sliding_window"])
        if family == "gemma2":
            self.assertEqual(meta["gemma2.attn_logit_softcapping"], 50.0)
            self.assertEqual(meta["gemma2.final_logit_softcapping"], 30.0)
        self.check_import(family, source)

    def check_import(self, family, source):
        """`model import` of the f32 file: the same tensors bit for bit, logits and token ids."""
        gguf = os.path.join(self.root, f"{family}-f32.gguf")
        out = os.path.join(self.root, f"{family}-imported")
        p = run(["model", "import", gguf, "--out", out, "--json"])
        want_arch = "LlamaForCausalLM" if family == "mistral" else FAMILIES[family]["architectures"][0]
        self.assertEqual(json.loads(p.stdout)["architecture"], want_arch)
        back, _ = safetensors_io.load(os.path.join(out, "model.safetensors"))
        self.assertEqual(sorted(source), sorted(back))
        for name in source:
            self.assertTrue(torch.equal(source[name].float(), back[name].float()), f"{family}: {name}")
        if family == "mistral":
            return  # llama.cpp's llama architecture has no sliding window
        src = os.path.join(self.root, family)
        want, got = score(src, TOKENS), score(out, TOKENS)
        self.assertLess(max(abs(x - y) for x, y in zip(want, got)), 1e-5, family)
        text = "Hello world, 안녕하세요 12345\n  def f(x): return x"
        ids = [json.loads(run(["tokenize", "--model", d, "--text", text, "--json"]).stdout)["tokens"]
               for d in (src, out)]
        self.assertEqual(ids[0], ids[1], family)

    def test_llama(self):
        self.check_family("llama")

    def test_mistral(self):
        self.check_family("mistral")

    def test_qwen2(self):
        self.check_family("qwen2")

    def test_qwen3(self):
        self.check_family("qwen3")

    def test_gemma2(self):
        self.check_family("gemma2")

    def test_gemma3(self):
        self.check_family("gemma3")

    def test_exaone(self):
        self.check_family("exaone")

    def test_phi3(self):
        self.check_family("phi3")

    def test_types_stay_within_a_quantisation_step(self):
        _, exact = gguf_io.load(self.export("qwen3", "f32"))
        for gtype, rel in [("f16", 1e-3), ("bf16", 8e-3), ("q8_0", 1 / 127), ("q4_0", 1 / 8)]:
            _, tensors = gguf_io.load(self.export("qwen3", gtype))
            for name, (tname, _, got) in tensors.items():
                want = exact[name][2]
                if want.dim() == 1:
                    self.assertEqual(tname, "F32", f"{gtype}: {name} (norms stay f32)")
                    continue
                self.assertEqual(tname, gtype.upper(), f"{gtype}: {name}")
                # Per block of 32 (or element), the error is at most half a step of the block's range.
                blocks = want.reshape(-1, 32)
                step = blocks.abs().amax(dim=1, keepdim=True) * rel
                err = (got.reshape(-1, 32) - blocks).abs()
                self.assertTrue(bool((err <= step + 1e-6).all()), f"{gtype}: {name} max err {err.max():.3g}")

    def test_q4_k_m_is_llama_cpps_mix(self):
        """q4_k_m: Q6_K for output and for attn_v / ffn_down of layers 0, 3, 6, 7 of 8 (llama.cpp's
        use_more_bits), Q4_K elsewhere, values within a step; the same types as llama-quantize's
        Q4_K_M of the same weights, and llama-bench runs the file (when the binaries are here)."""
        model = init_model(self.root, "mix", dict(BASE, architectures=["LlamaForCausalLM"], hidden_size=256,
                                                  intermediate_size=512, num_hidden_layers=8))

        def export(gtype):
            out = os.path.join(self.root, f"mix-{gtype}.gguf")
            run(["model", "export", "--model", model, "--type", gtype, "--out", out])
            return out
        exact = gguf_io.load(export("f32"))[1]
        meta, tensors = gguf_io.load(export("q4_k_m"))
        self.assertEqual(meta["general.file_type"], 15)
        types = {}
        for name, (tname, _, got) in tensors.items():
            types[name] = tname
            want = exact[name][2]
            if want.dim() == 1:
                self.assertEqual(tname, "F32", name)
                continue
            layer = int(name.split(".")[1]) if name.startswith("blk.") else -1
            six = name == "output.weight" or (layer in (0, 3, 6, 7) and (".attn_v." in name or ".ffn_down." in name))
            self.assertEqual(tname, "Q6_K" if six else "Q4_K", name)
            step = want.abs().max() * (2 / 31 if six else 2 / 15)
            self.assertLessEqual(float((got - want).abs().max()), float(step), name)
        quantize = os.path.join(os.path.dirname(llama_bench() or ""), "llama-quantize")
        if llama_bench() is None or not os.access(quantize, os.X_OK):
            self.skipTest("llama-quantize / llama-bench not available")
        ref = os.path.join(self.root, "mix-llama-q4_k_m.gguf")
        p = subprocess.run([quantize, os.path.join(self.root, "mix-f32.gguf"), ref, "Q4_K_M"], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-600:])
        self.assertEqual(types, {n: t for n, (t, _, _) in gguf_io.load(ref)[1].items()})
        p = subprocess.run([llama_bench(), "-m", os.path.join(self.root, "mix-q4_k_m.gguf"), "-t", "1", "-p", "4",
                            "-n", "2", "-r", "1", "--no-warmup", "-o", "json"], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-600:])
        self.assertTrue(all(r["avg_ts"] > 0 for r in json.loads(p.stdout)))

    def test_export_gguf_is_model_exports_short_form(self):
        """`enclave export gguf` takes model export's flags but --format and writes the same file."""
        model = os.path.join(self.root, "qwen3")
        long_form = self.export("qwen3", "q8_0")
        short_form = os.path.join(self.root, "qwen3-short.gguf")
        summary = json.loads(run(["export", "gguf", "--model", model, "--type", "q8_0", "--name", "tiny-random",
                                  "--out", short_form, "--json"]).stdout)
        self.assertEqual((summary["format"], summary["type"]), ("gguf", "q8_0"))
        with open(long_form, "rb") as a, open(short_form, "rb") as b:
            self.assertEqual(a.read(), b.read())
        p = run(["export", "gguf", "--model", model, "--format", "gguf", "--out", short_form], ok=False)
        self.assertNotEqual(p.returncode, 0)

    def test_tokenizer_metadata(self):
        meta, _ = gguf_io.load(self.export("qwen3", "q8_0"))
        with open(os.path.join(self.root, "qwen3", "tokenizer.json")) as f:
            tok = json.load(f)
        vocab = {v: k for k, v in tok["model"]["vocab"].items()}
        for t in tok["added_tokens"]:
            vocab[t["id"]] = t["content"]
        self.assertEqual(meta["tokenizer.ggml.model"], "gpt2")
        self.assertEqual(meta["tokenizer.ggml.pre"], "llama-bpe")
        tokens = meta["tokenizer.ggml.tokens"]
        self.assertEqual(len(tokens), 512)
        for i, piece in vocab.items():
            self.assertEqual(tokens[i], piece, i)
        merges = [m if isinstance(m, str) else " ".join(m) for m in tok["model"]["merges"]]
        self.assertEqual(meta["tokenizer.ggml.merges"], merges)
        types = meta["tokenizer.ggml.token_type"]
        for t in tok["added_tokens"]:
            self.assertEqual(types[t["id"]], 3 if t["special"] else 4, t["content"])
        for i in range(len(vocab), 512):
            self.assertEqual(types[i], 5)  # rows past the tokenizer: unused padding
        with open(os.path.join(self.root, "qwen3", "tokenizer_config.json")) as f:
            self.assertEqual(meta["tokenizer.chat_template"], json.load(f)["chat_template"])
        self.assertIn("tokenizer.ggml.bos_token_id", meta)

    def test_llama_cpp_loads_and_runs_every_family(self):
        bench = llama_bench()
        if bench is None:
            self.skipTest("llama-bench not available (set LLAMA_BENCH) or no AVX-512")
        paths = {}
        for family in FAMILIES:
            for gtype in ("q8_0",) if family != "llama" else ("f16", "q8_0", "q4_0"):
                paths[self.export(family, gtype)] = f"{family} {gtype}"
        # One llama-bench process over every file, on one thread (its worker
        # threads spin while they wait, which a loaded 2-core machine pays
        # for twice) and without warm-up runs: this checks loading and
        # running, not speed.
        args = [bench, "-t", "1", "-p", "4", "-n", "2", "-r", "1", "--no-warmup", "-o", "json"]
        for path in paths:
            args += ["-m", path]
        p = subprocess.run(args, capture_output=True, text=True, timeout=300)
        self.assertEqual(p.returncode, 0, f"llama-bench: {p.stderr[-600:]}")
        rows = json.loads(p.stdout)
        for path, what in paths.items():
            ran = [r for r in rows if r["model_filename"] == path]
            self.assertEqual(len(ran), 2, f"{what}: llama-bench rows {ran}")
            self.assertTrue(all(r["avg_ts"] > 0 for r in ran), f"{what}: {ran}")
            print(f"llama.cpp ran {what}: " +
                  ", ".join(f"{'pp' if r['n_prompt'] else 'tg'} {r['avg_ts']:.0f} tok/s" for r in ran))

    def test_refuses_what_llama_cpp_cannot_express(self):
        cases = {
            "gemma3-pattern": (dict(FAMILIES["gemma3"], sliding_window_pattern=2), "layer pattern"),
            "gemma2-scalar": (dict(FAMILIES["gemma2"], query_pre_attn_scalar=32), "query_pre_attn_scalar"),
            "qwen3-window": (dict(FAMILIES["qwen3"], use_sliding_window=True, sliding_window=8, max_window_layers=1),
                             "sliding window"),
        }
        for name, (extra, needle) in cases.items():
            with self.subTest(name):
                model = init_model(self.root, name, dict(BASE, **extra))
                out = os.path.join(self.root, f"{name}.gguf")
                p = run(["model", "export", "--model", model, "--type", "f16", "--out", out], ok=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn(needle, p.stderr)
                self.assertIn("llama.cpp", p.stderr)
                self.assertFalse(os.path.exists(out))

    def test_bad_input(self):
        p = run(["model", "export", "--model", os.path.join(self.root, "missing"), "--out",
                 os.path.join(self.root, "x.gguf")], ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("missing", p.stderr)
        p = run(["model", "export", "--model", os.path.join(self.root, "qwen3"), "--type", "q5_k", "--out",
                 os.path.join(self.root, "x.gguf")], ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--type", p.stderr)


    def test_lora_adapter(self):
        """A PEFT adapter as llama.cpp's GGUF LoRA: its keys, tensor names,
        A as it is and B with q's rows permuted as the base q is."""
        config = self.configs["llama"]
        adapter = os.path.join(self.root, "llama-adapter")
        kv_out = config["num_key_value_heads"] * config["hidden_size"] // config["num_attention_heads"]
        fixtures.write_adapter(adapter, n_layer=2, hidden=config["hidden_size"], q_out=config["hidden_size"],
                               v_out=kv_out, r=2)
        out = os.path.join(self.root, "llama-lora.gguf")
        summary = json.loads(run(["model", "export", "--adapter", adapter, "--base", os.path.join(self.root, "llama"),
                                  "--format", "gguf", "--type", "f32", "--out", out, "--json"]).stdout)
        self.assertEqual((summary["kind"], summary["architecture"], summary["n_tensors"]), ("lora adapter", "llama", 8))
        meta, tensors = gguf_io.load(out)
        self.assertEqual((meta["general.type"], meta["adapter.type"], meta["general.architecture"]),
                         ("adapter", "lora", "llama"))
        self.assertEqual(meta["adapter.lora.alpha"], 4.0)
        source, _ = safetensors_io.load(os.path.join(adapter, "adapter_model.safetensors"))
        for layer in range(2):
            for module, gname in (("q_proj", "attn_q"), ("v_proj", "attn_v")):
                prefix = f"base_model.model.model.layers.{layer}.self_attn.{module}"
                a, b = source[prefix + ".lora_A.weight"], source[prefix + ".lora_B.weight"]
                if module == "q_proj":
                    b = llama_permute(b, config["num_attention_heads"])
                for part, want in (("lora_a", a), ("lora_b", b)):
                    tname, shape, got = tensors[f"blk.{layer}.{gname}.weight.{part}"]
                    self.assertEqual((tname, shape), ("F32", list(want.shape)))
                    torch.testing.assert_close(got, want.float(), rtol=0, atol=0)
        # an adapter trained on another shape is refused, naming the tensor
        other = os.path.join(self.root, "tiny-adapter")
        fixtures.write_adapter(other, n_layer=1)
        p = run(["model", "export", "--adapter", other, "--base", os.path.join(self.root, "llama"), "--out",
                 os.path.join(self.root, "bad-lora.gguf")], ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("q_proj", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.root, "bad-lora.gguf")))


class GgufImportTest(unittest.TestCase):
    """`--model FILE.gguf` and hostile files (the import round trip is in GgufExportTest)."""

    @classmethod
    def setUpClass(cls):
        cls.root = os.path.join(WORKDIR, "gguf-import")
        make_models(cls.root, ("qwen3", "gemma3", "phi3"))

    def test_gguf_file_as_model_reference(self):
        for family in ("qwen3", "gemma3", "phi3"):
            with self.subTest(family):
                src = os.path.join(self.root, family)
                gguf = os.path.join(self.root, f"{family}-q8.gguf")
                run(["model", "export", "--model", src, "--type", "q8_0", "--out", gguf])
                want, got = score(src, TOKENS), score(gguf, TOKENS)
                mean = sum(abs(x - y) for x, y in zip(want, got)) / len(want)
                print(f"{family} q8_0 vs source: mean |logprob diff| {mean:.4f}")
                self.assertLess(mean, 0.05, family)
                p = run(["generate", "--model", gguf, "--prompt", "hello", "--max-tokens", "4", "--dtype", "f32",
                         "--ignore-eos"])
                self.assertIn("generation: 4 tokens", p.stdout + p.stderr)

    def test_quantize_registers_a_gguf_version_that_runs_quantised(self):
        """`model quantize --out NAME`: a version holding the GGUF file, lineage to its source, and
        score / generate by name within the stated bound of the source (q4_0, a step of amax / 8 against
        q8_0's amax / 127: mean |logprob diff| < 0.3 where q8_0 stays under 0.05)."""
        ws = os.path.join(self.root, "ws")
        shutil.rmtree(ws, ignore_errors=True)
        run(["init", ws])
        src = os.path.join(self.root, "qwen3")

        def in_ws(args, ok=True):
            return run(["--workspace", ws, *args], ok=ok)
        p = in_ws(["model", "quantize", "--model", src, "--type", "q4_0", "--out", "qwen3-q4", "--json"])
        summary = json.loads(p.stdout)
        self.assertEqual(summary["version"]["name"], "qwen3-q4")
        self.assertGreater(summary["n_bytes"], 0)
        shown = in_ws(["models", "show", "qwen3-q4@1"]).stdout
        self.assertIn("model.gguf", shown)
        self.assertIn("quantize", in_ws(["lineage", "qwen3-q4"]).stdout)
        p = in_ws(["score", "--model", "qwen3-q4", "--tokens", ",".join(map(str, TOKENS)), "--dtype", "f32",
                   "--json"])
        got = json.loads(p.stdout)["logprobs"]
        want = score(src, TOKENS)
        mean = sum(abs(x - y) for x, y in zip(want, got)) / len(want)
        print(f"qwen3 q4_0 (model quantize) vs source: mean |logprob diff| {mean:.4f}")
        self.assertLess(mean, 0.3)
        p = in_ws(["generate", "--model", "qwen3-q4", "--prompt", "hello", "--max-tokens", "4", "--ignore-eos"])
        self.assertIn("generation: 4 tokens", p.stdout + p.stderr)
        p = in_ws(["model", "quantize", "--model", src, "--type", "q5_k", "--out", "x"], ok=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("--type", p.stderr)

    def test_export_of_a_quantised_version_keeps_its_blocks(self):
        """`model export` of a q4_k_m version `model quantize` registered (a 256-wide Llama, so it holds
        Q4_K and Q6_K): without --type it writes q4_k_m, every tensor's bytes those of the version's
        file, read back by the independent reader (no re-quantisation; q/k rows permuted back), and
        llama-bench runs it when available. (q4_0, f32 decoding and refusals: enclave_model_test.)"""
        ws = os.path.join(self.root, "ws-export")
        shutil.rmtree(ws, ignore_errors=True)
        run(["init", ws])
        src = init_model(self.root, "wide", dict(BASE, architectures=["LlamaForCausalLM"], hidden_size=256,
                                                 intermediate_size=256, num_hidden_layers=2))
        run(["--workspace", ws, "model", "quantize", "--model", src, "--type", "q4_k_m", "--out", "wide-q4"])
        shown = json.loads(run(["--workspace", ws, "models", "show", "wide-q4@1", "--json"]).stdout)
        digest = shown["artifact_info"]["files"][0]["sha256"]
        stored = os.path.join(ws, ".enclave", "objects", "sha256", digest[:2], digest)
        out = os.path.join(self.root, "wide-q4-export.gguf")
        summary = json.loads(run(["--workspace", ws, "model", "export", "--model", "wide-q4", "--out", out,
                                  "--json"]).stdout)
        self.assertEqual(summary["type"], "q4_k_m")
        meta_want, want = gguf_io.load(stored, raw=True)
        meta_got, got = gguf_io.load(out, raw=True)
        self.assertEqual(meta_got["general.file_type"], meta_want["general.file_type"])
        self.assertEqual(set(got), set(want))
        for t in want:
            self.assertEqual(got[t][0], want[t][0], t)
            self.assertEqual(got[t][2], want[t][2], t)
        self.assertLessEqual({"Q4_K", "Q6_K"}, {t for t, _, _ in got.values()})
        if llama_bench() is None:
            self.skipTest("llama-bench not available")
        p = subprocess.run([llama_bench(), "-m", out, "-t", "2", "-p", "4", "-n", "2", "-r", "1", "-o", "json"],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr[-600:])
        self.assertTrue(all(r["avg_ts"] > 0 for r in json.loads(p.stdout)))

    def test_hostile_files_are_clean_errors(self):
        good = os.path.join(self.root, "qwen3-hostile.gguf")
        run(["model", "export", "--model", os.path.join(self.root, "qwen3"), "--type", "q8_0", "--out", good])
        with open(good, "rb") as f:
            data = f.read()
        bad = os.path.join(self.root, "bad.gguf")
        for name, blob in [("truncated", data[: len(data) // 2]), ("magic", b"GGML" + data[4:]),
                           ("version", data[:4] + b"\x07\0\0\0" + data[8:])]:
            with self.subTest(name):
                with open(bad, "wb") as f:
                    f.write(blob)
                out = os.path.join(self.root, "bad-out")
                p = run(["model", "import", bad, "--out", out], ok=False)
                self.assertNotEqual(p.returncode, 0)
                self.assertIn("bad.gguf", p.stderr)
                self.assertNotIn("Traceback", p.stderr)
                self.assertFalse(os.path.exists(out))


class GgufReaderTest(unittest.TestCase):
    def test_rejects_truncated_and_foreign_files(self):
        path = os.path.join(WORKDIR, "bad.gguf")
        for data in (b"GGML" + b"\0" * 20, b"GGUF\x03\0\0\0" + b"\x01" + b"\0" * 3):
            with open(path, "wb") as f:
                f.write(data)
            with self.assertRaises(gguf_io.GgufError):
                gguf_io.load(path)


def main():
    global ENCLAVE, WORKDIR
    args, rest = harness.parse(__doc__, "gguf_export_test")
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
