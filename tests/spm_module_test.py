#!/usr/bin/python3
"""SentencePiece inside the torch-linked `enclave` binary.

Debian's libsentencepiece and libtorch's libprotobuf clash when both are
loaded globally (see src/text/spm_processor.h). A torch-free tool trains a
tokenizer.model and prints the ids it gets for a text; `enclave tokenize`
must start, load that model and give the same ids.
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys

TEXT = "Hello world 123, 한국어 텍스트 🙂 <|im_start|>user"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    work = pathlib.Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    made = subprocess.run([args.fixture, str(work), TEXT], capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit(f"fixture failed: {made.stderr}")
    expected = json.loads(made.stdout)["tokens"]
    got = subprocess.run([args.enclave, "tokenize", "--model", str(work), "--text", TEXT, "--json"],
                         capture_output=True, text=True)
    if got.returncode != 0:
        sys.exit(f"enclave tokenize failed (rc {got.returncode}): {got.stderr}")
    tokens = json.loads(got.stdout)["tokens"]
    if tokens != expected:
        sys.exit(f"ids differ:\n  enclave: {tokens}\n  fixture: {expected}")
    if len(tokens) < 5:
        sys.exit(f"suspiciously few tokens: {tokens}")
    print(f"enclave tokenize with tokenizer.model: {len(tokens)} ids, same as the torch-free process")


if __name__ == "__main__":
    main()
