"""An independent re-implementation of the Hugging Face Transformers forward
pass for LlamaForCausalLM, MistralForCausalLM and Qwen2ForCausalLM, in plain
PyTorch, used as the golden reference for `enclave score`.

transformers is not installable on this machine, so this file follows
modeling_llama.py / modeling_mistral.py / modeling_qwen2.py (v4.4x) and
modeling_rope_utils.py line by line, keeping their dtype choices because those
decide the last digits: RMSNorm variance in fp32 then cast back before the
weight multiply; cos/sin computed in fp32 from fp32 inv_freq then cast to the
activation dtype; softmax in fp32 then cast back; the mask adds finfo.min.
Module and parameter names equal HF's, and load_state_dict(strict=True)
checks a checkpoint has exactly HF's tensors with HF's shapes.

Config defaults are those of LlamaConfig / MistralConfig / Qwen2Config.
load_model hands Qwen3, Gemma 2, Gemma 3, EXAONE and Phi-3 directories to
hf_families.py, which builds on the pieces here. Run
`python3 hf_llama.py DIR 1,2,3 [bf16]` to print log-probabilities like
`enclave score --json` does, for any of these families.
"""

import json
import math
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

_ARCH = {
    "LlamaForCausalLM": "llama",
    "MistralForCausalLM": "mistral",
    "Qwen2ForCausalLM": "qwen2",
}


class Config:
    """The fields of a HF config.json the forward pass reads, with HF defaults."""

    def __init__(self, d):
        archs = d.get("architectures") or []
        if archs:
            if archs[0] not in _ARCH:
                raise ValueError(f"unsupported architecture {archs[0]}")
            self.model_type = _ARCH[archs[0]]
        else:
            self.model_type = d["model_type"]
        if d.get("hidden_act", "silu") != "silu":
            raise ValueError(f"unsupported hidden_act {d['hidden_act']}")
        self.vocab_size = d["vocab_size"]
        self.hidden_size = d["hidden_size"]
        self.intermediate_size = d["intermediate_size"]
        self.num_hidden_layers = d["num_hidden_layers"]
        self.num_attention_heads = d["num_attention_heads"]
        self.num_key_value_heads = d.get("num_key_value_heads") or self.num_attention_heads
        self.head_dim = d.get("head_dim") or self.hidden_size // self.num_attention_heads
        self.rms_norm_eps = d.get("rms_norm_eps", 1e-6)
        self.rope_theta = d.get("rope_theta", 10000.0)
        self.rope_scaling = d.get("rope_scaling")
        self.max_position_embeddings = d.get("max_position_embeddings", 2048)
        self.tie_word_embeddings = d.get("tie_word_embeddings", False)
        if self.model_type == "llama":
            self.attention_bias = d.get("attention_bias", False)
            self.mlp_bias = d.get("mlp_bias", False)
        else:
            self.attention_bias = False
            self.mlp_bias = False
        # Qwen2 has q/k/v bias and a bias-free o_proj, whatever the config says.
        self.qkv_bias = self.attention_bias or self.model_type == "qwen2"
        self.sliding_window = None
        self.first_sliding_layer = 0
        if self.model_type == "mistral":
            self.sliding_window = d.get("sliding_window", 4096)
        elif self.model_type == "qwen2" and d.get("use_sliding_window", False):
            self.sliding_window = d.get("sliding_window", 4096)
            self.first_sliding_layer = d.get("max_window_layers", 28)


def default_inv_freq(config):
    """modeling_rope_utils._compute_default_rope_parameters."""
    dim = config.head_dim
    base = config.rope_theta
    return 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))


def llama3_inv_freq(config):
    """modeling_rope_utils._compute_llama3_parameters."""
    inv_freq = default_inv_freq(config)
    rs = config.rope_scaling
    factor = rs["factor"]
    low_freq_factor = rs["low_freq_factor"]
    high_freq_factor = rs["high_freq_factor"]
    old_context_len = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    # wavelen < high_freq_wavelen: do nothing; wavelen > low_freq_wavelen: divide by factor
    inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
    # otherwise: interpolate between the two
    smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
    smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
    is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
    return torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)


