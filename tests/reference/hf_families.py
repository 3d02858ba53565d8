"""The golden reference for the model families beyond Llama/Mistral/Qwen2:
Qwen3ForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM and the text part of
Gemma3ForConditionalGeneration, ExaoneForCausalLM (EXAONE 3.x remote code) and
Phi3ForCausalLM (Phi-3, Phi-3.5, Phi-4-mini), in plain PyTorch.

Written from modeling_qwen3.py, modeling_gemma2.py, modeling_gemma3.py,
modeling_phi3.py and modeling_rope_utils.py (transformers 4.4x-4.5x, eager
attention) and LG AI Research's modeling_exaone.py, keeping their dtype
choices. What differs from Llama, family by family:

- Qwen3: RMSNorm over each head's q and k (q_norm/k_norm, weight [head_dim])
  before the rotation; attention_bias puts a bias on q, k, v and o; sliding
  window on layers >= max_window_layers when use_sliding_window (or layer_types).
- Gemma 2: RMSNorm in fp32 scaled by (1 + weight), cast back after the multiply;
  embeddings times sqrt(hidden_size) rounded to the activation dtype; GeGLU with
  tanh-approximated gelu; four norms a layer, post_attention_layernorm on the
  attention output; scores scaled by query_pre_attn_scalar**-0.5 and
  soft-capped (tanh(x / c) * c, before the mask); logits soft-capped; layer i
  slides iff (i + 1) % 2 != 0 unless layer_types says otherwise.
- Gemma 3: Gemma 2 plus (1 + w) norms on q and k heads; layer i slides iff
  (i + 1) % sliding_window_pattern != 0; sliding layers rotate with
  rope_local_base_freq and no scaling, full layers with rope_theta and
  rope_scaling; final_logit_softcapping applies when set. Configs setting
  attn_logit_softcapping (which Gemma3Attention ignores) or, nested, a final
  cap (applied by transformers 4.50, not by >= 4.52) are refused.
- EXAONE: Llama under other names (transformer.wte, h.N.ln_1,
  attn.attention.{q,k,v,out}_proj, ln_2, mlp.c_fc_0 (gate) / c_fc_1 (up) /
  c_proj, ln_f) and config keys (num_layers, layer_norm_epsilon (default
  1e-5), activation_function); head_dim is hidden_size / num_attention_heads;
  embeddings tied unless the config says otherwise.
- Phi-3: fused qkv_proj (rows q, k, v) and gate_up_proj (gate rows first,
  up * silu(gate)); rotation of the first head_dim * partial_rotary_factor dims
  only; longrope ("su" in older configs): inverse frequencies divided by
  short_factor, or by long_factor when the sequence (max position + 1) is longer
  than original_max_position_embeddings, cos and sin both times
  sqrt(1 + ln(s) / ln(original)) with s = max_position_embeddings / original;
  sliding_window, if set, on every layer.
"""

import json
import math
import os
import types

import torch
from torch import nn

import hf_llama

# architectures[0] -> family; the family also names the model_type fallback.
ARCHITECTURES = {
    "Qwen3ForCausalLM": "qwen3",
    "Gemma2ForCausalLM": "gemma2",
    "Gemma3ForCausalLM": "gemma3_text",
    "Gemma3ForConditionalGeneration": "gemma3",
    "ExaoneForCausalLM": "exaone",
    "Phi3ForCausalLM": "phi3",
}
FAMILIES = set(ARCHITECTURES.values())

