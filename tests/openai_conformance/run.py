#!/usr/bin/env python3
"""Conformance with the official `openai` npm client: installs it with npm
(from the npm registry) into the work folder, starts `enclave serve` on a
free loopback port and runs conformance.mjs against it. Exits 77 (CTest:
skipped) with a clear message when node or npm is not installed.

Usage: run.py --enclave BUILD/src/cli/enclave --workdir DIR
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import serve_cli_test  # noqa: E402  (the Server helper)

SKIP = 77


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        print("SKIP: openai conformance needs node and npm (apt-get install nodejs npm); not found on PATH")
        return SKIP
    work = os.path.abspath(args.workdir)
    os.makedirs(work, exist_ok=True)
    for name in ("package.json", "conformance.mjs"):
        shutil.copy(os.path.join(HERE, name), work)
    if not os.path.isdir(os.path.join(work, "node_modules", "openai")):
        p = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=work,
                           capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            print(f"npm install of the openai client failed:\n{p.stdout}\n{p.stderr}")
            return 1

    serve_cli_test.ENCLAVE = os.path.abspath(args.enclave)
    serve_cli_test.WORK = work
    model = os.path.join(work, "tiny")
    if not os.path.isdir(model):
        serve_cli_test.run("model", "init", "--preset", "tiny", "--out", model, "--seed", "1")
    key = "sk-conformance"
    keys = os.path.join(work, "keys.json")
    with open(keys, "w") as f:
        json.dump({"format": "enclave-api-keys", "version": 1,
                   "keys": [{"id": "conformance", "sha256": hashlib.sha256(key.encode()).hexdigest(),
                             "scopes": ["infer"]}]}, f)
    with serve_cli_test.Server("--model", model, "--api-keys", keys, "--no-request-log", "--ctx", "512") as server:
        env = dict(os.environ, OPENAI_BASE_URL=f"http://127.0.0.1:{server.port}/v1", OPENAI_API_KEY=key,
                   MODEL="tiny")
        p = subprocess.run([node, "conformance.mjs"], cwd=work, env=env, timeout=300)
        if p.returncode != 0:
            print("--- server output ---\n" + server.output()[-3000:])
        return p.returncode


if __name__ == "__main__":
    sys.exit(main())
