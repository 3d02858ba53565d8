"""Golden test: `enclave score --tokens ... --json` against an independent
re-implementation of the Hugging Face Transformers forward pass
(tests/reference/hf_llama.py, and hf_families.py for Qwen3, Gemma 2/3, EXAONE
and Phi-3), on random-weight models written the way `save_pretrained` writes
them (tests/reference/make_model.py, make_families.py).

For each case it prints the largest absolute difference of the n-1
log-probabilities ("golden llama-gqa-f32: maxdiff 3.1e-06") and fails above
1e-4 (fp32). Cases marked bf16 also run `--dtype bf16` and compare the mean
absolute difference with the fp32 reference; the limit is 0.05 or twice the
error of the reference itself computing in bf16, whichever is larger.

The "saved-by" cases score a directory written by Enclave's own saver
(`enclave model upscale --out-dir`), read by the reference with its own
safetensors parser, so they also check that what Enclave writes is what
Hugging Face would load.

Each TestCase class holds a family of cases (one test method per case), so
CTest runs the families in parallel.

    /usr/bin/python3 tests/golden_test.py --enclave build/src/cli/enclave --workdir /tmp/golden \
        [--fixtures build/tests/fixtures] [ClassName ...] [-k llama3]
    /usr/bin/python3 tests/golden_test.py --reference-only --workdir /tmp/golden
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
import hf_llama  # noqa: E402
import make_model  # noqa: E402
import safetensors_io  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

ENCLAVE = None  # None: --reference-only
WORKDIR = None
FIXTURES = None  # the tiny models of tests/fixtures.py

F32_MAX_DIFF = 1e-4
BF16_MEAN_DIFF = 0.05

LLAMA3_ROPE = {
    "rope_type": "llama3",
    "factor": 8.0,
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 64,
}

QWEN3 = dict(arch="qwen3", hidden=64, heads=8, kv_heads=2, head_dim=16, layers=2)
GEMMA2 = dict(arch="gemma2", hidden=64, heads=4, kv_heads=2, head_dim=16, query_pre_attn_scalar=24, layers=3,
              attn_softcap=4.0, final_softcap=3.0, sliding_window=8)
GEMMA3 = dict(arch="gemma3", hidden=64, heads=4, kv_heads=2, head_dim=16, layers=4, sliding_window_pattern=3,
              sliding_window=8, rope_theta=1_000_000.0, rope_scaling={"rope_type": "linear", "factor": 8.0})
GEMMA3_NESTED = dict(arch="gemma3", hidden=64, intermediate=96, layers=7, vocab=300, sliding_window=8,
                     rope_scaling={"rope_type": "linear", "factor": 8.0}, heads=None, kv_heads=None, head_dim=None,
                     query_pre_attn_scalar=None, rope_theta=None)
EXAONE = dict(arch="exaone", hidden=96, heads=4, kv_heads=2, head_dim=24, rope_theta=1_000_000.0,
              rope_scaling=LLAMA3_ROPE, max_pos=1024, rms_norm_eps=1e-5, tie=True)
PHI3 = dict(arch="phi3", hidden=64, heads=4, kv_heads=2, max_pos=256, original_max_pos=64, rope_scaling="longrope")

QWEN2_TIED = dict(arch="qwen2", hidden=96, heads=4, kv_heads=2, layers=3, vocab=256, tie=True)
LLAMA3_SCALED = dict(arch="llama", heads=4, kv_heads=1, rope_theta=500000.0, rope_scaling=LLAMA3_ROPE, max_pos=1024)

# name -> (make_model arguments, number of tokens, also check --dtype bf16).
# A "init" entry is the fixture model made by `enclave model init --preset
# tiny --seed 1` instead. An entry
# with "upscale" is a model written by Enclave's own saver: make_model
# writes the source, `enclave model upscale --drop D --out-dir` writes the
# model that is scored, and its tensors and config are checked against the
# source first (see check_upscaled).
CASES = {
    "llama-gqa-f32": (dict(arch="llama", heads=8, kv_heads=2), 32, True),
    "llama-gqa-bf16-weights": (dict(arch="llama", heads=8, kv_heads=2, dtype="BF16"), 32, True),
    "qwen2-bias-tied": (QWEN2_TIED, 40, False),
    "qwen2-bias-tied-bf16-weights": (dict(QWEN2_TIED, dtype="BF16"), 40, True),
    "llama3-rope-scaling": (LLAMA3_SCALED, 200, False),
    "llama3-rope-scaling-bf16-weights": (dict(LLAMA3_SCALED, dtype="BF16"), 200, True),
    "llama-linear-rope": (dict(arch="llama", heads=4, kv_heads=4, rope_scaling={"type": "linear", "factor": 2.0}), 40,
                          False),
    "llama-head-dim": (dict(arch="llama", hidden=64, heads=4, kv_heads=2, head_dim=32), 32, False),
    "qwen2-head-dim": (dict(arch="qwen2", hidden=64, heads=4, kv_heads=2, head_dim=24), 24, False),
    "llama-attention-mlp-bias": (dict(arch="llama", heads=4, kv_heads=2, attention_bias=True, mlp_bias=True), 24,
                                 False),
    "llama-sharded": (dict(arch="llama", layers=3, heads=8, kv_heads=4, vocab=300, shards=3), 32, False),
    "mistral": (dict(arch="mistral", hidden=128, heads=8, kv_heads=2, vocab=150), 32, False),
    "mistral-sliding-window": (dict(arch="mistral", heads=4, kv_heads=2, sliding_window=8), 40, False),
    "qwen2-sliding-window-layers": (
        dict(arch="qwen2", layers=3, heads=4, kv_heads=2, use_sliding_window=True, sliding_window=8,
             max_window_layers=1), 40, False),
    "enclave-init-tiny": ("init", 24, False),
    # Qwen3: per-head q/k RMSNorm, explicit head_dim, bias on q/k/v/o, window layers.
    "qwen3-qk-norm-gqa": (QWEN3, 40, True),
    "qwen3-qk-norm-gqa-bf16-weights": (dict(QWEN3, dtype="BF16"), 40, True),
    "qwen3-attention-bias-tied": (dict(QWEN3, attention_bias=True, tie=True), 32, False),
    "qwen3-sliding-window-layers": (
        dict(QWEN3, layers=3, use_sliding_window=True, sliding_window=8, max_window_layers=1), 40, False),
    # Gemma 2: soft-capping that binds, window 8 on layers 0 and 2, tied; then
    # explicit layer_types, MQA, sqrt(96) embedding scale, untied, no caps.
    "gemma2-softcap-window-tied": (GEMMA2, 40, True),
    "gemma2-softcap-window-tied-bf16-weights": (dict(GEMMA2, dtype="BF16"), 40, True),
    "gemma2-layer-types-mqa-untied": (
        dict(GEMMA2, hidden=96, heads=3, kv_heads=1, head_dim=32, query_pre_attn_scalar=32, attn_softcap=None,
             final_softcap=None, tie=False, layer_types=["full_attention", "sliding_attention", "sliding_attention"]),
        40, True),
    # Gemma 3: q/k norms, layers 0, 1, 3 local (rope_local_base_freq), layer 2
    # global (rope_theta 1e6, linear x8); final soft-cap only where set.
    "gemma3-local-global-rope": (GEMMA3, 40, True),
    "gemma3-local-global-rope-bf16-weights": (dict(GEMMA3, dtype="BF16"), 40, True),
    "gemma3-layer-types-final-softcap-untied": (
        dict(GEMMA3, layers=3, layer_types=["sliding_attention", "full_attention", "sliding_attention"],
             rope_scaling=None, query_pre_attn_scalar=32, final_softcap=3.0, tie=False), 40, False),
    # Gemma3ForConditionalGeneration: sparse text_config (8 heads, 4 kv heads,
    # head_dim 256, 1-in-6 global layers by default), vision tensors to skip.
    "gemma3-nested-old-names": (dict(GEMMA3_NESTED, nested="old"), 40, False),
    "gemma3-nested-new-names-bf16-weights": (dict(GEMMA3_NESTED, nested="new", dtype="BF16"), 40, True),
    # EXAONE 3.5: Llama under transformer.h.N names, llama3 rope, tied.
    "exaone-llama3-rope-tied": (EXAONE, 100, True),
    "exaone-llama3-rope-tied-bf16-weights": (dict(EXAONE, dtype="BF16"), 100, True),
    "exaone-mha-untied": (dict(arch="exaone", hidden=64, heads=4, kv_heads=4, tie=False, rms_norm_eps=1e-5), 32,
                          False),
    # Phi-3: fused qkv/gate_up; longrope with long factors (100 > 64 positions)
    # and short ones (48), both with scaled cos/sin; Phi-4-mini's partial
    # rotary and tied head; Phi-3-mini-4k's window; the older "su" name.
    "phi3-longrope-long": (PHI3, 100, True),
    "phi3-longrope-long-bf16-weights": (dict(PHI3, dtype="BF16"), 100, True),
    "phi3-longrope-short": (PHI3, 48, False),
    "phi3-partial-rotary-tied": (dict(PHI3, partial_rotary_factor=0.75, kv_heads=1, tie=True), 100, False),
    "phi3-sliding-window": (dict(arch="phi3", hidden=64, heads=4, kv_heads=4, sliding_window=8), 40, False),
    "phi3-su-sharded": (dict(PHI3, rope_scaling="su", shards=2), 80, False),
    "qwen2-tied-saved-by-upscale": (dict(QWEN2_TIED, upscale=dict(drop=1)), 32, False),
    "qwen2-tied-saved-by-upscale-bf16": (dict(QWEN2_TIED, upscale=dict(drop=1, dtype="bfloat16")), 32, False),
}

# config.json fields the forward pass depends on; a saved model must keep
# them as the source had them (num_hidden_layers is checked separately).
FORWARD_CONFIG_KEYS = (
    "architectures", "model_type", "hidden_size", "intermediate_size", "num_attention_heads",
    "num_key_value_heads", "head_dim", "hidden_act", "rms_norm_eps", "rope_theta", "rope_scaling",
    "max_position_embeddings", "vocab_size", "tie_word_embeddings", "attention_bias", "mlp_bias",
    "use_sliding_window", "sliding_window", "max_window_layers",
)
_STORED_DTYPE = {None: None, "float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def run_score(enclave, model_dir, tokens, dtype):
    cmd = [enclave, "score", "--model", model_dir, "--tokens", ",".join(map(str, tokens)), "--dtype", dtype, "--json"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    try:
        out = json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise RuntimeError(f"stdout is not one JSON object ({e}): {p.stdout[:200]!r}") from None
    if out.get("tokens") != tokens:
        raise RuntimeError(f"'tokens' {out.get('tokens')} differs from the input {tokens}")
    logprobs = out.get("logprobs")
    if not isinstance(logprobs, list) or len(logprobs) != len(tokens) - 1:
        raise RuntimeError(f"expected {len(tokens) - 1} logprobs, got {logprobs!r:.200}")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) and v <= 0 for v in logprobs):
        raise RuntimeError("logprobs must be finite and <= 0")
    return logprobs


def run_enclave(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")


def needs_enclave(spec):
    """True for models that only the enclave binary can write."""
    return spec == "init" or "upscale" in spec


def upscaled_names(n_layer, drop):
    """{name in the upscaled model: name in the source} for the layer tensors'
    prefixes: new layers [0, n-D) are source [0, n-D), new [n-D, 2(n-D)) are
    source [D, n) (SOLAR depth up-scaling)."""
    kept = n_layer - drop
    return {new: (new if new < kept else new - kept + drop) for new in range(2 * kept)}


def check_upscaled(source_dir, model_dir, drop, stored_dtype):
    """Checks the directory Enclave saved against its source with this file's
    own reader: the config keeps every forward-pass field, the tensors are the
    source's under their new layer names, bit for bit (after the cast to
    --dtype, if given, which must round like torch's .to()), and the
    safetensors files carry HF's __metadata__ {"format": "pt"} where present.
    Raises RuntimeError naming the first difference."""
    with open(os.path.join(source_dir, "config.json")) as f:
        src_config = json.load(f)
    with open(os.path.join(model_dir, "config.json")) as f:
        out_config = json.load(f)
    for key in FORWARD_CONFIG_KEYS:
        if key in src_config and out_config.get(key, "<absent>") != src_config[key]:
            raise RuntimeError(f"{model_dir}/config.json: '{key}' is {out_config.get(key, '<absent>')!r}, "
                               f"the source has {src_config[key]!r}")
    n_layer = src_config["num_hidden_layers"]
    if out_config.get("num_hidden_layers") != 2 * (n_layer - drop):
        raise RuntimeError(f"{model_dir}/config.json: num_hidden_layers is {out_config.get('num_hidden_layers')}, "
                           f"expected 2 * ({n_layer} - {drop})")
    for file in os.listdir(model_dir):
        if file.endswith(".safetensors"):
            _, meta = safetensors_io.load(os.path.join(model_dir, file))
            if meta and meta.get("format") != "pt":
                raise RuntimeError(f"{model_dir}/{file}: __metadata__ format {meta.get('format')!r}, "
                                   f"transformers only loads 'pt'")
    src = hf_llama.load_state_dict(source_dir)
    out = hf_llama.load_state_dict(model_dir)
    expected = {}
    layer_map = upscaled_names(n_layer, drop)
    for name, t in src.items():
        if not name.startswith("model.layers."):
            expected[name] = t
    for new, old in layer_map.items():
        prefix = f"model.layers.{old}."
        for name, t in src.items():
            if name.startswith(prefix):
                expected[f"model.layers.{new}.{name[len(prefix):]}"] = t
    if src_config.get("tie_word_embeddings") and "lm_head.weight" in out:
        # save_pretrained leaves it out; a copy equal to the embeddings is harmless.
        expected["lm_head.weight"] = src["model.embed_tokens.weight"]
    missing, extra = sorted(set(expected) - set(out)), sorted(set(out) - set(expected))
    if missing or extra:
        raise RuntimeError(f"{model_dir}: tensors missing {missing[:5]}, unexpected {extra[:5]}")
    for name, want in expected.items():
        want = want.to(stored_dtype) if stored_dtype is not None else want
        got = out[name]
        if got.dtype != want.dtype or got.shape != want.shape:
            raise RuntimeError(f"{model_dir}: tensor '{name}' is {got.dtype} {list(got.shape)}, "
                               f"expected {want.dtype} {list(want.shape)}")
        if not torch.equal(got, want):
            diff = (got.float() - want.float()).abs().max().item()
            raise RuntimeError(f"{model_dir}: tensor '{name}' differs from the source, maxdiff {diff:.3e}")


def make_case_model(name, spec, model_dir, enclave):
    if os.path.exists(model_dir):
        shutil.rmtree(model_dir)
    args = dict(spec)
    shards = args.pop("shards", 1)
    upscale = args.pop("upscale", None)
    if upscale is None:
        make_model.make_model(model_dir, seed=sum(map(ord, name)), shards=shards, **args)
        return
    source_dir = model_dir + "-source"
    if os.path.exists(source_dir):
        shutil.rmtree(source_dir)
    make_model.make_model(source_dir, seed=sum(map(ord, name)), shards=shards, **args)
    cmd = [enclave, "model", "upscale", "--model", source_dir, "--drop", str(upscale["drop"]), "--out-dir", model_dir]
    if upscale.get("dtype"):
        cmd += ["--dtype", upscale["dtype"]]
    run_enclave(cmd)
    check_upscaled(source_dir, model_dir, upscale["drop"], _STORED_DTYPE[upscale.get("dtype")])


def case_tokens(name, model_dir, n):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = json.load(f)
    vocab = config["vocab_size"] if "vocab_size" in config else config["text_config"]["vocab_size"]
    g = torch.Generator().manual_seed(len(name) * 7919 + n)
    return torch.randint(0, vocab, (n,), generator=g).tolist()


def check_case(name, enclave, workdir):
    """Runs one case; returns a list of failure strings (empty when it passes)."""
    spec, n_tokens, check_bf16 = CASES[name]
    if spec == "init":
        model_dir = fixtures.tiny(FIXTURES, 1)
    else:
        model_dir = os.path.join(workdir, name)
        make_case_model(name, spec, model_dir, enclave)
    tokens = case_tokens(name, model_dir, n_tokens)
    ref = hf_llama.token_logprobs(hf_llama.load_model(model_dir, torch.float32), tokens)
    if enclave is None:
        print(f"golden {name}: reference only, mean logprob {sum(ref) / len(ref):.4f}")
        return []
    failures = []
    got = run_score(enclave, model_dir, tokens, "f32")
    diffs = [abs(a - b) for a, b in zip(got, ref)]
    worst = max(range(len(diffs)), key=diffs.__getitem__)
    verdict = "ok" if diffs[worst] <= F32_MAX_DIFF else "FAIL"
    print(f"golden {name}: maxdiff {diffs[worst]:.2e} ({len(diffs)} logprobs, worst at position {worst + 1}: "
          f"enclave {got[worst]:.6f} reference {ref[worst]:.6f}) {verdict}")
    if verdict != "ok":
        failures.append(f"{name}: maxdiff {diffs[worst]:.2e} > {F32_MAX_DIFF}")
    if check_bf16:
        ref_bf16 = hf_llama.token_logprobs(hf_llama.load_model(model_dir, torch.bfloat16), tokens)
        ref_err = sum(abs(a - b) for a, b in zip(ref_bf16, ref)) / len(ref)
        got_bf16 = run_score(enclave, model_dir, tokens, "bf16")
        err = sum(abs(a - b) for a, b in zip(got_bf16, ref)) / len(ref)
        limit = max(BF16_MEAN_DIFF, 2 * ref_err)
        verdict = "ok" if err <= limit else "FAIL"
        print(f"golden {name} --dtype bf16: mean abs diff {err:.4f} vs the fp32 reference "
              f"(reference in bf16: {ref_err:.4f}; limit {limit:.4f}) {verdict}")
        if verdict != "ok":
            failures.append(f"{name} bf16: mean abs diff {err:.4f} > {limit:.4f}")
    return failures


class GoldenCase(unittest.TestCase):
    """One test method per case name in `cases` (see add_cases)."""

    def check(self, name):
        if ENCLAVE is None and needs_enclave(CASES[name][0]):
            self.skipTest("--reference-only: the model is written by the enclave binary")
        failures = check_case(name, ENCLAVE, WORKDIR)
        self.assertEqual(failures, [], "; ".join(failures))


def add_cases(cls, names):
    for name in names:
        setattr(cls, "test_" + name.replace("-", "_"), lambda self, name=name: self.check(name))
    return cls


class LlamaTest(GoldenCase):
    """Llama: GQA, BF16 weights, llama3 and linear RoPE scaling, head_dim, biases, shards."""


class Qwen2MistralTest(GoldenCase):
    """Qwen2 (q/k/v bias, tied embeddings, sliding-window layers) and Mistral."""


class SavedByEnclaveTest(GoldenCase):
    """Models Enclave wrote: `enclave model init`, and Qwen2 saved by `model upscale`."""


class FamiliesTest(GoldenCase):
    """Qwen3, Gemma 2, Gemma 3 (text and nested), EXAONE 3.5 and Phi-3: every switch of hf_families.py."""


add_cases(LlamaTest, [n for n in CASES if n.startswith("llama")])
add_cases(Qwen2MistralTest, [n for n in CASES if n.startswith(("qwen2", "mistral")) and not needs_enclave(CASES[n][0])])
add_cases(SavedByEnclaveTest, [n for n in CASES if needs_enclave(CASES[n][0])])
add_cases(FamiliesTest, [n for n in CASES if n.startswith(("qwen3", "gemma", "exaone", "phi3"))])
assert sorted(n for cls in (LlamaTest, Qwen2MistralTest, SavedByEnclaveTest, FamiliesTest) for n in dir(cls)
              if n.startswith("test_")) == sorted("test_" + n.replace("-", "_") for n in CASES), \
    "every case in exactly one class"


def main():
    global ENCLAVE, WORKDIR, FIXTURES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enclave", help="path of the enclave binary")
    ap.add_argument("--workdir", required=True, help="scratch directory for the generated models")
    ap.add_argument("--fixtures", help="folder made by tests/fixtures.py (default: made under --workdir)")
    ap.add_argument("--reference-only", action="store_true", help="run the reference without the enclave binary")
    a, rest = ap.parse_known_args()
    if not a.reference_only and not (a.enclave and os.access(a.enclave, os.X_OK)):
        print(f"golden: enclave binary not found or not executable: {a.enclave}", file=sys.stderr)
        return 1
    WORKDIR = os.path.abspath(a.workdir)
    os.makedirs(WORKDIR, exist_ok=True)
    if not a.reference_only:
        ENCLAVE = os.path.abspath(a.enclave)
        FIXTURES = fixtures.find_or_make(ENCLAVE, a.fixtures, WORKDIR)
    torch.set_num_threads(1)  # tiny models; threads only add noise on a shared machine
    result = unittest.main(argv=[sys.argv[0], "-v", *rest], exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
