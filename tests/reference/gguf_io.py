"""A plain reader of GGUF v3 files (llama.cpp's format), independent of
Enclave's writer, for the export tests: metadata, tensor infos (dims
innermost first, as ggml stores them), and tensor values dequantised to
float32 the way ggml's reference dequantisers do (F32, F16, BF16, Q8_0,
Q4_0, and the K-quants Q4_K and Q6_K of llama.cpp's Q4_K_M files).

    python3 gguf_io.py FILE.gguf   # prints the metadata and tensor list
"""

import struct
import sys

import torch

GGML_TYPES = {0: "F32", 1: "F16", 2: "Q4_0", 8: "Q8_0", 12: "Q4_K", 14: "Q6_K", 30: "BF16"}
_BLOCK = {"F32": (1, 4), "F16": (1, 2), "BF16": (1, 2), "Q8_0": (32, 34), "Q4_0": (32, 18),
          "Q4_K": (256, 144), "Q6_K": (256, 210)}
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}


class GgufError(ValueError):
    pass


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise GgufError(f"truncated at byte {self.pos} (need {n} more)")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def scalar(self, fmt):
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def string(self):
        n = self.scalar("<Q")
        return self.take(n).decode("utf-8")

    def value(self, vtype):
        if vtype in _SCALAR:
            return self.scalar(_SCALAR[vtype])
        if vtype == 8:
            return self.string()
        if vtype == 9:
            etype = self.scalar("<I")
            n = self.scalar("<Q")
            return [self.value(etype) for _ in range(n)]
        raise GgufError(f"unknown value type {vtype}")


def load(path, raw=False):
    """(metadata dict, {name: (type name, dims HF order, tensor float32)}); with raw, the tensor's
    bytes as stored instead of its values."""
    with open(path, "rb") as f:
        data = f.read()
    r = Reader(data)
    if r.take(4) != b"GGUF":
        raise GgufError("not a GGUF file (magic)")
    version = r.scalar("<I")
    if version != 3:
        raise GgufError(f"version {version}, expected 3")
    n_tensors, n_kv = r.scalar("<Q"), r.scalar("<Q")
    meta = {}
    for _ in range(n_kv):
        key = r.string()
        meta[key] = r.value(r.scalar("<I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        n_dims = r.scalar("<I")
        ne = [r.scalar("<Q") for _ in range(n_dims)]
        ttype = r.scalar("<I")
        offset = r.scalar("<Q")
        if ttype not in GGML_TYPES:
            raise GgufError(f"tensor {name}: ggml type {ttype} is not one this reader knows")
        infos.append((name, ne, GGML_TYPES[ttype], offset))
    align = meta.get("general.alignment", 32)
    start = (r.pos + align - 1) // align * align
    tensors = {}
    for name, ne, tname, offset in infos:
        if offset % align:
            raise GgufError(f"tensor {name}: offset {offset} not aligned to {align}")
        n = 1
        for d in ne:
            n *= d
        block, size = _BLOCK[tname]
        nbytes = n // block * size
        data_bytes = data[start + offset:start + offset + nbytes]
        if len(data_bytes) != nbytes:
            raise GgufError(f"tensor {name}: data runs past the end of the file")
        shape = list(reversed(ne))
        tensors[name] = (tname, shape, data_bytes if raw else dequantize(tname, data_bytes, n).reshape(shape))
    return meta, tensors


def dequantize(tname, raw, n):
    buf = bytearray(raw)
    if tname == "F32":
        return torch.frombuffer(buf, dtype=torch.float32).clone()
    if tname == "F16":
        return torch.frombuffer(buf, dtype=torch.float16).float()
    if tname == "BF16":
        return torch.frombuffer(buf, dtype=torch.bfloat16).float()
    if tname in ("Q4_K", "Q6_K"):
        return dequantize_k(tname, torch.frombuffer(buf, dtype=torch.uint8).reshape(n // 256, -1))
    blocks = torch.frombuffer(buf, dtype=torch.uint8).reshape(n // 32, -1)
    d = blocks[:, :2].contiguous().view(torch.float16).float()  # (nb, 1)
    if tname == "Q8_0":
        q = blocks[:, 2:].contiguous().view(torch.int8).float()
        return (d * q).reshape(-1)
    qs = blocks[:, 2:].int()
    lo, hi = (qs & 0x0F) - 8, (qs >> 4) - 8
    return (d * torch.cat([lo, hi], dim=1).float()).reshape(-1)


def _half(b):
    return b.contiguous().view(torch.float16).float()  # (nb, 1)


def dequantize_k(tname, blocks):
    """ggml's K-quant super-blocks of 256 (ggml-common.h block_q4_K / block_q6_K)."""
    if tname == "Q4_K":
        d, dmin, s, qs = _half(blocks[:, 0:2]), _half(blocks[:, 2:4]), blocks[:, 4:16].int(), blocks[:, 16:].int()
        sc = torch.cat([s[:, 0:4] & 63, (s[:, 8:12] & 0x0F) | ((s[:, 0:4] >> 6) << 4)], dim=1)
        mn = torch.cat([s[:, 4:8] & 63, (s[:, 8:12] >> 4) | ((s[:, 4:8] >> 6) << 4)], dim=1)
        qs = qs.reshape(-1, 4, 32)
        q = torch.stack([qs & 0x0F, qs >> 4], dim=2).reshape(-1, 8, 32).float()
        return (d[:, :, None] * sc[:, :, None] * q - dmin[:, :, None] * mn[:, :, None]).reshape(-1)
    ql, qh = blocks[:, 0:128].int(), blocks[:, 128:192].int()
    sc = blocks[:, 192:208].contiguous().view(torch.int8).float()
    d = _half(blocks[:, 208:210])
    halves = []
    for h in range(2):
        lo, hi = ql[:, 64 * h:64 * h + 64], qh[:, 32 * h:32 * h + 32]
        halves += [(lo[:, :32] & 0x0F) | ((hi & 3) << 4), (lo[:, 32:] & 0x0F) | (((hi >> 2) & 3) << 4),
                   (lo[:, :32] >> 4) | (((hi >> 4) & 3) << 4), (lo[:, 32:] >> 4) | (((hi >> 6) & 3) << 4)]
    q = torch.cat(halves, dim=1).float() - 32
    return (d * sc.repeat_interleave(16, dim=1) * q).reshape(-1)


if __name__ == "__main__":
    meta, tensors = load(sys.argv[1])
    for k, v in meta.items():
        text = repr(v)
        print(f"{k} = {text[:100]}")
    for name, (tname, shape, _) in tensors.items():
        print(f"{name} {tname} {shape}")
