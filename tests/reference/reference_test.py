"""Self-tests of the golden reference (hf_llama.py, make_model.py,
safetensors_io.py): a wrong reference would make the golden test agree with a
wrong engine, so each convention is checked against a second, independent
formulation (Meta's original Llama code for RoPE and llama3 scaling, plain MHA
for GQA, prefixes for causality).

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


class ForwardTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()

    def tearDown(self):
        self.tmp.cleanup()

    def _dir(self, name):
        return os.path.join(self.tmp.name, name)

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


if __name__ == "__main__":
    unittest.main(verbosity=2)