# Config defaults of Qwen3Config, Gemma2Config, Gemma3TextConfig, ExaoneConfig
# and Phi3Config for the fields the forward pass reads.
_DEFAULTS = {
    "qwen3": dict(head_dim=128, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=False,
                  max_position_embeddings=32768, attention_bias=False, use_sliding_window=False,
                  sliding_window=4096, max_window_layers=28, hidden_act="silu", num_key_value_heads=32),
    "gemma2": dict(head_dim=256, rms_norm_eps=1e-6, rope_theta=10000.0, tie_word_embeddings=True,
                   max_position_embeddings=8192, attention_bias=False, query_pre_attn_scalar=256,
                   sliding_window=4096, attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                   hidden_activation="gelu_pytorch_tanh", num_attention_heads=8, num_key_value_heads=4),
    "gemma3_text": dict(head_dim=256, rms_norm_eps=1e-6, rope_theta=1_000_000.0, tie_word_embeddings=True,
                        max_position_embeddings=131_072, attention_bias=False, query_pre_attn_scalar=256,
                        sliding_window=4096, attn_logit_softcapping=None, final_logit_softcapping=None,
                        hidden_activation="gelu_pytorch_tanh", num_attention_heads=8, num_key_value_heads=4,
                        vocab_size=262_208, rope_local_base_freq=10_000.0, sliding_window_pattern=6),
    "exaone": dict(rope_theta=10000.0, tie_word_embeddings=True, max_position_embeddings=2048,
                   activation_function="silu", layer_norm_epsilon=1e-5),
    "phi3": dict(rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=False, max_position_embeddings=4096,
                 original_max_position_embeddings=4096, partial_rotary_factor=1.0, sliding_window=None,
                 hidden_act="silu"),
}

# Module names: HF's Llama-style names, or EXAONE's.
_NAMES = {
    "standard": dict(base="model", embed="embed_tokens", layers="layers", norm="norm", ln_1="input_layernorm",
                     attn="self_attn", ln_2="post_attention_layernorm", o="o_proj",
                     mlp=("gate_proj", "up_proj", "down_proj")),
    "exaone": dict(base="transformer", embed="wte", layers="h", norm="ln_f", ln_1="ln_1", attn="attn", ln_2="ln_2",
                   o="out_proj", mlp=("c_fc_0", "c_fc_1", "c_proj")),
}

# Gemma3ForConditionalGeneration checkpoints: {prefix: replacement}, for the
# names transformers < 4.52 wrote and the ones it writes since.
_GEMMA3_TEXT_PREFIXES = {
    "language_model.model.": "model.",
    "language_model.lm_head.": "lm_head.",
    "model.language_model.": "model.",
}
_GEMMA3_VISION_PREFIXES = ("vision_tower.", "multi_modal_projector.", "model.vision_tower.",
                           "model.multi_modal_projector.")


def family_of(d):
    """The family of a config.json dict, or None for the Llama-style ones."""
    archs = d.get("architectures") or []
    if archs:
        return ARCHITECTURES.get(archs[0])
    return d.get("model_type") if d.get("model_type") in FAMILIES else None


