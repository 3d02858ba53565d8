"""A small, independent safetensors reader and writer for the reference side.

The `safetensors` package is not installable here, and the reference must not
share code with Enclave's C++ reader anyway (a shared bug would hide itself).
Format (https://huggingface.co/docs/safetensors): 8-byte little-endian header
length N, N bytes of UTF-8 JSON {name: {dtype, shape, data_offsets}} with an
optional "__metadata__" string map, then the data region. Offsets are relative
to the data region and tile it exactly. The writer pads the header with spaces
to a multiple of 8, as the Rust reference implementation does.

Only F32, F16 and BF16 are needed by the tests. BF16 goes through an int16
view because torch 1.13 cannot hand bfloat16 to or from numpy.
"""

import json
import struct

import torch

_DTYPES = {
    "F32": (torch.float32, 4),
    "F16": (torch.float16, 2),
    "BF16": (torch.bfloat16, 2),
}
_NAMES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16"}
MAX_HEADER_SIZE = 100_000_000  # safetensors' MAX_HEADER_SIZE


class SafetensorsError(ValueError):
    pass


def _numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def parse(data, what="<bytes>"):
    """Returns ({name: tensor}, metadata) from the bytes of a safetensors file.

    Tensors are copies (they do not alias `data`). Raises SafetensorsError
    naming `what` for anything malformed.
    """
    if len(data) < 8:
        raise SafetensorsError(f"{what}: file is {len(data)} bytes, shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", data[:8])
    # The Rust reader (what transformers calls) refuses both of these, so a
    # file Enclave writes must pass them too.
    if n > MAX_HEADER_SIZE:
        raise SafetensorsError(f"{what}: header length {n} is over the {MAX_HEADER_SIZE}-byte limit")
    if n > len(data) - 8:
        raise SafetensorsError(f"{what}: header length {n} runs past the end of the file")
    if data[8:9] != b"{":
        raise SafetensorsError(f"{what}: header does not start with '{{'")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{what}: header is not UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{what}: header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    region = memoryview(data)[8 + n :]
    spans = []
    tensors = {}
    for name, info in header.items():
        if info.get("dtype") not in _DTYPES:
            raise SafetensorsError(f"{what}: tensor '{name}': unsupported dtype {info.get('dtype')!r}")
        dtype, size = _DTYPES[info["dtype"]]
        shape = info["shape"]
        begin, end = info["data_offsets"]
        if end - begin != _numel(shape) * size:
            raise SafetensorsError(f"{what}: tensor '{name}': {end - begin} bytes for shape {shape}")
        if end > len(region):
            raise SafetensorsError(f"{what}: tensor '{name}': data ends past the end of the file")
        spans.append((begin, end))
        raw = bytearray(region[begin:end])
        if dtype == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dtype)
        else:
            t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        tensors[name] = t.reshape(shape)
    pos = 0
    for begin, end in sorted(spans):
        if begin != pos:
            raise SafetensorsError(f"{what}: data offsets leave a gap or overlap at byte {pos}")
        pos = end
    if pos != len(region):
        raise SafetensorsError(f"{what}: {len(region) - pos} bytes after the last tensor")
    return tensors, metadata


def load(path):
    with open(path, "rb") as f:
        return parse(f.read(), str(path))


def serialize(tensors, metadata=None):
    """Bytes of a safetensors file holding `tensors` ({name: tensor}) in name order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    chunks = []
    offset = 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        if t.dtype not in _NAMES:
            raise SafetensorsError(f"tensor '{name}': unsupported dtype {t.dtype}")
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        header[name] = {"dtype": _NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        chunks.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save(path, tensors, metadata=None):
    with open(path, "wb") as f:
        f.write(serialize(tensors, metadata))
