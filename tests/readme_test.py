"""The README's tour, run as written: every command in the fenced blocks of
README.md from "## A short tour of the CLI" up to "## Layout", in order, in
one fresh folder, each of which must exit 0. The documentation therefore
cannot drift from the program.

What the test adds, and only this:
- Inputs the tour says the reader brings: docs/ (English, Korean and mixed
  documents, one with an e-mail address), chats.jsonl, prefs.jsonl and
  eval.jsonl, written before the first command.
- A ```yaml block whose first line is "# NAME" is written to NAME when it is
  reached, so the files the commands read are the ones the README shows.
- `enclave` is the binary under test (put first on PATH).
- Tiny work where the program has a flag for it: `train pretrain|sft|dpo|sdpo`
  get --max-steps 2, `eval run|compare|gate` get --limit 2, `generate`
  without --max-tokens gets --max-tokens 8.
- `enclave serve` is started in the background on a free port (the README's
  --port 8080 and localhost:8080 are replaced by it) and stopped at the end
  of its block; $KEY is what `api-keys add` printed and $ID the id in the
  latest answer of the server.

    /usr/bin/python3 tests/readme_test.py --enclave build/src/cli/enclave --workdir /tmp/readme
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import unittest
import harness

ENCLAVE = None
WORKDIR = None
README = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")


def tour_blocks(text):
    """[(language, [lines])] of the fenced blocks between the tour's heading and ## Layout."""
    start = text.index("## A short tour of the CLI")
    end = text.index("## Layout", start)
    blocks = []
    lang, lines = None, None
    for line in text[start:end].splitlines():
        if lines is None:
            m = re.match(r"^```(\w+)\s*$", line)
            if m:
                lang, lines = m.group(1), []
        elif line.startswith("```"):
            blocks.append((lang, lines))
            lines = None
        else:
            lines.append(line)
    return blocks


def strip_comment(line):
    """line without a trailing # comment (a # outside quotes, after a space)."""
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i].rstrip()
    return line.rstrip()


def commands(lines):
    """Logical command lines: continuations joined, comments and blank lines dropped."""
    out, pending = [], ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        cmd = strip_comment(pending + line)
        pending = ""
        if cmd.strip():
            out.append(cmd.strip())
    return out


def words(cmd):
    return cmd.split()