class Rope:
    """One rotary table: inverse frequencies for the first `rotary_dim` dims of a
    head, the cos/sin scale, and longrope's short/long switch."""

    def __init__(self, rotary_dim, theta, scaling, max_position_embeddings, original_max_position_embeddings=None):
        self.rotary_dim = rotary_dim
        self.attention_scaling = 1.0
        kind = None if scaling is None else scaling.get("rope_type", scaling.get("type"))
        self.longrope = kind == "longrope"
        if not self.longrope:
            # default, linear and llama3, computed as hf_llama does for Llama.
            cfg = types.SimpleNamespace(head_dim=rotary_dim, rope_theta=theta, rope_scaling=scaling)
            self.short_inv_freq = self.long_inv_freq = hf_llama.rope_inv_freq(cfg)
            self.original = None
            return
        # modeling_rope_utils._compute_longrope_parameters
        n = rotary_dim // 2
        for key in ("short_factor", "long_factor"):
            if len(scaling.get(key) or []) != n:
                raise ValueError(f"rope_scaling.{key}: expected {n} numbers (rotary dim {rotary_dim} / 2), "
                                 f"got {scaling.get(key)!r:.80}")
        if "factor" in scaling:
            raise ValueError("rope_scaling.factor: longrope with an explicit factor is read differently by "
                             "transformers versions; Phi-3 configs leave it out")
        self.original = original_max_position_embeddings
        factor = max_position_embeddings / self.original
        attention_factor = scaling.get("attention_factor")
        if attention_factor is None:
            attention_factor = 1.0 if factor <= 1.0 else math.sqrt(1 + math.log(factor) / math.log(self.original))
        self.attention_scaling = attention_factor
        shape = torch.arange(0, rotary_dim, 2, dtype=torch.int64).float() / rotary_dim
        self.short_inv_freq = 1.0 / (torch.tensor(scaling["short_factor"], dtype=torch.float32) * theta**shape)
        self.long_inv_freq = 1.0 / (torch.tensor(scaling["long_factor"], dtype=torch.float32) * theta**shape)

    def inv_freq(self, seq_len):
        """longrope_frequency_update: long factors once max(position) + 1 > original."""
        if self.longrope and seq_len > self.original:
            return self.long_inv_freq
        return self.short_inv_freq

    def cos_sin(self, position_ids, dtype):
        # position_ids: (B, T) -> cos, sin: (B, T, rotary_dim), fp32 math then cast.
        inv_freq = self.inv_freq(int(position_ids.max()) + 1)
        inv_freq_expanded = inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        freqs = (inv_freq_expanded @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos.to(dtype), sin.to(dtype)


def apply_partial_rotary(q, k, cos, sin):
    """modeling_phi3.apply_rotary_pos_emb: rotate the first cos.shape[-1] dims,
    pass the rest through (the whole head when the table spans it)."""
    rot = cos.shape[-1]
    q_embed, k_embed = hf_llama.apply_rotary_pos_emb(q[..., :rot], k[..., :rot], cos, sin)
    return torch.cat([q_embed, q[..., rot:]], dim=-1), torch.cat([k_embed, k[..., rot:]], dim=-1)


def _layer_types(d, n_layer, default):
    types_ = d.get("layer_types") or default
    if len(types_) != n_layer or any(t not in ("full_attention", "sliding_attention") for t in types_):
        raise ValueError(f"layer_types: expected {n_layer} of 'full_attention'/'sliding_attention', got {types_}")
    return types_


class Config:
    """The fields of a family's config.json the forward pass reads, with the
    family's defaults; nested Gemma 3 configs read text_config."""

    def __init__(self, d):
        self.family = family_of(d)
        if self.family is None:
            raise ValueError(f"not a family handled here: architectures {d.get('architectures')}, "
                             f"model_type {d.get('model_type')}")
        self.nested = self.family == "gemma3"
        if self.nested:
            if not isinstance(d.get("text_config"), dict):
                raise ValueError("Gemma3ForConditionalGeneration config: 'text_config' is missing")
            d = d["text_config"]
            self.family = "gemma3_text"
        fam = self.family
        defaults = _DEFAULTS[fam]

        def get(key, *fallback_keys):
            for k in (key, *fallback_keys):
                if k in d:
                    return d[k]
            if key in defaults:
                return defaults[key]
            raise ValueError(f"config.json: '{key}' is missing and {fam} has no default for it")

        self.names = _NAMES["exaone" if fam == "exaone" else "standard"]
        self.vocab_size = get("vocab_size")
        self.hidden_size = get("hidden_size")
        self.intermediate_size = get("intermediate_size")
        self.num_hidden_layers = get("num_layers") if fam == "exaone" else get("num_hidden_layers")
        self.num_attention_heads = get("num_attention_heads")
        # An explicit null means "as many as the query heads", a missing key the family default.
        kv = d["num_key_value_heads"] if "num_key_value_heads" in d else defaults.get("num_key_value_heads")
        self.num_key_value_heads = kv or self.num_attention_heads
        if fam in ("exaone", "phi3"):
            # Their modelling code derives head_dim; a config.json may repeat it.
            self.head_dim = self.hidden_size // self.num_attention_heads
            if d.get("head_dim") not in (None, self.head_dim):
                raise ValueError(f"config.json: head_dim {d['head_dim']} differs from hidden_size / "
                                 f"num_attention_heads = {self.head_dim}, which {fam} uses")
        else:
            self.head_dim = get("head_dim")
        self.rms_norm_eps = get("layer_norm_epsilon") if fam == "exaone" else get("rms_norm_eps")
        self.max_position_embeddings = get("max_position_embeddings")
        self.tie_word_embeddings = get("tie_word_embeddings")
        act = get("activation_function") if fam == "exaone" else \
            get("hidden_activation") if fam.startswith("gemma") else get("hidden_act")
        if act not in ("silu", "gelu_pytorch_tanh"):
            raise ValueError(f"config.json: unsupported activation {act!r}")
        self.act = act

        gemma = fam.startswith("gemma")
        self.gemma_norm = gemma  # (1 + w) in fp32, four norms a layer, scaled embeddings
        self.qk_norm = fam in ("qwen3", "gemma3_text")
        self.fused = fam == "phi3"
        bias = fam in ("qwen3", "gemma2", "gemma3_text") and get("attention_bias")
        self.qkv_bias = self.o_bias = bool(bias)
        self.scaling = get("query_pre_attn_scalar") ** -0.5 if gemma else self.head_dim**-0.5
        self.attn_softcap = get("attn_logit_softcapping") if fam == "gemma2" else None
        self.final_softcap = get("final_logit_softcapping") if gemma else None
        # Gemma 3 configs leave both null. transformers >= 4.52 reads neither in
        # Gemma3ForConditionalGeneration and never hands the attention cap to
        # the attention function; 4.50's nested Gemma3ForCausalLM capped the
        # logits. Refused rather than guessed.
        if fam == "gemma3_text" and get("attn_logit_softcapping") is not None:
            raise ValueError("config.json: attn_logit_softcapping is set, but Gemma3Attention does not apply it")
        if self.nested and self.final_softcap is not None:
            raise ValueError("config.json: text_config.final_logit_softcapping is set; transformers versions "
                             "disagree on whether Gemma3ForConditionalGeneration applies it")

        n = self.num_hidden_layers
        if fam == "qwen3":
            window = get("sliding_window") if get("use_sliding_window") else None
            first = get("max_window_layers")
            lt = _layer_types(d, n, ["sliding_attention" if window is not None and i >= first else "full_attention"
                                     for i in range(n)])
        elif fam == "gemma2":
            window = get("sliding_window")
            lt = _layer_types(d, n, ["sliding_attention" if (i + 1) % 2 != 0 else "full_attention"
                                     for i in range(n)])
        elif fam == "gemma3_text":
            window = get("sliding_window")
            pattern = get("sliding_window_pattern")
            lt = _layer_types(d, n, ["sliding_attention" if (i + 1) % pattern != 0 else "full_attention"
                                     for i in range(n)])
        elif fam == "phi3":
            window = get("sliding_window")
            lt = ["sliding_attention"] * n
        else:
            window, lt = None, ["full_attention"] * n
        self.layer_windows = [window if t == "sliding_attention" else None for t in lt]

        theta = get("rope_theta")
        scaling = d.get("rope_scaling")
        if scaling is not None and scaling.get("rope_type", scaling.get("type")) == "su":
            scaling = dict(scaling, type="longrope", rope_type="longrope")  # Phi3Config's rename of the older name
        kind = None if scaling is None else scaling.get("rope_type", scaling.get("type"))
        if kind not in (None, "default", "linear", "llama3", "longrope") or (kind == "longrope" and fam != "phi3"):
            raise ValueError(f"config.json: rope_scaling {scaling} is not supported for {fam}")
        rotary_dim = self.head_dim
        original = None
        if fam == "phi3":
            rotary_dim = int(self.head_dim * get("partial_rotary_factor"))
            original = get("original_max_position_embeddings")
            if scaling is not None and scaling.get("original_max_position_embeddings", original) != original:
                raise ValueError("config.json: original_max_position_embeddings differs from rope_scaling's")
        self.ropes = {"global": Rope(rotary_dim, theta, scaling, self.max_position_embeddings, original)}
        self.layer_ropes = ["global"] * n
        if fam == "gemma3_text":
            self.ropes["local"] = Rope(rotary_dim, get("rope_local_base_freq"), None, self.max_position_embeddings)
            self.layer_ropes = ["local" if t == "sliding_attention" else "global" for t in lt]


class GemmaRMSNorm(nn.Module):
    """Gemma2RMSNorm / Gemma3RMSNorm: (x * rsqrt(mean(x^2) + eps)) * (1 + w) in fp32, then cast."""

    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        xf = x.float()
        output = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)
        output = output * (1.0 + self.weight.float())
        return output.type_as(x)


