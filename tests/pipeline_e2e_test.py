"""The closed loop with real commands and a tiny model: feedback on served
answers (written to the request log as the server writes it) is exported,
trained on directly (`train sft --data feedback@N:sft`, and `feedback@N`
as it is), and the retrain pipeline of the pipelines issue (feedback export
-> train sft -> eval run) runs end to end with tiny step counts; then a
promotion pipeline (eval gate with a significance rule, reusing the recorded
eval run -> `models alias ... production`) moves the alias a running server
watches, and the server hot-reloads the promoted version.

    /usr/bin/python3 tests/pipeline_e2e_test.py --enclave build/src/cli/enclave --workdir /tmp/ple --fixtures build/tests/fixtures
"""

import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import unittest

import fixtures
import harness

ENCLAVE = None
WORKDIR = None
FIXTURES = None


PIPELINE = """
name: retrain
params: {steps: 2}
stages:
  export:
    cmd: enclave feedback export --out feedback
    outs: [dataset:feedback]
    cache: false
  train:
    cmd: enclave train sft --model assistant:production --data ${stages.export.outs.feedback} --out assistant --max-steps ${steps} --batch-size 2 --threads 1 --max-length 64
    deps: [dataset:feedback, model:assistant:production]
    outs: [model:assistant]
  report:
    cmd: sh -c 'enclave eval run --model ${stages.train.outs.assistant} --suite general.sequence_en --limit 4 --threads 1 --json > report.json'
    deps: [model:assistant]
    outs: [report.json]
on:
  feedback: {new: 200}
"""

PROMOTE = """
name: promote
stages:
  gate:
    cmd: sh -c 'enclave eval gate --model assistant@2 --baseline assistant:production --suite general.sequence_en --limit 4 --threads 1 --rules gate.yaml --json > gate.json'
    deps: [gate.yaml]
    outs: [gate.json]
    cache: false
  promote:
    cmd: enclave models alias assistant@2 production
    deps: [gate.json]
    cache: false
"""


class FeedbackLoopTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = os.path.join(WORKDIR, "ws")
        shutil.rmtree(cls.root, ignore_errors=True)
        cls.ok("init", cls.root)
        cls.ok("models", "register", "assistant", fixtures.tiny(FIXTURES, 1))
        cls.ok("models", "alias", "assistant@1", "production")
        path = os.path.join(cls.root, ".enclave", "serve", "requests.db")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        db = sqlite3.connect(path)
        db.executescript(fixtures.REQUESTS_SCHEMA)
        for i in range(6):
            rid = f"chatcmpl-{i}"
            prompt = json.dumps([{"role": "user", "content": f"What is {i} plus {i}?"}])
            db.execute("INSERT INTO requests (id, created_at, key_id, endpoint, model, model_version, model_version_id, prompt, completion, prompt_tokens, completion_tokens, ttft, latency, finish_reason, status)"
                       " VALUES (?, ?, '', 'chat.completions', 'assistant', 'assistant@1', "
                       "NULL, ?, ?, 8, 4, 0.01, 0.02, 'stop', 200)", (rid, time.time(), prompt, "I do not know."))
            db.execute("INSERT INTO feedback (request_id, created_at, key_id, rating, correction) VALUES "
                       "(?, ?, '', -1, ?)", (rid, time.time(), f"{i} plus {i} is {2 * i}."))
        db.commit()
        db.close()

    @classmethod
    def run_enclave(cls, *args, timeout=300):
        env = {k: v for k, v in os.environ.items() if k not in ("ENCLAVE_RUN_ID", "ENCLAVE_PIPELINE_NOW")}
        env["ENCLAVE_HOME"] = cls.root
        return subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, env=env,
                              cwd=cls.root if os.path.isdir(cls.root) else WORKDIR, timeout=timeout)

    @classmethod
    def ok(cls, *args):
        p = cls.run_enclave(*args)
        assert p.returncode == 0, f"{args}: exit {p.returncode}\n{p.stdout}\n{p.stderr}"
        return p

    def test_1_feedback_export_is_trained_on_directly(self):
        out = json.loads(self.ok("feedback", "export", "--out", "fb", "--json").stdout)
        self.assertEqual(out["dataset"], "fb@1")
        self.assertEqual(out["n_sft"], 6)
        common = ["--model", "assistant:production", "--max-steps", "2", "--batch-size", "2",
                  "--threads", "1", "--max-length", "64", "--json"]
        for ref in ("fb@1:sft", "fb@1"):
            p = self.ok("train", "sft", "--data", ref, "--out", "direct", *common)
            result = json.loads(p.stdout.strip().splitlines()[-1])
            shown = json.loads(self.ok("runs", "show", result["run_id"], "--json").stdout)
            self.assertEqual(shown["status"], "finished")
            data = [i["version"] for i in shown["inputs"] if i["role"] == "train_data"]
            self.assertEqual([(d["name"], d["version"]) for d in data], [("fb", 1)])
        # DPO takes the export's preference pairs as they are.
        p = self.ok("train", "dpo", "--data", "fb@1", "--out", "direct-dpo", *common)
        self.assertEqual(json.loads(p.stdout.strip().splitlines()[-1])["steps"], 2)
        # A part the version does not hold is named with what it holds.
        p = self.run_enclave("train", "sft", "--data", "fb@1:nope", "--out", "direct", *common)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("has no nope.jsonl", p.stderr)
        self.assertIn("sft.jsonl", p.stderr)

    def test_2_retrain_pipeline_end_to_end(self):
        with open(os.path.join(self.root, "retrain.yaml"), "w") as f:
            f.write(PIPELINE)
        start = time.time()
        p = self.run_enclave("pipeline", "run", "retrain.yaml", "--json", timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        r = json.loads(p.stdout)
        self.assertEqual(r["status"], "succeeded", p.stderr)
        st = {s["name"]: s for s in r["stages"]}
        feedback = st["export"]["outs"]["feedback"]
        self.assertRegex(feedback, r"^feedback@\d+$")
        assistant = st["train"]["outs"]["assistant"]
        self.assertEqual(assistant, "assistant@2")
        self.assertIn(f"--data {feedback} ", st["train"]["cmd"])
        self.assertIn(f"--model {assistant} ", st["report"]["cmd"])
        with open(os.path.join(self.root, "report.json")) as f:
            report = json.load(f)
        self.assertIn("general.sequence_en", json.dumps(report))
        # Lineage: the new model leads back through the train stage and the
        # feedback dataset to the export stage.
        lineage = json.loads(self.ok("lineage", assistant, "--up", "--json").stdout)
        text = json.dumps(lineage)
        self.assertIn('"pipeline-stage"', text)
        self.assertIn(feedback.split("@")[0], text)
        print(f"retrain pipeline: {time.time() - start:.1f}s", file=sys.stderr)

    def test_3_promotion_stage_hot_reloads_the_server(self):
        with open(os.path.join(self.root, "gate.yaml"), "w") as f:
            f.write("rules:\n  - 'regression(general.*) <= 1 at 95%'\n")
        with open(os.path.join(self.root, "promote.yaml"), "w") as f:
            f.write(PROMOTE)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        env = {k: v for k, v in os.environ.items() if k not in ("ENCLAVE_RUN_ID", "ENCLAVE_PIPELINE_NOW")}
        env["ENCLAVE_HOME"] = self.root
        log = open(os.path.join(WORKDIR, "promote-serve.log"), "w")
        server = subprocess.Popen([ENCLAVE, "serve", "--model", "assistant:production", "--port", str(port),
                                   "--watch-seconds", "0.5", "--threads", "1"],
                                  stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.root)

        def served():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", "/health")
                return json.loads(conn.getresponse().read())["models"]
            except (OSError, ValueError, KeyError):
                return None
            finally:
                conn.close()

        def wait_for(models, seconds):
            deadline = time.time() + seconds
            while time.time() < deadline:
                if server.poll() is not None:
                    break
                if served() == models:
                    return True
                time.sleep(0.2)
            return False

        try:
            self.assertTrue(wait_for(["assistant@1"], 120), "server did not come up")
            p = self.run_enclave("pipeline", "run", "promote.yaml", "--json", timeout=600)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            r = json.loads(p.stdout)
            self.assertEqual(r["status"], "succeeded", p.stderr)
            self.assertEqual([s["name"] for s in r["stages"]], ["gate", "promote"])
            with open(os.path.join(self.root, "gate.json")) as f:
                gate = json.load(f)
            self.assertTrue(gate["passed"])
            self.assertEqual(len(gate["checks"][0]["interval"]), 2)
            # the report stage of test_2 evaluated assistant@2 on this suite already
            self.assertIsNotNone(gate["reused_eval_runs"]["model"])
            self.assertTrue(wait_for(["assistant@2"], 60), f"server still serves {served()}")
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()
        shown = json.loads(self.ok("models", "show", "assistant:production", "--json").stdout)
        self.assertIn("assistant@2", json.dumps(shown))


def main():
    global ENCLAVE, WORKDIR, FIXTURES
    args, rest = harness.parse(__doc__, "pipeline_e2e_test", fixtures=True)
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    FIXTURES = fixtures.find_or_make(ENCLAVE, args.fixtures, WORKDIR)
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