def rope_inv_freq(config):
    rs = config.rope_scaling
    kind = None if rs is None else rs.get("rope_type", rs.get("type"))
    if kind in (None, "default"):
        return default_inv_freq(config)
    if kind == "linear":
        return default_inv_freq(config) / rs["factor"]
    if kind == "llama3":
        return llama3_inv_freq(config)
    raise ValueError(f"unsupported rope_scaling {rs}")


class RMSNorm(nn.Module):
    def __init__(self, hidden_size, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(torch.float32)
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class RotaryEmbedding(nn.Module):
    def __init__(self, config):
        super().__init__()
        # Kept in fp32 whatever the model dtype (HF computes it in fp32 and
        # upcasts it again in forward).
        self.inv_freq = rope_inv_freq(config)
        self.attention_scaling = 1.0  # default, linear and llama3 do not rescale

    def forward(self, x, position_ids):
        # x: (B, T, C), position_ids: (B, T) -> cos, sin: (B, T, head_dim)
        inv_freq_expanded = self.inv_freq[None, :, None].float().expand(position_ids.shape[0], -1, 1)
        position_ids_expanded = position_ids[:, None, :].float()
        freqs = (inv_freq_expanded.float() @ position_ids_expanded.float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        cos = emb.cos() * self.attention_scaling
        sin = emb.sin() * self.attention_scaling
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def rotate_half(x):
    x1 = x[..., : x.shape[-1] // 2]
    x2 = x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, unsqueeze_dim=1):
    cos = cos.unsqueeze(unsqueeze_dim)
    sin = sin.unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states, n_rep):
    # (B, n_kv_head, T, head_dim) -> (B, n_kv_head * n_rep, T, head_dim); kv head j
    # serves query heads j*n_rep .. (j+1)*n_rep-1.
    batch, num_key_value_heads, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_key_value_heads, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_key_value_heads * n_rep, slen, head_dim)


def causal_mask(seq_len, dtype, sliding_window=None):
    """(1, 1, T, T) additive mask: 0 where key k is visible from query q, finfo.min elsewhere.

    Visible iff k <= q and (no window or q - k < sliding_window), as HF's
    _prepare_4d_causal_attention_mask_with_cache_position and masking_utils do.
    """
    q = torch.arange(seq_len)[:, None]
    k = torch.arange(seq_len)[None, :]
    hidden = k > q
    if sliding_window is not None:
        hidden = hidden | (q - k >= sliding_window)
    mask = torch.zeros(seq_len, seq_len, dtype=dtype)
    mask.masked_fill_(hidden, torch.finfo(dtype).min)
    return mask[None, None]


