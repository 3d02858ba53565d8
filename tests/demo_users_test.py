"""scripts/demo_users.py, the demo loop's simulated users, without a server:
the questions it picks (never a trained prompt, at most N per kind, only the
kinds asked for) and the before/after check that fails the demo outside the
README's ranges.
"""

import json
import os
import subprocess
import sys
import unittest

import harness

ENCLAVE = WORKDIR = None
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "demo_users.py")


def doc(question, answer, skill="reverse", language="en"):
    return {"prompt": [{"role": "user", "content": question}],
            "chosen": [{"role": "assistant", "content": answer}],
            "rejected": [{"role": "assistant", "content": "x"}], "skill": skill, "language": language}


def write_jsonl(path, records):
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")


def users(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, timeout=60)


class DemoUsersTest(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(WORKDIR, self.id().split(".")[-1])
        os.makedirs(self.dir, exist_ok=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_questions_skip_trained_prompts_and_cap_each_kind(self):
        write_jsonl(self.path("tasks.jsonl"), [
            doc("Reverse: a b", "b a"), doc("Reverse: c d", "d c"), doc("Reverse: e f", "f e"),
            doc("Reverse: g h", "h g"), doc("Uppercase: a", "A", skill="uppercase"),
            doc("Count the letters: a b", "2", skill="count")])
        write_jsonl(self.path("sft.jsonl"), [{"messages": [
            {"role": "user", "content": "Reverse: c d"}, {"role": "assistant", "content": "d c"}]}])
        write_jsonl(self.path("pretrain.jsonl"), [{"text": "Reverse: a b\nAnswer: b a\n\n"}])
        r = users("questions", self.path("tasks.jsonl"), "--per-kind", "1", "--kinds",
                  "reverse_en,uppercase_en", "--exclude", self.path("sft.jsonl"),
                  "--exclude", self.path("pretrain.jsonl"), "--out", self.path("users.jsonl"))
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(self.path("users.jsonl"), encoding="utf-8") as f:
            picked = [json.loads(line)["prompt"][0]["content"] for line in f]
        self.assertEqual(picked, ["Reverse: e f", "Uppercase: a"])

    def test_questions_all_trained_is_an_error(self):
        write_jsonl(self.path("tasks.jsonl"), [doc("Reverse: a b", "b a")])
        r = users("questions", self.path("tasks.jsonl"), "--per-kind", "3", "--exclude",
                  self.path("tasks.jsonl"), "--out", self.path("users.jsonl"))
        self.assertEqual(r.returncode, 1)
        self.assertIn("every question is in the training data", r.stderr)

    def round_file(self, name, rights, questions=None):
        questions = questions or [f"Reverse: {i}" for i in range(len(rights))]
        answers = [{"question": q, "answer": "a", "said": "a" if ok else "b", "right": ok,
                    "skill": "reverse_en"} for q, ok in zip(questions, rights)]
        with open(self.path(name), "w", encoding="utf-8") as f:
            json.dump({"label": name, "served": "m@1", "right": sum(rights),
                       "total": len(rights), "answers": answers}, f)
        return self.path(name)

    def check(self, before, after):
        return users("check", before, after, "--max-before", "0.8", "--min-after", "0.85",
                     "--min-gain", "0.2")

    def test_check_passes_inside_the_ranges(self):
        r = self.check(self.round_file("b.json", [True] * 6 + [False] * 4),
                       self.round_file("a.json", [True] * 9 + [False]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("3 wrong answers fixed, 0 right answers lost", r.stdout)

    def test_check_fails_outside_the_ranges(self):
        # Every range missed is named: before too high, after too low, no gain.
        r = self.check(self.round_file("b.json", [True] * 9 + [False]),
                       self.round_file("a.json", [True] * 8 + [False] * 2))
        self.assertEqual(r.returncode, 1)
        self.assertIn("before 0.90 > 0.8", r.stderr)
        self.assertIn("after 0.80 < 0.85", r.stderr)
        self.assertIn("gain -0.10 < 0.2", r.stderr)

    def test_check_refuses_different_questions(self):
        r = self.check(self.round_file("b.json", [False, False], ["q1", "q2"]),
                       self.round_file("a.json", [True, True], ["q1", "q3"]))
        self.assertEqual(r.returncode, 1)
        self.assertIn("different questions", r.stderr)


def main():
    global ENCLAVE, WORKDIR
    args, rest = harness.parse(__doc__, "demo_users_test")
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
