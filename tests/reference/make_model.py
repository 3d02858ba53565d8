"""Writes random-weight model directories the way Hugging Face
`save_pretrained` does: config.json with the fields transformers writes (keys
sorted, as PretrainedConfig.to_json_string does), model.safetensors with
__metadata__ {"format": "pt"} and no lm_head.weight when the embeddings are
tied, or shards model-0000i-of-0000n.safetensors plus
model.safetensors.index.json. No tokenizer files: golden tests pass token ids. Qwen3, Gemma 2/3, EXAONE and
Phi-3 configs and weights come from make_families.py.

Weights are scaled so that errors show: projections wide enough that attention
is far from uniform, an lm_head that gives peaked distributions, norm weights
1 + 0.1 * randn and non-zero biases.

    python3 make_model.py OUT_DIR --arch llama --kv-heads 2 --dtype BF16 --shards 2
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_families  # noqa: E402
import safetensors_io  # noqa: E402

_ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM", "qwen2": "Qwen2ForCausalLM"}
_DTYPE = {"F32": torch.float32, "BF16": torch.bfloat16, "F16": torch.float16}


def make_config(
    arch="llama",
    hidden=64,
    intermediate=160,
    layers=2,
    heads=8,
    kv_heads=2,
    head_dim=None,
    vocab=200,
    max_pos=256,
    rope_theta=10000.0,
    rope_scaling=None,
    tie=None,
    attention_bias=False,
    mlp_bias=False,
    sliding_window=None,
    use_sliding_window=False,
    max_window_layers=None,
    rms_norm_eps=None,
    dtype="F32",
    **family_args,
):
    """The config.json dict HF writes for these settings. tie=None: the
    architecture's default (tied for Gemma and EXAONE); rms_norm_eps=None: 1e-5
    for Llama, Mistral and Qwen2, 1e-6 for the others. family_args are
    make_families.make_config's own (soft-caps, layer_types, longrope, ...)."""
    common = dict(hidden=hidden, intermediate=intermediate, layers=layers, heads=heads, kv_heads=kv_heads,
                  head_dim=head_dim, vocab=vocab, max_pos=max_pos, rope_theta=rope_theta, rope_scaling=rope_scaling,
                  attention_bias=attention_bias, sliding_window=sliding_window, use_sliding_window=use_sliding_window,
                  max_window_layers=max_window_layers, dtype=dtype)
    if arch in make_families.FAMILY_ARCHS:
        if mlp_bias:
            raise ValueError(f"mlp_bias: {arch} has no MLP bias")
        return make_families.make_config(arch, tie=tie, rms_norm_eps=1e-6 if rms_norm_eps is None else rms_norm_eps,
                                         **common, **family_args)
    if family_args:
        raise ValueError(f"{sorted(family_args)}: only for {', '.join(make_families.FAMILY_ARCHS)}")
    return llama_config(arch, tie=bool(tie), mlp_bias=mlp_bias, rms_norm_eps=1e-5 if rms_norm_eps is None else
                        rms_norm_eps, **common)


def llama_config(arch, *, hidden, intermediate, layers, heads, kv_heads, head_dim, vocab, max_pos, rope_theta,
                 rope_scaling, tie, attention_bias, mlp_bias, sliding_window, use_sliding_window, max_window_layers,
                 rms_norm_eps, dtype):
    """Llama, Mistral and Qwen2 configs."""
    c = make_families.base_config(_ARCHITECTURES[arch], arch, "4.46.0", hidden=hidden, intermediate=intermediate,
                                  layers=layers, heads=heads, kv_heads=kv_heads, vocab=vocab, max_pos=max_pos,
                                  rope_theta=rope_theta, rope_scaling=rope_scaling, tie=tie, dtype=dtype)
    c.update(hidden_act="silu", rms_norm_eps=rms_norm_eps)
    # Llama and Mistral configs always carry head_dim; Qwen2's only when set
    # (Qwen3-style checkpoints).
    if arch in ("llama", "mistral") or head_dim is not None:
        c["head_dim"] = head_dim if head_dim is not None else hidden // heads
    if arch == "llama":
        c["attention_bias"] = attention_bias
        c["mlp_bias"] = mlp_bias
        c["pretraining_tp"] = 1
    if arch == "mistral":
        c["sliding_window"] = sliding_window
    if arch == "qwen2":
        c["use_sliding_window"] = use_sliding_window
        c["sliding_window"] = sliding_window if sliding_window is not None else 4096
        c["max_window_layers"] = max_window_layers if max_window_layers is not None else 28
    return c


