#!/usr/bin/env python3
"""The air gap: the main commands (data ingest, a tiny training run, eval,
serve and one request) run inside a network namespace with no route out
(`unshare -n`, only loopback up) under `strace -f -e trace=connect,sendto,
sendmsg`, and no process tries to reach anything but loopback, AF_UNIX or
the kernel (netlink). Needs root for the namespace; skipped, with the reason,
without it or without strace.

Usage: airgap_test.py --enclave BUILD/src/cli/enclave --workdir DIR [--fixtures DIR] [AirGapTest]
"""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
import harness  # noqa: E402

ENCLAVE = WORK = FIXTURES = None

# Inside the namespace: each main command once, demo-sized but tiny. The
# request is made by Python's http.client over loopback, traced as well.
SCRIPT = r"""
set -eu
E="$ENCLAVE"; W="$WORK/ws"
"$E" init "$W" >/dev/null
"$E" data ingest "$WORK/docs" --out corpus --workspace "$W" >/dev/null
"$E" train pretrain --model "$TINY" --data "$WORK/train.jsonl" --out airgap --max-steps 2 --batch-size 2 \
  --max-length 32 --threads 1 --workspace "$W" >/dev/null 2>&1
"$E" eval run --model airgap --suite general.sequence_en --limit 2 --threads 1 --workspace "$W" >/dev/null 2>&1
"$E" serve --model airgap --port 18180 --ctx 64 --threads 1 --workspace "$W" >"$WORK/serve.log" 2>&1 &
server=$!
/usr/bin/python3 - <<'PY'
import http.client, json, time
for _ in range(300):
    try:
        c = http.client.HTTPConnection("127.0.0.1", 18180, timeout=30)
        c.request("GET", "/health")
        if c.getresponse().status == 200:
            break
    except OSError:
        time.sleep(0.1)
c = http.client.HTTPConnection("127.0.0.1", 18180, timeout=60)
c.request("POST", "/v1/completions", json.dumps({"prompt": "the fox", "max_tokens": 2}),
          {"Content-Type": "application/json"})
r = c.getresponse()
assert r.status == 200, (r.status, r.read())
print("served", json.loads(r.read())["object"])
PY
kill "$server"
wait "$server" || true
"""

# The destination of a traced call: its sockaddr (strace prints
# sa_family=..., then the address), if it has one.
SOCKADDR = re.compile(r"sa_family=(AF_\w+)(?:, sin6?_port=htons\(\d+\))?(?:, (?:sin_addr=inet_addr\(\"([^\"]*)\"\)|"
                      r"sin6_flowinfo=[^,]*, inet_pton\(AF_INET6, \"([^\"]*)\"))?")


def outside_the_machine(line):
    """The destination of a connect/sendto/sendmsg line that is not loopback,
    AF_UNIX or netlink, or None."""
    for family, ipv4, ipv6 in SOCKADDR.findall(line):
        if family in ("AF_UNIX", "AF_NETLINK", "AF_UNSPEC", "AF_LOCAL"):
            continue
        if family == "AF_INET" and ipv4.startswith("127."):
            continue
        if family == "AF_INET6" and (ipv6 == "::1" or ipv6.startswith("::ffff:127.")):
            continue
        return f"{family} {ipv4 or ipv6}".strip()
    return None


class AirGapTest(unittest.TestCase):
    def test_main_commands_reach_nothing_outside_the_machine(self):
        if os.geteuid() != 0:
            self.skipTest("needs root for a network namespace (unshare -n)")
        if not shutil.which("strace") or not shutil.which("unshare") or not shutil.which("ip"):
            self.skipTest("needs strace, unshare and ip (scripts/install-deps.sh installs them)")
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            self.skipTest(f"unshare -n fails here: {probe.stderr.strip()}")
        work = os.path.join(WORK, "airgap")
        shutil.rmtree(work, ignore_errors=True)
        os.makedirs(os.path.join(work, "docs"))
        for i in range(3):
            with open(os.path.join(work, "docs", f"note{i}.md"), "w") as f:
                f.write(f"# Note {i}\n\nThe air gap keeps document {i} inside the network.\n")
        with open(os.path.join(work, "train.jsonl"), "w") as f:
            for i in range(8):
                f.write(json.dumps({"text": f"the quick brown fox {i} jumps over the lazy dog"}) + "\n")
        trace = os.path.join(work, "trace.log")
        env = dict(os.environ, ENCLAVE=os.path.abspath(ENCLAVE), WORK=work, TINY=fixtures.tiny(FIXTURES, 1))
        env.pop("ENCLAVE_HOME", None)
        p = subprocess.run(["unshare", "-n", "sh", "-c",
                            'ip link set lo up && exec strace -f -qq --seccomp-bpf -e trace=connect,sendto,sendmsg '
                            '-o "$0" sh -c "$1"', trace, SCRIPT],
                           capture_output=True, text=True, env=env, timeout=120)
        serve_log = ""
        if os.path.exists(os.path.join(work, "serve.log")):
            with open(os.path.join(work, "serve.log")) as f:
                serve_log = f.read()
        self.assertEqual(p.returncode, 0, f"{p.stdout}\n{p.stderr}\n{serve_log[-2000:]}")
        self.assertIn("served text_completion", p.stdout)
        with open(trace) as f:
            lines = f.read().splitlines()
        self.assertTrue(any("connect(" in l and "127.0.0.1" in l for l in lines),
                        "the trace shows no loopback connection: strace did not see the request")
        outside = [(outside_the_machine(l), l) for l in lines]
        outside = [l for dest, l in outside if dest]
        self.assertEqual(outside, [], "calls that try to leave the machine:\n" + "\n".join(outside[:20]))


def main():
    global ENCLAVE, WORK, FIXTURES
    args, rest = harness.parse(__doc__, "airgap_test", fixtures=True)
    ENCLAVE, WORK = args.enclave, args.workdir
    FIXTURES = fixtures.find_or_make(args.enclave, args.fixtures, args.workdir)
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