def _norm(config, dim):
    if config.gemma_norm:
        return GemmaRMSNorm(dim, config.rms_norm_eps)
    return hf_llama.RMSNorm(dim, config.rms_norm_eps)


class Attention(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        C, D = config.hidden_size, config.head_dim
        self.n_head, self.n_kv_head, self.head_dim = config.num_attention_heads, config.num_key_value_heads, D
        self.fused = config.fused
        if self.fused:
            self.qkv_proj = nn.Linear(C, (self.n_head + 2 * self.n_kv_head) * D, bias=False)
        else:
            self.q_proj = nn.Linear(C, self.n_head * D, bias=config.qkv_bias)
            self.k_proj = nn.Linear(C, self.n_kv_head * D, bias=config.qkv_bias)
            self.v_proj = nn.Linear(C, self.n_kv_head * D, bias=config.qkv_bias)
        self.o_name = config.names["o"]
        setattr(self, self.o_name, nn.Linear(self.n_head * D, C, bias=config.o_bias))
        self.qk_norm = config.qk_norm
        if self.qk_norm:
            self.q_norm = _norm(config, D)
            self.k_norm = _norm(config, D)
        self.scaling = config.scaling
        self.softcap = config.attn_softcap
        self.sliding_window = config.layer_windows[layer_idx]
        self.rope = config.layer_ropes[layer_idx]

    def forward(self, x, rope_tables):
        B, T, _ = x.shape
        D = self.head_dim
        if self.fused:
            qkv = self.qkv_proj(x)
            q_end, k_end = self.n_head * D, (self.n_head + self.n_kv_head) * D
            q, k, v = qkv[..., :q_end], qkv[..., q_end:k_end], qkv[..., k_end:]
        else:
            q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        # (B, T, n*D) -> (B, T, n, D); the q/k norms act on the last dim.
        q, k, v = q.view(B, T, -1, D), k.view(B, T, -1, D), v.view(B, T, -1, D)
        if self.qk_norm:
            q, k = self.q_norm(q), self.k_norm(k)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)
        cos, sin = rope_tables[self.rope]
        q, k = apply_partial_rotary(q, k, cos, sin)

        n_rep = self.n_head // self.n_kv_head
        k, v = hf_llama.repeat_kv(k, n_rep), hf_llama.repeat_kv(v, n_rep)
        scores = torch.matmul(q, k.transpose(2, 3)) * self.scaling
        if self.softcap is not None:
            scores = torch.tanh(scores / self.softcap) * self.softcap
        scores = scores + hf_llama.causal_mask(T, scores.dtype, self.sliding_window)
        probs = nn.functional.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, -1)
        return getattr(self, self.o_name)(out)