def random_state_dict(config, seed, nested=None):
    """HF tensor names and shapes for `config`, random values in fp32 (`nested`:
    the Gemma 3 multimodal naming, see make_families.random_state_dict)."""
    if make_families.hf_families.family_of(config) is not None:
        return make_families.random_state_dict(config, seed, nested)
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std):
        return torch.randn(*shape, generator=g) * std

    C = config["hidden_size"]
    F = config["intermediate_size"]
    V = config["vocab_size"]
    H = config["num_attention_heads"]
    KV = config["num_key_value_heads"]
    D = config.get("head_dim") or C // H
    arch = config["model_type"]
    qkv_bias = arch == "qwen2" or config.get("attention_bias", False)
    o_bias = config.get("attention_bias", False)
    mlp_bias = config.get("mlp_bias", False)

    # Small enough that tied embeddings still give logits of a few units.
    s = {"model.embed_tokens.weight": randn(V, C, std=0.3)}
    for i in range(config["num_hidden_layers"]):
        p = f"model.layers.{i}."
        s[p + "input_layernorm.weight"] = 1 + randn(C, std=0.1)
        s[p + "post_attention_layernorm.weight"] = 1 + randn(C, std=0.1)
        s[p + "self_attn.q_proj.weight"] = randn(H * D, C, std=0.25)
        s[p + "self_attn.k_proj.weight"] = randn(KV * D, C, std=0.25)
        s[p + "self_attn.v_proj.weight"] = randn(KV * D, C, std=0.15)
        s[p + "self_attn.o_proj.weight"] = randn(C, H * D, std=0.1)
        if qkv_bias:
            s[p + "self_attn.q_proj.bias"] = randn(H * D, std=0.3)
            s[p + "self_attn.k_proj.bias"] = randn(KV * D, std=0.3)
            s[p + "self_attn.v_proj.bias"] = randn(KV * D, std=0.1)
        if o_bias:
            s[p + "self_attn.o_proj.bias"] = randn(C, std=0.1)
        s[p + "mlp.gate_proj.weight"] = randn(F, C, std=0.15)
        s[p + "mlp.up_proj.weight"] = randn(F, C, std=0.15)
        s[p + "mlp.down_proj.weight"] = randn(C, F, std=0.1)
        if mlp_bias:
            s[p + "mlp.gate_proj.bias"] = randn(F, std=0.1)
            s[p + "mlp.up_proj.bias"] = randn(F, std=0.1)
            s[p + "mlp.down_proj.bias"] = randn(C, std=0.1)
    s["model.norm.weight"] = 1 + randn(C, std=0.1)
    if not config["tie_word_embeddings"]:
        s["lm_head.weight"] = randn(V, C, std=0.3)
    return s


def _shard_names(state, n_shards):
    """Splits names in HF state-dict order (embeddings, layers, norm, head) into
    n_shards contiguous groups of roughly equal byte size."""
    names = list(state)
    total = sum(state[n].numel() for n in names)
    shards = [[] for _ in range(n_shards)]
    done = 0
    for name in names:
        idx = min(n_shards - 1, done * n_shards // total)
        shards[idx].append(name)
        done += state[name].numel()
    return [s for s in shards if s]


def save_model(out_dir, config, state, dtype="F32", shards=1):
    """Writes config.json and the weights (cast to dtype) under out_dir."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    stored = {k: v.to(_DTYPE[dtype]) for k, v in state.items()}
    meta = {"format": "pt"}
    if shards <= 1:
        safetensors_io.save(os.path.join(out_dir, "model.safetensors"), stored, meta)
        return
    groups = _shard_names(stored, shards)
    weight_map = {}
    for i, names in enumerate(groups):
        file = f"model-{i + 1:05d}-of-{len(groups):05d}.safetensors"
        safetensors_io.save(os.path.join(out_dir, file), {n: stored[n] for n in names}, meta)
        weight_map.update({n: file for n in names})
    total_size = sum(t.numel() * t.element_size() for t in stored.values())
    index = {"metadata": {"total_size": total_size}, "weight_map": dict(sorted(weight_map.items()))}
    with open(os.path.join(out_dir, "model.safetensors.index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")


def make_model(out_dir, seed=0, shards=1, **config_args):
    """Builds and saves a random model; returns its config dict."""
    config = make_config(**config_args)
    state = random_state_dict(config, seed, config_args.get("nested"))
    save_model(out_dir, config, state, config_args.get("dtype", "F32"), shards)
    return config


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--arch", choices=sorted([*_ARCHITECTURES, *make_families.FAMILY_ARCHS]), default="llama")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--intermediate", type=int, default=160)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=2)
    ap.add_argument("--head-dim", type=int)
    ap.add_argument("--vocab", type=int, default=200)
    ap.add_argument("--max-pos", type=int, default=256)
    ap.add_argument("--tie", action="store_true")
    ap.add_argument("--dtype", choices=sorted(_DTYPE), default="F32")
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    make_model(
        a.out_dir, seed=a.seed, shards=a.shards, arch=a.arch, hidden=a.hidden, intermediate=a.intermediate,
        layers=a.layers, heads=a.heads, kv_heads=a.kv_heads, head_dim=a.head_dim, vocab=a.vocab,
        max_pos=a.max_pos, tie=a.tie, dtype=a.dtype,
    )


if __name__ == "__main__":
    main()
