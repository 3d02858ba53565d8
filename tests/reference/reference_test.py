"""Self-tests of the golden reference (hf_llama.py, make_model.py,
safetensors_io.py): a wrong reference would make the golden test agree with a
wrong engine, so each convention is checked against a second, independent
formulation (Meta's original Llama code for RoPE and llama3 scaling, plain MHA
for GQA, prefixes for causality; for the other families: Llama with split or
renamed weights, per-head scale invariance for q/k norms, float64 formulas,
suffixes of the sequence for sliding windows).

    /usr/bin/python3 tests/reference/reference_test.py
"""

import math
import os
import struct
import sys
import tempfile
import unittest

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hf_families  # noqa: E402
import hf_llama  # noqa: E402
import make_model  # noqa: E402
import safetensors_io  # noqa: E402


def meta_apply_scaling(freqs, factor, low_freq_factor, high_freq_factor, old_context_len):
    """llama-models `apply_scaling` (Meta's Llama 3.1 reference), one frequency at a time."""
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    out = []
    for freq in freqs.tolist():
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            out.append(freq)
        elif wavelen > low_freq_wavelen:
            out.append(freq / factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            out.append((1 - smooth) * freq / factor + smooth * freq)
    return torch.tensor(out, dtype=torch.float64)


class SafetensorsTest(unittest.TestCase):
    def test_round_trip_keeps_values_and_dtypes(self):
        src = {
            "a": torch.randn(3, 5),
            "b": torch.randn(7).to(torch.bfloat16),
            "c": torch.randn(2, 2).to(torch.float16),
        }
        back, meta = safetensors_io.parse(safetensors_io.serialize(src, {"format": "pt"}))
        self.assertEqual(meta, {"format": "pt"})
        for k, v in src.items():
            self.assertEqual(back[k].dtype, v.dtype)
            self.assertTrue(torch.equal(back[k], v), k)

    def test_header_is_padded_to_8_bytes(self):
        data = safetensors_io.serialize({"x": torch.zeros(3)})
        (n,) = struct.unpack("<Q", data[:8])
        self.assertEqual(n % 8, 0)

    def test_rejects_bad_files(self):
        good = safetensors_io.serialize({"x": torch.zeros(4), "y": torch.ones(2)})
        (n,) = struct.unpack("<Q", good[:8])
        cases = {
            "short": good[:5],
            "header past end": struct.pack("<Q", len(good)) + good[8:],
            "truncated data": good[:-4],
            "trailing bytes": good + b"\0" * 8,
            "not json": struct.pack("<Q", 8) + b"{not js}",
            "wrong size": good.replace(b'"shape":[4]', b'"shape":[5]'),
            "header not starting with {": struct.pack("<Q", n) + b" " + good[8 : 7 + n] + good[8 + n :],
            "header over 100 MB": struct.pack("<Q", 100_000_008) + good[8:],
        }
        for name, data in cases.items():
            with self.subTest(name):
                with self.assertRaises(safetensors_io.SafetensorsError):
                    safetensors_io.parse(data)
        self.assertGreater(n, 0)


class RopeTest(unittest.TestCase):
    def test_llama3_scaling_matches_meta_reference(self):
        rs = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 64}
        config = hf_llama.Config(make_model.make_config(rope_theta=500000.0, rope_scaling=rs, head_dim=32))
        ours = hf_llama.rope_inv_freq(config).double()
        meta = meta_apply_scaling(hf_llama.default_inv_freq(config), 8.0, 1.0, 4.0, 64)
        self.assertLess((ours - meta).abs().max().item(), 1e-7)
        # All three regimes occur, so the test covers each branch.
        wavelen = 2 * math.pi / hf_llama.default_inv_freq(config)
        self.assertTrue((wavelen < 16).any() and (wavelen > 64).any() and ((wavelen > 16) & (wavelen < 64)).any())

    def test_linear_scaling_divides_frequencies(self):
        config = hf_llama.Config(make_model.make_config(rope_scaling={"type": "linear", "factor": 4.0}))
        base = hf_llama.default_inv_freq(config)
        self.assertTrue(torch.allclose(hf_llama.rope_inv_freq(config), base / 4))

    def test_rotate_half_on_permuted_weights_equals_meta_complex_rope(self):
        # HF's convert_llama_weights_to_hf.py permutes q/k rows so that
        # rotate_half on the permuted projection equals Meta's rotation of
        # interleaved (real, imag) pairs on the original one.
        torch.manual_seed(0)
        T, C, H, D = 9, 32, 2, 16
        x = torch.randn(T, C, dtype=torch.float64)
        w_meta = torch.randn(H * D, C, dtype=torch.float64)
        w_hf = w_meta.view(H, D // 2, 2, C).transpose(1, 2).reshape(H * D, C)
        freqs = 1.0 / (10000.0 ** (torch.arange(0, D, 2)[: D // 2].double() / D))
        angles = torch.outer(torch.arange(T).double(), freqs)
        q_meta = torch.view_as_complex((x @ w_meta.T).view(T, H, D // 2, 2).contiguous())
        q_meta = torch.view_as_real(q_meta * torch.polar(torch.ones_like(angles), angles)[:, None, :]).reshape(T, H, D)
        q_hf = (x @ w_hf.T).view(T, H, D).transpose(0, 1)  # (H, T, D)
        emb = torch.cat((angles, angles), dim=-1)
        q_hf, _ = hf_llama.apply_rotary_pos_emb(q_hf[None], q_hf[None], emb.cos()[None], emb.sin()[None])
        scores_meta = torch.einsum("thd,shd->hts", q_meta, q_meta)
        scores_hf = q_hf[0] @ q_hf[0].transpose(1, 2)
        self.assertLess((scores_meta - scores_hf).abs().max().item(), 1e-9)


class ModelDirTest(unittest.TestCase):
    """A temporary folder for the model directories of one test."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def _dir(self, name):
        return os.path.join(self.tmp.name, name)


class ForwardTest(ModelDirTest):

    def test_prefix_logprobs_do_not_see_the_future(self):
        make_model.make_model(self._dir("m"), seed=3)
        model = hf_llama.load_model(self._dir("m"))
        tokens = torch.randint(0, 200, (20,), generator=torch.Generator().manual_seed(1)).tolist()
        full = hf_llama.token_logprobs(model, tokens)
        prefix = hf_llama.token_logprobs(model, tokens[:11])
        self.assertLess(max(abs(a - b) for a, b in zip(full, prefix)), 1e-5)

    def test_gqa_equals_mha_with_repeated_kv_heads(self):
        d = make_model.make_model(self._dir("gqa"), seed=4, heads=8, kv_heads=2)
        config = dict(d, num_key_value_heads=8)
        state = hf_llama.load_state_dict(self._dir("gqa"))
        for name in list(state):
            if "k_proj" in name or "v_proj" in name:
                w = state[name]
                state[name] = w.view(2, 8, *w.shape[1:]).repeat_interleave(4, dim=0).reshape(64, *w.shape[1:])
        make_model.save_model(self._dir("mha"), config, state)
        tokens = list(range(3, 30))
        gqa = hf_llama.token_logprobs(hf_llama.load_model(self._dir("gqa")), tokens)
        mha = hf_llama.token_logprobs(hf_llama.load_model(self._dir("mha")), tokens)
        self.assertLess(max(abs(a - b) for a, b in zip(gqa, mha)), 1e-5)

    def test_sharded_bf16_and_tied_layouts_load(self):
        args = dict(arch="qwen2", tie=True, dtype="BF16")
        make_model.make_model(self._dir("one"), seed=5, **args)
        make_model.make_model(self._dir("three"), seed=5, shards=3, **args)
        names = os.listdir(self._dir("three"))
        self.assertIn("model-00003-of-00003.safetensors", names)
        self.assertIn("model.safetensors.index.json", names)
        tensors, meta = safetensors_io.load(os.path.join(self._dir("one"), "model.safetensors"))
        self.assertEqual(meta, {"format": "pt"})
        self.assertNotIn("lm_head.weight", tensors)
        self.assertIn("model.layers.0.self_attn.q_proj.bias", tensors)
        self.assertNotIn("model.layers.0.self_attn.o_proj.bias", tensors)
        one = hf_llama.load_model(self._dir("one"))
        three = hf_llama.load_model(self._dir("three"))
        self.assertTrue(torch.equal(one.lm_head.weight, one.model.embed_tokens.weight))
        tokens = [1, 2, 3, 4, 5]
        self.assertEqual(hf_llama.token_logprobs(one, tokens), hf_llama.token_logprobs(three, tokens))

    def test_missing_tensor_is_refused(self):
        make_model.make_model(self._dir("m"), seed=6)
        path = os.path.join(self._dir("m"), "model.safetensors")
        tensors, meta = safetensors_io.load(path)
        del tensors["model.layers.1.mlp.up_proj.weight"]
        safetensors_io.save(path, tensors, meta)
        with self.assertRaises(RuntimeError):
            hf_llama.load_model(self._dir("m"))

    def test_sliding_window_mask(self):
        mask = hf_llama.causal_mask(6, torch.float32, sliding_window=3)[0, 0] == 0
        expected = [[0 <= q - k < 3 for k in range(6)] for q in range(6)]
        self.assertEqual(mask.tolist(), expected)

    def test_sliding_window_changes_only_far_positions(self):
        args = dict(arch="mistral", seed=7, layers=2)
        make_model.make_model(self._dir("full"), sliding_window=None, **args)
        make_model.make_model(self._dir("win"), sliding_window=6, **args)
        tokens = list(range(10, 40))
        full = hf_llama.token_logprobs(hf_llama.load_model(self._dir("full")), tokens)
        win = hf_llama.token_logprobs(hf_llama.load_model(self._dir("win")), tokens)
        self.assertLess(max(abs(a - b) for a, b in zip(full[:6], win[:6])), 1e-5)
        self.assertGreater(max(abs(a - b) for a, b in zip(full[6:], win[6:])), 1e-3)

    def test_bf16_compute_is_close_to_f32(self):
        make_model.make_model(self._dir("m"), seed=8)
        tokens = list(range(5, 35))
        f32 = hf_llama.token_logprobs(hf_llama.load_model(self._dir("m")), tokens)
        bf16 = hf_llama.token_logprobs(hf_llama.load_model(self._dir("m"), torch.bfloat16), tokens)
        mean = sum(abs(a - b) for a, b in zip(f32, bf16)) / len(f32)
        # bf16 keeps 8 bits of mantissa: logits of a few units move by ~0.05.
        self.assertGreater(mean, 0)
        self.assertLess(mean, 0.1)

class FamilyConventionTest(ModelDirTest):
    """hf_families.py's conventions, each against a second formulation."""

    def _logprobs(self, name, tokens, dtype=torch.float32):
        return hf_llama.token_logprobs(hf_llama.load_model(self._dir(name), dtype), tokens)

    def _max_diff(self, a, b):
        return max(abs(x - y) for x, y in zip(a, b))

    def _resave(self, src, dst, config, rename=lambda s: s):
        state = rename(hf_llama.load_state_dict(self._dir(src)))
        make_model.save_model(self._dir(dst), config, state)

    def test_phi3_fused_projections_equal_separate_llama_ones(self):
        # Without rope scaling, partial rotary or window, Phi-3 is Llama with
        # q/k/v and gate/up fused: rows q, k, v and gate, up.
        args = dict(hidden=64, heads=4, kv_heads=2, layers=2, tie=False)
        make_model.make_model(self._dir("phi3"), seed=11, arch="phi3", **args)

        def split(state):
            out = {}
            for name, t in state.items():
                if name.endswith("qkv_proj.weight"):
                    q, k, v = t.split([64, 32, 32], dim=0)
                    for n, part in zip("qkv", (q, k, v)):
                        out[name.replace("qkv_proj", f"{n}_proj")] = part
                elif name.endswith("gate_up_proj.weight"):
                    gate, up = t.chunk(2, dim=0)
                    out[name.replace("gate_up_proj", "gate_proj")] = gate
                    out[name.replace("gate_up_proj", "up_proj")] = up
                else:
                    out[name] = t
            return out

        self._resave("phi3", "llama", make_model.make_config(arch="llama", rms_norm_eps=1e-6, **args), split)
        tokens = list(range(3, 40))
        self.assertLess(self._max_diff(self._logprobs("phi3", tokens), self._logprobs("llama", tokens)), 1e-5)

    def test_exaone_is_llama_under_other_names(self):
        rs = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 16}
        args = dict(hidden=96, heads=4, kv_heads=2, rope_theta=500000.0, rope_scaling=rs, tie=True, rms_norm_eps=1e-5)
        make_model.make_model(self._dir("exaone"), seed=12, arch="exaone", **args)
        renames = [("transformer.wte.", "model.embed_tokens."), ("transformer.ln_f.", "model.norm."),
                   ("transformer.h.", "model.layers."), (".ln_1.", ".input_layernorm."),
                   (".ln_2.", ".post_attention_layernorm."), (".attn.attention.out_proj.", ".self_attn.o_proj."),
                   (".attn.attention.", ".self_attn."), (".c_fc_0.", ".gate_proj."), (".c_fc_1.", ".up_proj."),
                   (".c_proj.", ".down_proj.")]

        def to_llama(state):
            out = {}
            for name, t in state.items():
                for old, new in renames:
                    name = name.replace(old, new, 1)
                out[name] = t
            return out

        self._resave("exaone", "llama", make_model.make_config(arch="llama", **args), to_llama)
        tokens = list(range(3, 50))
        self.assertLess(self._max_diff(self._logprobs("exaone", tokens), self._logprobs("llama", tokens)), 1e-5)

    def test_exaone_ties_embeddings_when_the_config_says_nothing(self):
        config = make_model.make_config(arch="exaone", tie=True)
        del config["tie_word_embeddings"]
        self.assertNotIn("lm_head.weight", make_model.random_state_dict(config, 1))
        model = hf_families.ForCausalLM(hf_families.Config(config))
        self.assertIs(model.lm_head.weight, model.transformer.wte.weight)

    def test_qk_norms_are_per_head(self):
        # RMS-normalising each head makes the model blind to a positive scale
        # per q/k head, and only per head.
        cases = {"qwen3": dict(arch="qwen3", head_dim=16), "gemma3": dict(arch="gemma3", head_dim=16)}
        tokens = list(range(5, 30))
        for name, args in cases.items():
            with self.subTest(name):
                make_model.make_model(self._dir(name), seed=13, heads=4, kv_heads=2, layers=2, **args)
                config = make_model.make_config(heads=4, kv_heads=2, layers=2, **args)
                base = self._logprobs(name, tokens)

                def scale(state, rows):
                    out = dict(state)
                    for n in out:
                        if n.endswith(("q_proj.weight", "k_proj.weight")):
                            w = out[n].clone()
                            for r, c in rows(w.shape[0] // 16):
                                w[r] *= c
                            out[n] = w
                    return out

                per_head = lambda n_head: [(slice(16 * h, 16 * h + 16), 0.5 + h) for h in range(n_head)]  # noqa: E731
                half_head = lambda n_head: [(slice(0, 8), 3.0)]  # noqa: E731
                self._resave(name, name + "-heads", config, lambda s: scale(s, per_head))
                self._resave(name, name + "-half", config, lambda s: scale(s, half_head))
                self.assertLess(self._max_diff(base, self._logprobs(name + "-heads", tokens)), 1e-4)
                self.assertGreater(self._max_diff(base, self._logprobs(name + "-half", tokens)), 1e-2)

    def test_gemma_norm_scales_by_one_plus_weight_in_fp32(self):
        torch.manual_seed(0)
        x = torch.randn(3, 5, 32) * 4
        w = torch.randn(32) * 0.3
        norm = hf_families.GemmaRMSNorm(32, 1e-6)
        norm.weight.data.copy_(w)
        xd = x.double()
        expected = xd / torch.sqrt(xd.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + w.double())
        self.assertLess((norm(x).double() - expected).abs().max().item(), 1e-5)
        # bf16 input: the (1 + w) multiply happens in fp32, the cast once at the end.
        xb = x.to(torch.bfloat16)
        xbd = xb.double()
        expected = (xbd / torch.sqrt(xbd.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + w.double())).float()
        self.assertTrue(torch.equal(norm(xb), expected.to(torch.bfloat16)))

    def test_gemma2_layer_against_a_float64_transcription(self):
        # One Gemma 2 layer written out from the formulas: scaled embeddings,
        # (1 + w) norms, soft-capped GQA scores over a window, the attention
        # output normalised before the residual add, GeGLU, capped logits.
        C, H, KV, D, w, T = 64, 4, 2, 16, 4, 12
        make_model.make_model(self._dir("g"), seed=20, arch="gemma2", hidden=C, heads=H, kv_heads=KV, head_dim=D,
                              layers=1, query_pre_attn_scalar=24, attn_softcap=4.0, final_softcap=3.0,
                              sliding_window=w)
        s = {k: v.double() for k, v in hf_llama.load_state_dict(self._dir("g")).items()}
        tokens = torch.randint(0, 200, (T,), generator=torch.Generator().manual_seed(4))

        def norm(x, name):
            return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * (1 + s[name])

        def gelu_tanh(x):
            return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))

        p = "model.layers.0."
        x = s["model.embed_tokens.weight"][tokens] * math.sqrt(C)
        h = norm(x, p + "input_layernorm.weight")
        q = (h @ s[p + "self_attn.q_proj.weight"].T).view(T, H, D)
        k = (h @ s[p + "self_attn.k_proj.weight"].T).view(T, KV, D)
        v = (h @ s[p + "self_attn.v_proj.weight"].T).view(T, KV, D)
        freqs = 1.0 / 10000.0 ** (torch.arange(0, D, 2, dtype=torch.float64) / D)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * freqs  # (T, D/2)

        def rot(t):
            a, b = t[..., : D // 2], t[..., D // 2 :]
            c, sn = ang.cos()[:, None], ang.sin()[:, None]
            return torch.cat([a * c - b * sn, b * c + a * sn], dim=-1)

        q, k = rot(q), rot(k)
        out = torch.zeros(T, H, D, dtype=torch.float64)
        for head in range(H):
            kv = head // (H // KV)
            for t in range(T):
                keys = range(max(0, t - w + 1), t + 1)
                sc = torch.stack([q[t, head] @ k[j, kv] for j in keys]) * 24**-0.5
                sc = torch.tanh(sc / 4.0) * 4.0
                out[t, head] = torch.softmax(sc, 0) @ torch.stack([v[j, kv] for j in keys])
        attn = out.reshape(T, H * D) @ s[p + "self_attn.o_proj.weight"].T
        x = x + norm(attn, p + "post_attention_layernorm.weight")
        h = norm(x, p + "pre_feedforward_layernorm.weight")
        mlp = (gelu_tanh(h @ s[p + "mlp.gate_proj.weight"].T) * (h @ s[p + "mlp.up_proj.weight"].T))
        x = x + norm(mlp @ s[p + "mlp.down_proj.weight"].T, p + "post_feedforward_layernorm.weight")
        logits = norm(x, "model.norm.weight") @ s["model.embed_tokens.weight"].T
        logits = torch.tanh(logits / 3.0) * 3.0
        got = hf_llama.load_model(self._dir("g"))(tokens[None])[0].double()
        self.assertLess((got - logits).abs().max().item(), 1e-4)

    def test_geglu_uses_tanh_gelu(self):
        config = hf_families.Config(make_model.make_config(arch="gemma2", hidden=8, intermediate=16, heads=2,
                                                           kv_heads=1))
        mlp = hf_families.MLP(config)
        x = torch.randn(4, 8)
        g, u = mlp.gate_proj(x).double(), mlp.up_proj(x).double()
        gelu = 0.5 * g * (1 + torch.tanh(math.sqrt(2 / math.pi) * (g + 0.044715 * g**3)))
        expected = mlp.down_proj((gelu * u).float())
        self.assertLess((mlp(x) - expected).abs().max().item(), 1e-5)

    def test_soft_caps(self):
        # The golden gemma2 shapes: the caps bind, a huge cap is no cap, and
        # the logits stay inside the final cap.
        args = dict(arch="gemma2", hidden=64, heads=4, kv_heads=2, head_dim=16, query_pre_attn_scalar=24, layers=3,
                    sliding_window=8)
        tokens = list(range(7, 47))
        variants = {"capped": (4.0, 3.0), "none": (None, None), "huge": (1e6, 1e6), "attn-only": (4.0, None)}
        lp = {}
        for name, (attn, final) in variants.items():
            make_model.make_model(self._dir(name), seed=14, attn_softcap=attn, final_softcap=final, **args)
            lp[name] = self._logprobs(name, tokens)
        self.assertLess(self._max_diff(lp["none"], lp["huge"]), 1e-4)
        self.assertGreater(self._max_diff(lp["none"], lp["attn-only"]), 1e-2)
        self.assertGreater(self._max_diff(lp["attn-only"], lp["capped"]), 1e-1)
        logits = hf_llama.load_model(self._dir("capped"))(torch.tensor([tokens]))
        self.assertLess(logits.abs().max().item(), 3.0)
        uncapped = hf_llama.load_model(self._dir("attn-only"))(torch.tensor([tokens]))
        self.assertGreater((uncapped.abs() > 3.0).float().mean().item(), 0.2)

    def test_gemma3_soft_caps_that_transformers_ignores_are_refused(self):
        args = dict(arch="gemma3", hidden=64, heads=4, kv_heads=2, head_dim=16, layers=2)
        with self.assertRaisesRegex(ValueError, "attn_logit_softcapping"):
            hf_families.Config(make_model.make_config(attn_softcap=50.0, **args))
        with self.assertRaisesRegex(ValueError, "final_logit_softcapping"):
            hf_families.Config(make_model.make_config(final_softcap=30.0, nested="new", **args))
        self.assertEqual(hf_families.Config(make_model.make_config(final_softcap=30.0, **args)).final_softcap, 30.0)

    def test_default_layer_patterns(self):
        def windows(**args):
            return hf_families.Config(make_model.make_config(**args)).layer_windows

        w = 8
        self.assertEqual(windows(arch="qwen3", layers=3, use_sliding_window=True, sliding_window=w,
                                 max_window_layers=1), [None, w, w])
        self.assertEqual(windows(arch="qwen3", layers=3, sliding_window=w, max_window_layers=1), [None] * 3)
        self.assertEqual(windows(arch="gemma2", layers=3, sliding_window=w), [w, None, w])
        self.assertEqual(windows(arch="gemma2", layers=3, sliding_window=w,
                                 layer_types=["full_attention", "sliding_attention", "sliding_attention"]),
                         [None, w, w])
        self.assertEqual(windows(arch="gemma3", layers=7, sliding_window=w), [w] * 5 + [None, w])
        self.assertEqual(windows(arch="gemma3", layers=4, sliding_window=w, sliding_window_pattern=3),
                         [w, w, None, w])
        self.assertEqual(windows(arch="phi3", layers=2, sliding_window=w), [w, w])
        self.assertEqual(windows(arch="phi3", layers=2), [None, None])
        self.assertEqual(windows(arch="exaone", layers=2), [None, None])

    def test_sliding_window_sees_exactly_the_last_w_positions(self):
        # RoPE scores depend on relative positions only, so a one-layer model
        # with window w predicts at position t what it predicts at the end of
        # the w tokens ending at t.
        w = 5
        cases = {
            "qwen3": dict(arch="qwen3", use_sliding_window=True, sliding_window=w, max_window_layers=0),
            "gemma2": dict(arch="gemma2", sliding_window=w, attn_softcap=4.0, final_softcap=3.0),
            "gemma3": dict(arch="gemma3", sliding_window=w),
            "phi3": dict(arch="phi3", sliding_window=w),
        }
        tokens = torch.randint(0, 200, (20,), generator=torch.Generator().manual_seed(2)).tolist()
        for name, args in cases.items():
            with self.subTest(name):
                make_model.make_model(self._dir(name), seed=16, heads=4, kv_heads=2, layers=1, **args)
                model = hf_llama.load_model(self._dir(name))
                self.assertEqual(model.config.layer_windows, [w])
                full = model(torch.tensor([tokens]))[0]
                for t in range(w - 1, len(tokens)):
                    part = model(torch.tensor([tokens[t - w + 1 : t + 1]]))[0, -1]
                    self.assertLess((full[t] - part).abs().max().item(), 1e-4, f"position {t}")
                # ... and the window binds: without it the far positions change.
                model.config.layer_windows[0] = None
                model.base().layers[0].self_attn.sliding_window = None
                unwindowed = model(torch.tensor([tokens]))[0]
                self.assertLess((full[:w] - unwindowed[:w]).abs().max().item(), 1e-5)
                self.assertGreater((full[w:] - unwindowed[w:]).abs().max().item(), 1e-2)

    def test_longrope_switches_factors_on_length(self):
        args = dict(arch="phi3", hidden=64, heads=4, kv_heads=2, max_pos=64, original_max_pos=16,
                    rope_scaling="longrope")
        make_model.make_model(self._dir("lr"), seed=17, **args)
        config = make_model.make_config(**args)
        rs = config["rope_scaling"]
        short = dict(config, rope_scaling=dict(rs, long_factor=rs["short_factor"]))
        long = dict(config, rope_scaling=dict(rs, short_factor=rs["long_factor"]))
        su = dict(config, rope_scaling=dict(rs, type="su"))
        for name, c in (("short", short), ("long", long), ("su", su)):
            self._resave("lr", name, c)
        tokens = torch.randint(0, 200, (30,), generator=torch.Generator().manual_seed(3)).tolist()
        for n, same, other in ((16, "short", "long"), (17, "long", "short"), (30, "long", "short")):
            with self.subTest(length=n):
                got = self._logprobs("lr", tokens[:n])
                self.assertLess(self._max_diff(got, self._logprobs(same, tokens[:n])), 1e-6)
                self.assertGreater(self._max_diff(got, self._logprobs(other, tokens[:n])), 1e-3)
                self.assertEqual(got, self._logprobs("su", tokens[:n]))
        rope = hf_families.Config(config).ropes["global"]
        self.assertAlmostEqual(rope.attention_scaling, math.sqrt(1 + math.log(4) / math.log(16)), places=12)
        i = torch.arange(8, dtype=torch.float64)
        for seq_len, key in ((16, "short_factor"), (17, "long_factor")):
            expected = 1 / (torch.tensor(rs[key], dtype=torch.float64) * 10000.0 ** (2 * i / 16))
            self.assertLess((rope.inv_freq(seq_len).double() - expected).abs().max().item(), 1e-7)

    def test_partial_rotary_rotates_pairs_of_the_leading_dims_only(self):
        config = hf_families.Config(make_model.make_config(arch="phi3", hidden=64, heads=4, kv_heads=4,
                                                           partial_rotary_factor=0.75))
        rope = config.ropes["global"]
        self.assertEqual(rope.rotary_dim, 12)
        T, D, R = 9, 16, 12
        q = torch.randn(1, 2, T, D, dtype=torch.float64)
        cos, sin = rope.cos_sin(torch.arange(T)[None], torch.float64)
        got, _ = hf_families.apply_partial_rotary(q, q, cos, sin)
        self.assertTrue(torch.equal(got[..., R:], q[..., R:]))
        # Pair i of the rotated part is (x_i, x_{i + R/2}), turned by t * theta^(-2i/R).
        angles = torch.arange(T, dtype=torch.float64)[:, None] * 10000.0 ** (-2 * torch.arange(R // 2) / R)
        z = torch.complex(q[..., : R // 2], q[..., R // 2 : R]) * torch.polar(torch.ones_like(angles), angles)
        self.assertLess((got[..., : R // 2] - z.real).abs().max().item(), 1e-6)
        self.assertLess((got[..., R // 2 : R] - z.imag).abs().max().item(), 1e-6)
        # longrope scales cos and sin alike.
        lr = hf_families.Config(make_model.make_config(arch="phi3", hidden=64, heads=4, max_pos=64, original_max_pos=16,
                                                       rope_scaling="longrope")).ropes["global"]
        cos, sin = lr.cos_sin(torch.arange(20)[None], torch.float64)
        self.assertLess((cos**2 + sin**2 - lr.attention_scaling**2).abs().max().item(), 1e-6)

    def test_gemma3_local_and_global_rope(self):
        config = hf_families.Config(make_model.make_config(
            arch="gemma3", hidden=64, heads=4, kv_heads=2, head_dim=16, layers=4, sliding_window_pattern=3,
            rope_theta=1_000_000.0, rope_local_base_freq=10_000.0, rope_scaling={"rope_type": "linear", "factor": 8.0}))
        self.assertEqual(config.layer_ropes, ["local", "local", "global", "local"])
        i = torch.arange(8, dtype=torch.float64)
        expect_global = 1 / 1_000_000.0 ** (2 * i / 16) / 8
        expect_local = 1 / 10_000.0 ** (2 * i / 16)
        self.assertLess((config.ropes["global"].inv_freq(1).double() - expect_global).abs().max().item(), 1e-9)
        self.assertLess((config.ropes["local"].inv_freq(1).double() - expect_local).abs().max().item(), 1e-7)

    def test_nested_gemma3_is_its_text_model(self):
        args = dict(arch="gemma3", hidden=64, intermediate=96, layers=7, vocab=150, sliding_window=6,
                    rope_scaling={"rope_type": "linear", "factor": 8.0}, heads=None, kv_heads=None, head_dim=None,
                    query_pre_attn_scalar=None, rope_theta=None)
        for style in ("old", "new"):
            make_model.make_model(self._dir(style), seed=18, nested=style, **args)
        # The text model with Gemma3TextConfig's defaults written out.
        text = make_model.make_config(**dict(args, heads=8, kv_heads=4, head_dim=256, query_pre_attn_scalar=256,
                                             rope_theta=1_000_000.0, sliding_window_pattern=6))
        prefix = "language_model.model."
        self._resave("old", "text", text, lambda s: {"model." + n[len(prefix):]: t for n, t in s.items()
                                                      if n.startswith(prefix)})
        tokens = list(range(3, 40))
        expected = self._logprobs("text", tokens)
        self.assertEqual(self._logprobs("old", tokens), expected)
        self.assertEqual(self._logprobs("new", tokens), expected)
        # Vision tensors are skipped; anything else unknown is refused.
        path = os.path.join(self._dir("new"), "model.safetensors")
        tensors, meta = safetensors_io.load(path)
        tensors["model.audio_tower.w"] = torch.zeros(2)
        safetensors_io.save(path, tensors, meta)
        with self.assertRaises(RuntimeError):
            hf_llama.load_model(self._dir("new"))

    def test_bf16_compute_is_close_to_f32_for_each_family(self):
        cases = {"qwen3": dict(arch="qwen3", head_dim=16), "gemma2": dict(arch="gemma2", attn_softcap=4.0,
                 final_softcap=3.0), "gemma3": dict(arch="gemma3"), "exaone": dict(arch="exaone"),
                 "phi3": dict(arch="phi3", rope_scaling="longrope", original_max_pos=16, max_pos=64)}
        tokens = list(range(5, 35))
        for name, args in cases.items():
            with self.subTest(name):
                make_model.make_model(self._dir(name), seed=19, heads=4, kv_heads=2, **args)
                f32 = self._logprobs(name, tokens)
                bf16 = self._logprobs(name, tokens, torch.bfloat16)
                mean = sum(abs(a - b) for a, b in zip(f32, bf16)) / len(f32)
                self.assertGreater(mean, 0)
                self.assertLess(mean, 0.15)


if __name__ == "__main__":
    unittest.main(verbosity=2)