class Attention(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        self.head_dim = config.head_dim
        self.num_key_value_groups = config.num_attention_heads // config.num_key_value_heads
        self.scaling = self.head_dim**-0.5
        C = config.hidden_size
        self.q_proj = nn.Linear(C, config.num_attention_heads * self.head_dim, bias=config.qkv_bias)
        self.k_proj = nn.Linear(C, config.num_key_value_heads * self.head_dim, bias=config.qkv_bias)
        self.v_proj = nn.Linear(C, config.num_key_value_heads * self.head_dim, bias=config.qkv_bias)
        self.o_proj = nn.Linear(config.num_attention_heads * self.head_dim, C, bias=config.attention_bias)
        self.sliding_window = config.sliding_window if layer_idx >= config.first_sliding_layer else None

    def forward(self, hidden_states, cos, sin):
        input_shape = hidden_states.shape[:-1]
        hidden_shape = (*input_shape, -1, self.head_dim)
        # (B, T, C) -> (B, n_head, T, head_dim)
        query_states = self.q_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        key_states = self.k_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        value_states = self.v_proj(hidden_states).view(hidden_shape).transpose(1, 2)
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin)

        # eager_attention_forward
        key_states = repeat_kv(key_states, self.num_key_value_groups)
        value_states = repeat_kv(value_states, self.num_key_value_groups)
        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) * self.scaling
        attn_weights = attn_weights + causal_mask(hidden_states.shape[1], attn_weights.dtype, self.sliding_window)
        attn_weights = nn.functional.softmax(attn_weights, dim=-1, dtype=torch.float32).to(query_states.dtype)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous()

        attn_output = attn_output.reshape(*input_shape, -1).contiguous()
        return self.o_proj(attn_output)


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        C, F = config.hidden_size, config.intermediate_size
        self.gate_proj = nn.Linear(C, F, bias=config.mlp_bias)
        self.up_proj = nn.Linear(C, F, bias=config.mlp_bias)
        self.down_proj = nn.Linear(F, C, bias=config.mlp_bias)

    def forward(self, x):
        return self.down_proj(nn.functional.silu(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config, layer_idx):
        super().__init__()
        self.self_attn = Attention(config, layer_idx)
        self.mlp = MLP(config)
        self.input_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(config.hidden_size, config.rms_norm_eps)

    def forward(self, hidden_states, cos, sin):
        residual = hidden_states
        hidden_states = self.input_layernorm(hidden_states)
        hidden_states = self.self_attn(hidden_states, cos, sin)
        hidden_states = residual + hidden_states

        residual = hidden_states
        hidden_states = self.post_attention_layernorm(hidden_states)
        hidden_states = self.mlp(hidden_states)
        return residual + hidden_states


class Model(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.embed_tokens = nn.Embedding(config.vocab_size, config.hidden_size)
        self.layers = nn.ModuleList(DecoderLayer(config, i) for i in range(config.num_hidden_layers))
        self.norm = RMSNorm(config.hidden_size, config.rms_norm_eps)
        self.rotary_emb = RotaryEmbedding(config)

    def forward(self, input_ids):
        hidden_states = self.embed_tokens(input_ids)
        position_ids = torch.arange(input_ids.shape[1])[None].expand(input_ids.shape[0], -1)
        cos, sin = self.rotary_emb(hidden_states, position_ids)
        for layer in self.layers:
            hidden_states = layer(hidden_states, cos, sin)
        return self.norm(hidden_states)


class ForCausalLM(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.model = Model(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        if config.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight

    @torch.no_grad()
    def forward(self, input_ids):
        # input_ids: (B, T) -> logits: (B, T, vocab)
        return self.lm_head(self.model(input_ids))


def load_state_dict(model_dir):
    """All tensors of a HF model directory, from model.safetensors or its shards."""
    index = os.path.join(model_dir, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            weight_map = json.load(f)["weight_map"]
        state = {}
        for shard in sorted(set(weight_map.values())):
            tensors, _ = safetensors_io.load(os.path.join(model_dir, shard))
            for name, t in tensors.items():
                if weight_map.get(name) != shard:
                    raise ValueError(f"{shard}: tensor '{name}' is not mapped to this shard by the index")
                state[name] = t
        missing = set(weight_map) - set(state)
        if missing:
            raise ValueError(f"{index}: tensors not found in any shard: {sorted(missing)}")
        return state
    tensors, _ = safetensors_io.load(os.path.join(model_dir, "model.safetensors"))
    return tensors


def load_model(model_dir, dtype=torch.float32):
    """A ForCausalLM with the directory's weights, cast to `dtype` (bf16 weights
    upcast exactly to fp32 for dtype=float32). The other families' directories
    get hf_families' model."""
    with open(os.path.join(model_dir, "config.json")) as f:
        d = json.load(f)
    import hf_families  # imports this module, so not at the top

    if hf_families.family_of(d) is not None:
        return hf_families.load_model(model_dir, dtype)
    config = Config(d)
    model = ForCausalLM(config)
    state = load_state_dict(model_dir)
    if config.tie_word_embeddings and "lm_head.weight" not in state:
        state["lm_head.weight"] = state["model.embed_tokens.weight"]
    model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()}, strict=True)
    if config.tie_word_embeddings:
        model.lm_head.weight = model.model.embed_tokens.weight
    return model.to(dtype).eval()


def token_logprobs(model, tokens):
    """logprobs[i] = log P(tokens[i+1] | tokens[..i]), log_softmax in fp32 (n-1 values)."""
    ids = torch.tensor([tokens], dtype=torch.long)
    logits = model(ids)[0].float()
    logp = torch.log_softmax(logits, dim=-1)
    return logp[:-1].gather(1, ids[0, 1:, None])[:, 0].tolist()


def main(argv):
    if len(argv) not in (3, 4):
        print("usage: hf_llama.py MODEL_DIR 1,2,3 [f32|bf16]", file=sys.stderr)
        return 2
    dtype = torch.bfloat16 if len(argv) == 4 and argv[3] == "bf16" else torch.float32
    tokens = [int(t) for t in argv[2].split(",")]
    model = load_model(argv[1], dtype)
    print(json.dumps({"tokens": tokens, "logprobs": token_logprobs(model, tokens)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
