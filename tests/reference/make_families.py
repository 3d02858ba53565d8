"""make_model.py's configs and random weights for the families of
hf_families.py: Qwen3, Gemma 2, Gemma 3 (text, and nested in a
Gemma3ForConditionalGeneration checkpoint), EXAONE 3.5 and Phi-3.

Configs carry the keys published checkpoints carry (e.g. Gemma 2's
query_pre_attn_scalar and soft-caps, Phi-3's original_max_position_embeddings
at the top level, EXAONE's num_layers and layer_norm_epsilon). A nested Gemma 3
config has the sparse text_config google/gemma-3-4b-it has, so the
Gemma3TextConfig defaults (8 heads, 4 kv heads, head_dim 256,
query_pre_attn_scalar 256, rope_theta 1e6, sliding_window_pattern 6) decide
whatever the caller leaves as None.

Weights are drawn under Llama-style names and renamed the way each family's
checkpoints name them: EXAONE's transformer.h.N..., Phi-3's fused qkv_proj
(q, k, v rows) and gate_up_proj (gate rows, then up), Gemma 3's
language_model.model. (transformers < 4.52) or model.language_model. prefixes
beside a few small vision tensors. Gemma norms store w for a scale of 1 + w,
so they are drawn around 0.
"""

import torch

import hf_families

FAMILY_ARCHS = ("qwen3", "gemma2", "gemma3", "exaone", "phi3")

_ARCHITECTURES = {
    "qwen3": "Qwen3ForCausalLM",
    "gemma2": "Gemma2ForCausalLM",
    "gemma3": "Gemma3ForCausalLM",
    "exaone": "ExaoneForCausalLM",
    "phi3": "Phi3ForCausalLM",
}
_TORCH_DTYPE = {"F32": "float32", "BF16": "bfloat16", "F16": "float16"}
_VERSION = {"qwen3": "4.51.0", "gemma2": "4.42.0", "gemma3": "4.50.0", "exaone": "4.43.0", "phi3": "4.49.0"}

# Gemma3ForConditionalGeneration: a tiny SigLIP config and tensors that a
# text-only reader must skip.
_VISION_CONFIG = {"hidden_size": 16, "image_size": 28, "intermediate_size": 32, "model_type": "siglip_vision_model",
                  "num_attention_heads": 2, "num_hidden_layers": 1, "patch_size": 14, "vision_use_head": False}


def longrope_scaling(rotary_dim, name="longrope"):
    """A rope_scaling dict like Phi-3's: factors near 1 for short contexts,
    growing to 25 for the lowest frequencies for long ones."""
    n = rotary_dim // 2
    short = [round(1.0 + 0.02 * i, 4) for i in range(n)]
    long = [round(1.0 + 24.0 * (i / max(n - 1, 1)) ** 2, 4) for i in range(n)]
    return {"long_factor": long, "short_factor": short, "type": name}