def with_tiny_work(cmd):
    w = words(cmd)
    if w[:2] == ["enclave", "train"] and len(w) > 2 and w[2] in ("pretrain", "sft", "dpo", "sdpo"):
        return cmd + " --max-steps 2"
    if w[:2] == ["enclave", "eval"] and len(w) > 2 and w[2] in ("run", "compare", "gate"):
        return cmd + " --limit 2"
    if w[:2] == ["enclave", "generate"] and "--max-tokens" not in w:
        return cmd + " --max-tokens 8"
    return cmd


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_inputs(root):
    """The files the tour says the reader brings."""
    docs = {
        "docs/handbook.md": "# Handbook\n\nNew staff read this handbook in their first week. It explains "
                            "where the tools are, who to ask, and how requests reach the right team.\n",
        "docs/notice.txt": "The office closes early on Friday for the building inspection. "
                           "Questions go to facilities@example.com before Thursday noon.\n",
        "docs/guide.txt": "사내 보안 규정에 따라 모든 문서는 승인된 저장소에만 보관해야 합니다. "
                          "외부 반출은 부서장의 승인이 필요합니다.\n",
        "docs/mixed.md": "회의 요약: the release moves to next Monday because 테스트 결과를 다시 확인해야 "
                         "합니다 and the team needs two more days.\n",
        "docs/benchmark.txt": "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm "
                              "mat beside the old wooden door.\n",
    }
    for name, text in docs.items():
        write(os.path.join(root, name), text)
    chats = []
    for i, (q, a) in enumerate([("Reverse: a b c", "c b a"), ("Reverse: x y", "y x"),
                                ("Count: a a a", "3"), ("Count: b b", "2"),
                                ("뒤집기: 가 나 다", "다 나 가"), ("Hi", "Hello! How can I help?"),
                                ("Reverse: 1 2 3 4", "4 3 2 1"), ("Count: z", "1")]):
        chats.append({"id": f"chat-{i}", "messages": [{"role": "user", "content": q},
                                                      {"role": "assistant", "content": a}]})
    write(os.path.join(root, "chats.jsonl"), "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in chats))
    prefs = []
    for i, (p, good, bad) in enumerate([("Reverse: a b", "b a", "a b"), ("Reverse: p q r", "r q p", "p q r"),
                                        ("Count: a a", "2", "3"), ("Count: c c c c", "4", "2"),
                                        ("뒤집기: 하나 둘", "둘 하나", "하나 둘"), ("Reverse: m n", "n m", "m m")]):
        prefs.append({"id": f"pair-{i}", "prompt": p, "chosen": good, "rejected": bad})
    write(os.path.join(root, "prefs.jsonl"), "".join(json.dumps(p, ensure_ascii=False) + "\n" for p in prefs))
    # An evaluation text that one document contains, so decontaminate has work.
    write(os.path.join(root, "eval.jsonl"),
          json.dumps({"text": "The quick brown fox jumps over the lazy dog while the cat sleeps on the warm "
                              "mat beside the old wooden door."}) + "\n")


class ReadmeTour(unittest.TestCase):
    def test_tour_runs_as_written(self):
        root = os.path.join(WORKDIR, "tour")
        if os.path.exists(root):
            shutil.rmtree(root)
        os.makedirs(root)
        bin_dir = os.path.join(WORKDIR, "bin")
        os.makedirs(bin_dir, exist_ok=True)
        link = os.path.join(bin_dir, "enclave")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(ENCLAVE, link)
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
        env.pop("ENCLAVE_HOME", None)
        write_inputs(root)

        with open(README, encoding="utf-8") as f:
            blocks = tour_blocks(f.read())
        n_run = 0
        for lang, lines in blocks:
            if lang == "yaml":
                m = re.match(r"^#\s*(\S+)\s*$", lines[0] if lines else "")
                self.assertTrue(m, f"a yaml block of the tour must start with '# FILE': {lines[:1]}")
                write(os.path.join(root, m.group(1)), "\n".join(lines) + "\n")
                continue
            self.assertEqual(lang, "sh", f"unexpected ```{lang} block in the tour")
            server, port, log = None, None, None
            try:
                for cmd in commands(lines):
                    cmd = with_tiny_work(cmd)
                    if words(cmd)[:2] == ["enclave", "serve"]:
                        port = free_port()
                        self.assertIn("--port 8080", cmd)
                        cmd = cmd.replace("--port 8080", f"--port {port}")
                        log = open(os.path.join(root, "serve.log"), "w")
                        server = subprocess.Popen(["bash", "-c", "exec " + cmd], cwd=root, env=env,
                                                  stdout=log, stderr=subprocess.STDOUT)
                        self.wait_for_port(port, server, root)
                        n_run += 1
                        continue
                    if port is not None:
                        cmd = cmd.replace("localhost:8080", f"localhost:{port}")
                    r = subprocess.run(["bash", "-c", cmd], cwd=root, env=env, capture_output=True, text=True,
                                       timeout=600)
                    self.assertEqual(r.returncode, 0,
                                     f"README command failed ({r.returncode}):\n  {cmd}\n"
                                     f"stdout: {r.stdout[-2000:]}\nstderr: {r.stderr[-2000:]}")
                    n_run += 1
                    if words(cmd)[:3] == ["enclave", "api-keys", "add"]:
                        env["KEY"] = r.stdout.strip().splitlines()[-1]
                    if words(cmd)[0] == "curl":
                        self.assertNotIn('"error"', r.stdout, f"{cmd}\n{r.stdout}")
                        ids = re.findall(r'"id"\s*:\s*"((?:chat)?cmpl-[^"]+)"', r.stdout)
                        if ids:
                            env["ID"] = ids[-1]
            finally:
                if server is not None:
                    server.terminate()
                    server.wait(timeout=30)
                if log is not None:
                    log.close()
        # The parser must have found the tour, not an empty page.
        self.assertGreater(n_run, 40, "the tour has fewer commands than expected; was README.md parsed?")

    def wait_for_port(self, port, server, root):
        deadline = time.time() + 120
        while time.time() < deadline:
            if server.poll() is not None:
                with open(os.path.join(root, "serve.log"), encoding="utf-8", errors="replace") as f:
                    self.fail(f"enclave serve exited with {server.returncode}:\n{f.read()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return
            except OSError:
                time.sleep(0.2)
        self.fail("enclave serve did not listen within 120 s")


class TourParsing(unittest.TestCase):
    """The rules above, on small inputs, so a parser bug cannot hide commands."""

    def test_comments_continuations_and_quotes(self):
        lines = ["enclave a --x 1   # note", "curl -d '{\"k\":\"#v\"}' \\", "  url", "", "# only a comment"]
        self.assertEqual(commands(lines), ["enclave a --x 1", "curl -d '{\"k\":\"#v\"}'    url"])

    def test_tiny_work_flags(self):
        self.assertEqual(with_tiny_work("enclave train sft --model m"), "enclave train sft --model m --max-steps 2")
        self.assertEqual(with_tiny_work("enclave train tasks --out s/"), "enclave train tasks --out s/")
        self.assertEqual(with_tiny_work("enclave eval run --suite g"), "enclave eval run --suite g --limit 2")
        self.assertEqual(with_tiny_work("enclave generate --max-tokens 3"), "enclave generate --max-tokens 3")

    def test_readme_has_the_tour(self):
        with open(README, encoding="utf-8") as f:
            blocks = tour_blocks(f.read())
        self.assertGreater(sum(len(commands(lines)) for lang, lines in blocks if lang == "sh"), 40)


def main():
    global ENCLAVE, WORKDIR
    a, rest = harness.parse(__doc__, "readme_test")
    ENCLAVE, WORKDIR = a.enclave, a.workdir
    return harness.run(rest)

if __name__ == "__main__":
    sys.exit(main())
