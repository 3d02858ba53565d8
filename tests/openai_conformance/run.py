#!/usr/bin/env python3
"""Conformance with the official `openai` npm client: starts `enclave serve`
on a free loopback port, over TLS with a self-signed certificate made here by
the openssl CLI (the client trusts it through NODE_EXTRA_CA_CERTS), and runs
conformance.mjs against it with a key of the `service` role. The client is
installed beforehand by scripts/install-deps.sh (`make` runs it) into
tests/openai_conformance/node_modules, so the test never reaches the
network; it fails, naming what to run, when node or the packages are missing.

Usage: run.py --enclave BUILD/src/cli/enclave --workdir DIR [--fixtures DIR]
"""
import argparse
import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import fixtures  # noqa: E402
import serve_cli_test  # noqa: E402  (the Server helper)

NODE_MODULES = os.path.join(HERE, "node_modules")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--fixtures", help="folder made by tests/fixtures.py (default: made under --workdir)")
    args = ap.parse_args()
    node = shutil.which("node")
    if not node:
        print("openai_conformance: node is not on PATH; run scripts/install-deps.sh (it installs nodejs)")
        return 1
    if not os.path.isfile(os.path.join(NODE_MODULES, "openai", "package.json")):
        print(f"openai_conformance: the openai npm package is not in {NODE_MODULES}; "
              "run scripts/install-deps.sh (it installs the packages package-lock.json pins)")
        return 1
    work = os.path.abspath(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)

    serve_cli_test.ENCLAVE = os.path.abspath(args.enclave)
    serve_cli_test.WORK = work
    model = fixtures.tiny(fixtures.find_or_make(serve_cli_test.ENCLAVE, args.fixtures, work), 1)
    key = "sk-conformance"
    keys = os.path.join(work, "keys.json")
    with open(keys, "w") as f:
        json.dump({"format": "enclave-api-keys", "version": 2,
                   "keys": [{"id": "conformance", "sha256": hashlib.sha256(key.encode()).hexdigest(),
                             "role": "service"}]}, f)
    cert, cert_key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", cert_key, "-out", cert], check=True, capture_output=True)
    with serve_cli_test.Server("--model", model, "--api-keys", keys, "--no-request-log", "--ctx", "1024",
                               "--tls-cert", cert, "--tls-key", cert_key,
                               tls=ssl.create_default_context(cafile=cert)) as server:
        env = dict(os.environ, OPENAI_BASE_URL=f"https://127.0.0.1:{server.port}/v1", OPENAI_API_KEY=key,
                   NODE_EXTRA_CA_CERTS=cert, MODEL=os.path.basename(model))  # served under its folder's name
        # Node resolves "openai" from the script's own folder, where node_modules is.
        p = subprocess.run([node, os.path.join(HERE, "conformance.mjs")], cwd=work, env=env, timeout=300)
        if p.returncode != 0:
            print("--- server output ---\n" + server.output()[-3000:])
        return p.returncode


if __name__ == "__main__":
    sys.exit(main())