def make_config(
    arch,
    *,
    hidden,
    intermediate,
    layers,
    heads,
    kv_heads,
    head_dim,
    vocab,
    max_pos,
    rope_theta,
    rope_scaling,
    tie,
    attention_bias,
    sliding_window,
    use_sliding_window,
    max_window_layers,
    rms_norm_eps,
    dtype,
    query_pre_attn_scalar=None,
    attn_softcap=None,
    final_softcap=None,
    layer_types=None,
    sliding_window_pattern=None,
    rope_local_base_freq=10000.0,
    partial_rotary_factor=None,
    original_max_pos=None,
    nested=None,
):
    """The config.json dict of a family checkpoint (called by
    make_model.make_config, which has the defaults). tie=None takes the
    family's default (tied for Gemma and EXAONE). rope_scaling "longrope" or "su" builds
    Phi-3 factor lists. For gemma3 with nested="old"/"new", None for heads,
    kv_heads, head_dim, query_pre_attn_scalar, rope_theta or
    sliding_window_pattern leaves the key out of text_config."""
    if tie is None:
        tie = arch in ("gemma2", "gemma3", "exaone")
    c = base_config(_ARCHITECTURES[arch], arch, _VERSION[arch], hidden=hidden, intermediate=intermediate,
                    layers=layers, heads=heads, kv_heads=kv_heads, vocab=vocab, max_pos=max_pos, rope_theta=rope_theta,
                    rope_scaling=rope_scaling, tie=tie, dtype=dtype)
    if layer_types is not None:
        c["layer_types"] = layer_types
    if arch == "qwen3":
        c.update(head_dim=head_dim or hidden // heads, hidden_act="silu", attention_bias=attention_bias,
                 rms_norm_eps=rms_norm_eps, use_sliding_window=use_sliding_window,
                 sliding_window=sliding_window if use_sliding_window else None,
                 max_window_layers=max_window_layers if max_window_layers is not None else 28)
    elif arch in ("gemma2", "gemma3"):
        head_dim_ = head_dim or (hidden // heads if heads else None)
        c.update(head_dim=head_dim_, hidden_activation="gelu_pytorch_tanh",
                 attention_bias=attention_bias, rms_norm_eps=rms_norm_eps, pad_token_id=0,
                 query_pre_attn_scalar=query_pre_attn_scalar or head_dim_,
                 sliding_window=sliding_window if sliding_window is not None else 4096,
                 attn_logit_softcapping=attn_softcap, final_logit_softcapping=final_softcap,
                 cache_implementation="hybrid", bos_token_id=2, eos_token_id=1)
        # save_pretrained leaves out values equal to PretrainedConfig's (tied).
        if tie:
            del c["tie_word_embeddings"]
        if arch == "gemma2":
            c["hidden_act"] = "gelu_pytorch_tanh"
            del c["rope_scaling"]
        else:
            c.update(model_type="gemma3_text", rope_local_base_freq=rope_local_base_freq, eos_token_id=[1, 106])
            if layer_types is None:
                c["sliding_window_pattern"] = sliding_window_pattern or 6
            if nested:
                return _nested_gemma3(c, tie, dtype, heads, kv_heads, head_dim, query_pre_attn_scalar, rope_theta,
                                      sliding_window_pattern)
    elif arch == "exaone":
        c["num_layers"] = c.pop("num_hidden_layers")
        c.update(activation_function="silu", layer_norm_epsilon=rms_norm_eps, embed_dropout=0.0, pad_token_id=0)
        if head_dim is not None:  # EXAONE 3.5 configs repeat hidden_size / num_attention_heads
            c["head_dim"] = head_dim
    elif arch == "phi3":
        c.update(hidden_act="silu", rms_norm_eps=rms_norm_eps, attention_bias=False, embd_pdrop=0.0, resid_pdrop=0.0,
                 original_max_position_embeddings=original_max_pos or max_pos, sliding_window=sliding_window,
                 pad_token_id=0)
        if partial_rotary_factor is not None:
            c["partial_rotary_factor"] = partial_rotary_factor
        if rope_scaling in ("longrope", "su"):
            rotary_dim = int(hidden // heads * (partial_rotary_factor or 1.0))
            c["rope_scaling"] = longrope_scaling(rotary_dim, rope_scaling)
    return c


def base_config(architecture, model_type, version, *, hidden, intermediate, layers, heads, kv_heads, vocab, max_pos,
                rope_theta, rope_scaling, tie, dtype):
    """The keys every decoder config.json here has, Llama's included."""
    return {
        "architectures": [architecture],
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "max_position_embeddings": max_pos,
        "model_type": model_type,
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "rope_scaling": rope_scaling,
        "rope_theta": rope_theta,
        "tie_word_embeddings": tie,
        "torch_dtype": _TORCH_DTYPE[dtype],
        "transformers_version": version,
        "use_cache": True,
        "vocab_size": vocab,
    }


def _nested_gemma3(text, tie, dtype, heads, kv_heads, head_dim, query_pre_attn_scalar, rope_theta, pattern):
    """Gemma3ForConditionalGeneration's config around the text config `text`,
    which keeps only what gemma-3-4b-it's text_config has plus what was set."""
    keep = ["hidden_size", "intermediate_size", "model_type", "num_hidden_layers", "rope_scaling", "sliding_window",
            "vocab_size", "layer_types"]
    given = {"num_attention_heads": heads, "num_key_value_heads": kv_heads, "head_dim": head_dim,
             "query_pre_attn_scalar": query_pre_attn_scalar, "rope_theta": rope_theta,
             "sliding_window_pattern": pattern}
    text_config = {k: text[k] for k in keep if k in text}
    given["final_logit_softcapping"] = text["final_logit_softcapping"]
    text_config.update({k: v for k, v in given.items() if v is not None})
    if not tie:
        text_config["tie_word_embeddings"] = False
    return {
        "architectures": ["Gemma3ForConditionalGeneration"],
        "boi_token_index": 255999,
        "eoi_token_index": 256000,
        "eos_token_id": [1, 106],
        "image_token_index": 262144,
        "initializer_range": 0.02,
        "mm_tokens_per_image": 4,
        "model_type": "gemma3",
        "text_config": text_config,
        "torch_dtype": _TORCH_DTYPE[dtype],
        "transformers_version": _VERSION["gemma3"],
        "vision_config": dict(_VISION_CONFIG),
    }


def random_state_dict(config, seed, nested=None):
    """HF tensor names and shapes of a family checkpoint, random fp32 values.
    `nested` picks the Gemma 3 multimodal names: "old" or "new"."""
    cfg = hf_families.Config(config)
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std):
        return torch.randn(*shape, generator=g) * std

    def norm(n):
        return randn(n, std=0.1) if cfg.gemma_norm else 1 + randn(n, std=0.1)

    C, F, V = cfg.hidden_size, cfg.intermediate_size, cfg.vocab_size
    H, KV, D = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
    s = {"model.embed_tokens.weight": randn(V, C, std=0.3)}
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        s[p + "input_layernorm.weight"] = norm(C)
        s[p + "post_attention_layernorm.weight"] = norm(C)
        if cfg.gemma_norm:
            s[p + "pre_feedforward_layernorm.weight"] = norm(C)
            s[p + "post_feedforward_layernorm.weight"] = norm(C)
        s[p + "self_attn.q_proj.weight"] = randn(H * D, C, std=0.25)
        s[p + "self_attn.k_proj.weight"] = randn(KV * D, C, std=0.25)
        s[p + "self_attn.v_proj.weight"] = randn(KV * D, C, std=0.15)
        s[p + "self_attn.o_proj.weight"] = randn(C, H * D, std=0.1)
        if cfg.qkv_bias:
            s[p + "self_attn.q_proj.bias"] = randn(H * D, std=0.3)
            s[p + "self_attn.k_proj.bias"] = randn(KV * D, std=0.3)
            s[p + "self_attn.v_proj.bias"] = randn(KV * D, std=0.1)
            s[p + "self_attn.o_proj.bias"] = randn(C, std=0.1)
        if cfg.qk_norm:
            s[p + "self_attn.q_norm.weight"] = norm(D)
            s[p + "self_attn.k_norm.weight"] = norm(D)
        s[p + "mlp.gate_proj.weight"] = randn(F, C, std=0.15)
        s[p + "mlp.up_proj.weight"] = randn(F, C, std=0.15)
        s[p + "mlp.down_proj.weight"] = randn(C, F, std=0.1)
    s["model.norm.weight"] = norm(C)
    if not cfg.tie_word_embeddings:
        s["lm_head.weight"] = randn(V, C, std=0.3)
    if cfg.family == "exaone":
        return exaone_names(s)
    if cfg.fused:
        return fuse_phi3(s, cfg.num_hidden_layers)
    if cfg.nested:
        vision = {
            "vision_tower.vision_model.embeddings.patch_embedding.weight": randn(16, 3, 14, 14, std=0.02),
            "vision_tower.vision_model.post_layernorm.weight": 1 + randn(16, std=0.1),
            "multi_modal_projector.mm_input_projection_weight": randn(16, C, std=0.02),
            "multi_modal_projector.mm_soft_emb_norm.weight": randn(16, std=0.1),
        }
        return nest_gemma3(s, vision, nested)
    return s


_EXAONE_RENAMES = (
    ("model.embed_tokens.", "transformer.wte."),
    ("model.norm.", "transformer.ln_f."),
    ("model.layers.", "transformer.h."),
    (".input_layernorm.", ".ln_1."),
    (".post_attention_layernorm.", ".ln_2."),
    (".self_attn.o_proj.", ".attn.attention.out_proj."),
    (".self_attn.", ".attn.attention."),
    (".mlp.gate_proj.", ".mlp.c_fc_0."),
    (".mlp.up_proj.", ".mlp.c_fc_1."),
    (".mlp.down_proj.", ".mlp.c_proj."),
)


def exaone_names(state):
    """Llama-style names -> EXAONE's (transformer.h.N.attn.attention.q_proj ...)."""
    out = {}
    for name, t in state.items():
        for old, new in _EXAONE_RENAMES:
            name = name.replace(old, new, 1)
        out[name] = t
    return out


def fuse_phi3(state, n_layer):
    """Separate q/k/v and gate/up -> Phi-3's qkv_proj (rows q, k, v) and
    gate_up_proj (rows gate, up)."""
    out = dict(state)
    for i in range(n_layer):
        p = f"model.layers.{i}."
        parts = [out.pop(p + f"self_attn.{n}_proj.weight") for n in "qkv"]
        out[p + "self_attn.qkv_proj.weight"] = torch.cat(parts, dim=0)
        gate, up = out.pop(p + "mlp.gate_proj.weight"), out.pop(p + "mlp.up_proj.weight")
        out[p + "mlp.gate_up_proj.weight"] = torch.cat([gate, up], dim=0)
    return out


def nest_gemma3(state, vision, style):
    """Gemma3ForCausalLM names -> Gemma3ForConditionalGeneration's, with the
    vision tensors beside them. style "old": language_model.model.*,
    language_model.lm_head, vision_tower.*; "new": model.language_model.*,
    lm_head, model.vision_tower.*."""
    if style not in ("old", "new"):
        raise ValueError(f"nested: expected 'old' or 'new', got {style!r}")
    text_prefix = "language_model.model." if style == "old" else "model.language_model."
    head = "language_model.lm_head.weight" if style == "old" else "lm_head.weight"
    out = {}
    for name, t in state.items():
        out[head if name == "lm_head.weight" else text_prefix + name[len("model."):]] = t
    for name, t in vision.items():
        out[name if style == "old" else "model." + name] = t
    return out