class ExaoneAttentionBlock(nn.Module):
    """EXAONE's extra level: h.N.attn.attention.q_proj."""

    def __init__(self, config, layer_idx):
        super().__init__()
        self.attention = Attention(config, layer_idx)

    def forward(self, x, rope_tables):
        return self.attention(x, rope_tables)


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        C, F = config.hidden_size, config.intermediate_size
        self.fused = config.fused
        self.names = config.names["mlp"]
        if self.fused:
            self.gate_up_proj = nn.Linear(C, 2 * F, bias=False)
            self.down_proj = nn.Linear(F, C, bias=False)
        else:
            gate, up, down = self.names
            setattr(self, gate, nn.Linear(C, F, bias=False))
            setattr(self, up, nn.Linear(C, F, bias=False))
            setattr(self, down, nn.Linear(F, C, bias=False))
        if config.act == "silu":
            self.act = nn.functional.silu
        else:
            self.act = lambda t: nn.functional.gelu(t, approximate="tanh")

    def forward(self, x):
        if self.fused:
            gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
            return self.down_proj(up * self.act(gate))
        gate, up, down = (getattr(self, n) for n in self.names)
        return down(self.act(gate(x)) * up(x))


class DecoderLayer(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        names = config.names
        self.n = names
        setattr(self, names["ln_1"], _norm(config, config.hidden_size))
        attn = ExaoneAttentionBlock if config.family == "exaone" else Attention
        setattr(self, names["attn"], attn(config, layer_idx))
        setattr(self, names["ln_2"], _norm(config, config.hidden_size))
        self.mlp = MLP(config)
        self.sandwich = config.gemma_norm
        if self.sandwich:
            self.pre_feedforward_layernorm = _norm(config, config.hidden_size)
            self.post_feedforward_layernorm = _norm(config, config.hidden_size)

    def forward(self, x, rope_tables):
        ln_1, attn, ln_2 = (getattr(self, self.n[k]) for k in ("ln_1", "attn", "ln_2"))
        if self.sandwich:
            # Gemma: post_attention_layernorm normalises the attention output.
            x = x + ln_2(attn(ln_1(x), rope_tables))
            return x + self.post_feedforward_layernorm(self.mlp(self.pre_feedforward_layernorm(x)))
        x = x + attn(ln_1(x), rope_tables)
        return x + self.mlp(ln_2(x))


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        names = config.names
        setattr(self, names["embed"], nn.Embedding(config.vocab_size, config.hidden_size))
        setattr(self, names["layers"], nn.ModuleList(DecoderLayer(config, i) for i in range(config.num_hidden_layers)))
        setattr(self, names["norm"], _norm(config, config.hidden_size))

    def embed(self):
        return getattr(self, self.config.names["embed"])

    def forward(self, input_ids):
        names = self.config.names
        h = self.embed()(input_ids)
        if self.config.gemma_norm:
            # sqrt(hidden_size) rounded to the activation dtype first, as HF does.
            h = h * torch.tensor(self.config.hidden_size**0.5, dtype=h.dtype)
        position_ids = torch.arange(input_ids.shape[1])[None].expand(input_ids.shape[0], -1)
        tables = {key: rope.cos_sin(position_ids, h.dtype) for key, rope in self.config.ropes.items()}
        for layer in getattr(self, names["layers"]):
            h = layer(h, tables)
        return getattr(self, names["norm"])(h)


class ForCausalLM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        setattr(self, config.names["base"], Model(config))
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.tie()

    def base(self):
        return getattr(self, self.config.names["base"])

    def tie(self):
        if self.config.tie_word_embeddings:
            self.lm_head.weight = self.base().embed().weight

    @torch.no_grad()
    def forward(self, input_ids):
        # input_ids: (B, T) -> logits: (B, T, vocab)
        logits = self.lm_head(self.base()(input_ids))
        cap = self.config.final_softcap
        if cap is not None:
            logits = torch.tanh(logits / cap) * cap
        return logits


def text_state_dict(state, nested):
    """The state dict under Gemma3ForCausalLM names: a nested checkpoint's
    language-model tensors renamed, its vision tensors dropped. Other names
    are kept, so a strict load reports them."""
    if not nested:
        return state
    out = {}
    for name, t in state.items():
        if name.startswith(_GEMMA3_VISION_PREFIXES):
            continue
        new = name
        for prefix, repl in _GEMMA3_TEXT_PREFIXES.items():
            if name.startswith(prefix):
                new = repl + name[len(prefix):]
                break
        if new in out:
            raise ValueError(f"tensor '{name}' and another both map to '{new}'")
        out[new] = t
    return out


def load_model(model_dir, dtype=torch.float32):
    with open(os.path.join(model_dir, "config.json")) as f:
        config = Config(json.load(f))
    model = ForCausalLM(config)
    state = text_state_dict(hf_llama.load_state_dict(model_dir), config.nested)
    embed_name = f"{config.names['base']}.{config.names['embed']}.weight"
    if config.tie_word_embeddings and "lm_head.weight" not in state and embed_name in state:
        state["lm_head.weight"] = state[embed_name]
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
    model.tie()
    return model.to(dtype).eval()
