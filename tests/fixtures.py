"""The per-run fixture folder: models that several black-box tests need,
made once per `ctest` run instead of once per test class.

CTest runs this file as the entry `fixtures.tiny_models` (FIXTURES_SETUP
tiny_models, tests/CMakeLists.txt) before any entry that names the fixture,
and passes the folder to those entries as `--fixtures DIR`. The models are
shared: tests read them, register them (the store copies them) or copy them
before changing anything. Run by hand, a test without `--fixtures` makes
its own folder under its work folder with the same function.

    /usr/bin/python3 tests/fixtures.py --enclave build/src/cli/enclave --out build/tests/fixtures
"""

import argparse
import json
import os
import shutil
import struct
import subprocess
import sys

# The request log as the server of format version 1 wrote it (the server adds
# newer columns when it opens one), for tests that fill it by hand.
REQUESTS_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT OR IGNORE INTO meta VALUES ('format_version', '1');
CREATE TABLE IF NOT EXISTS requests (id TEXT PRIMARY KEY, created_at REAL NOT NULL, key_id TEXT NOT NULL,
  endpoint TEXT NOT NULL, model TEXT NOT NULL, model_version TEXT NOT NULL, model_version_id INTEGER,
  prompt TEXT NOT NULL, completion TEXT NOT NULL, prompt_tokens INTEGER NOT NULL,
  completion_tokens INTEGER NOT NULL, ttft REAL NOT NULL, latency REAL NOT NULL,
  finish_reason TEXT NOT NULL, status INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (id INTEGER PRIMARY KEY, request_id TEXT NOT NULL
  REFERENCES requests(id) ON DELETE CASCADE, created_at REAL NOT NULL, key_id TEXT NOT NULL,
  rating REAL, correction TEXT);
"""

# `enclave model init --preset tiny --seed N`: random weights, the tiny
# preset's tokenizer; seeds 1-3 give three different models of one shape.
TINY_SEEDS = (1, 2, 3)


def write_adapter(path, n_layer=4, hidden=256, q_out=256, v_out=128, r=2):
    """A PEFT LoRA adapter for the tiny preset (q_proj, v_proj), non-zero B."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "adapter_config.json"), "w") as f:
        json.dump({"peft_type": "LORA", "r": r, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"]}, f)
    header, blobs, offset = {}, [], 0
    for layer in range(n_layer):
        for module, out in (("q_proj", q_out), ("v_proj", v_out)):
            for part, shape in (("lora_A", [r, hidden]), ("lora_B", [out, r])):
                n = shape[0] * shape[1]
                blob = struct.pack(f"<{n}f", *[0.05 * ((i * 37 + layer) % 11) - 0.25 for i in range(n)])
                name = f"base_model.model.model.layers.{layer}.self_attn.{module}.{part}.weight"
                header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(blob)]}
                blobs.append(blob)
                offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(path, "adapter_model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def tiny(fixtures, seed):
    """Folder of the tiny model made with `seed`."""
    return os.path.join(fixtures, f"tiny-{seed}")


def make(enclave, out):
    """Makes the folder `out` from nothing: written beside it, then renamed,
    so a folder that exists is complete."""
    out = os.path.abspath(out)
    staging = out + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    for seed in TINY_SEEDS:
        cmd = [enclave, "model", "init", "--preset", "tiny", "--out", tiny(staging, seed), "--seed", str(seed)]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
    shutil.rmtree(out, ignore_errors=True)
    os.rename(staging, out)
    return out


def find_or_make(enclave, fixtures, workdir):
    """The fixture folder a test should use: `fixtures` when given (it must be
    complete: CTest made it), else a fresh one under `workdir`."""
    if fixtures is None:
        return make(enclave, os.path.join(workdir, "fixtures"))
    missing = [tiny(fixtures, seed) for seed in TINY_SEEDS
               if not os.path.isfile(os.path.join(tiny(fixtures, seed), "config.json"))]
    if missing:
        raise RuntimeError(f"fixture folder {fixtures} lacks {', '.join(missing)}; "
                           "run `ctest -R fixtures` or tests/fixtures.py first")
    return os.path.abspath(fixtures)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not os.access(a.enclave, os.X_OK):
        print(f"fixtures: enclave binary not found or not executable: {a.enclave}", file=sys.stderr)
        return 1
    out = make(os.path.abspath(a.enclave), a.out)
    print(f"fixtures: {', '.join(os.path.basename(tiny(out, s)) for s in TINY_SEEDS)} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
