"""Black-box tests of `enclave pipeline`: stages as `sh -c` commands in a
test workspace. PipelineRunTest: DAG order and parallelism, ${stages...}
resolution to exact versions, the step cache and what invalidates it,
failure and --resume, --stage, approval and rejection (audited), lineage
through the stages. PipelineFileTest: every kind of bad file. TriggerTest:
each trigger on a controlled clock ($ENCLAVE_PIPELINE_NOW), and `watch`
killed mid-run and restarted.

    /usr/bin/python3 tests/pipeline_test.py --enclave build/src/cli/enclave --workdir /tmp/pl [Class]
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import unittest

import fixtures
import harness

ENCLAVE = None
WORKDIR = None


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("ENCLAVE_HOME", "ENCLAVE_RUN_ID", "ENCLAVE_PIPELINE_NOW")}
    env.update(extra)
    return env


def fresh_workspace(name):
    path = os.path.join(WORKDIR, name)
    if os.path.exists(path):
        for root, dirs, _ in os.walk(path):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(path)
    os.makedirs(path)
    p = subprocess.run([ENCLAVE, "init", path], capture_output=True, text=True, env=clean_env())
    assert p.returncode == 0, p.stderr
    return path


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


class Workspace:
    def __init__(self, name):
        self.root = fresh_workspace(name)

    def run(self, *args, env=None, timeout=120):
        e = clean_env(ENCLAVE_HOME=self.root)
        e.update(env or {})
        return subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True,
                              cwd=self.root, env=e, timeout=timeout)

    def ok(self, *args, env=None):
        p = self.run(*args, env=env)
        assert p.returncode == 0, f"{args} exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
        return p

    def pipeline(self, *args, env=None):
        """`pipeline run ... --json`, parsed; the process too."""
        p = self.run("pipeline", "run", *args, "--json", env=env)
        try:
            return json.loads(p.stdout), p
        except json.JSONDecodeError:
            raise AssertionError(f"no JSON from pipeline run {args}: {p.returncode}\n{p.stdout}\n{p.stderr}")

    def file(self, rel, text):
        write(os.path.join(self.root, rel), text)
        return os.path.join(self.root, rel)

    def read(self, rel):
        with open(os.path.join(self.root, rel)) as f:
            return f.read()

    def db(self):
        return sqlite3.connect(os.path.join(self.root, ".enclave", "enclave.db"))


def stages(result):
    return {s["name"]: s for s in result["stages"]}


class PipelineRunTest(unittest.TestCase):
    def test_dag_order_parallelism_and_stage_references(self):
        ws = Workspace("dag")
        ws.file("data/raw.txt", "a\nb\n")
        # prep -> (left, right in parallel) -> join; left registers a dataset
        # whose exact version join receives.
        ws.file("p.yaml", """
name: diamond
params: {greeting: hello}
stages:
  prep:
    cmd: sh -c 'date +%s.%N > t_prep_end; cp data/raw.txt prepared.txt'
    deps: [data/raw.txt]
    outs: [prepared.txt]
  left:
    cmd: sh -c 'date +%s.%N > t_left_start; sleep 1; mkdir -p l; cp prepared.txt l/x.jsonl; enclave datasets register lefty l; date +%s.%N > t_left_end'
    deps: [prepared.txt]
    outs: [dataset:lefty]
  right:
    cmd: sh -c 'date +%s.%N > t_right_start; sleep 1; echo ${greeting} > right.txt; date +%s.%N > t_right_end'
    deps: [prepared.txt]
    outs: [right.txt]
  join:
    cmd: sh -c 'echo "${stages.left.outs.lefty} ${stages.right.outs.right.txt}" > joined.txt'
    deps: [dataset:lefty, right.txt]
    outs: [joined.txt]
""")
        r, p = ws.pipeline("p.yaml", "--jobs", "2")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(r["status"], "succeeded")
        self.assertEqual(r["pipeline"], "diamond")
        st = stages(r)
        self.assertEqual({s["status"] for s in r["stages"]}, {"succeeded"})
        self.assertEqual(st["left"]["outs"], {"lefty": "lefty@1"})
        self.assertEqual(ws.read("joined.txt").strip(), "lefty@1 right.txt")
        self.assertEqual(ws.read("right.txt").strip(), "hello")
        t = {n: float(ws.read(n)) for n in ("t_prep_end", "t_left_start", "t_left_end",
                                             "t_right_start", "t_right_end")}
        # Order: both branches after prep; parallel: each starts before the other ends.
        self.assertLess(t["t_prep_end"], t["t_left_start"])
        self.assertLess(t["t_prep_end"], t["t_right_start"])
        self.assertLess(t["t_left_start"], t["t_right_end"])
        self.assertLess(t["t_right_start"], t["t_left_end"])
        # Every stage is a store run naming its pipeline run.
        for s in r["stages"]:
            shown = json.loads(ws.ok("runs", "show", s["run"], "--json").stdout)
            self.assertEqual(shown["kind"], "pipeline-stage")
            self.assertEqual(shown["params"]["pipeline_run"], r["run"])
        # Lineage: the dataset leads back to the stage that made it, whose
        # input is the prep stage's output file.
        lineage = json.dumps(json.loads(ws.ok("lineage", "lefty@1", "--up", "--json").stdout))
        self.assertIn('"pipeline-stage"', lineage)
        self.assertIn(f'"id": {st["left"]["run"]}', lineage)
        # With --jobs 1 the branches cannot overlap.
        r, p = ws.pipeline("p.yaml", "--jobs", "1", "--force", "left", "--force", "right")
        self.assertEqual(r["status"], "succeeded", p.stderr)
        t = {n: float(ws.read(n)) for n in ("t_left_start", "t_left_end", "t_right_start", "t_right_end")}
        self.assertTrue(t["t_left_end"] <= t["t_right_start"] or t["t_right_end"] <= t["t_left_start"], t)
        self.assertEqual(stages(r)["join"]["outs"], {"joined.txt": "joined.txt"})
        self.assertEqual(ws.read("joined.txt").strip(), "lefty@2 right.txt")

    def test_cache_hits_and_invalidation(self):
        ws = Workspace("cache")
        ws.file("in.txt", "one\n")
        spec = """
name: cached
params: {n: 1}
stages:
  a:
    cmd: sh -c 'echo run >> a_runs; cat in.txt > a.out; echo ${n} >> a.out'
    deps: [in.txt]
    outs: [a.out]
  b:
    cmd: sh -c 'echo run >> b_runs; wc -l < a.out > b.out'
    deps: [a.out]
    outs: [b.out]
"""
        ws.file("p.yaml", spec)
        counts = lambda: (ws.read("a_runs").count("run"), ws.read("b_runs").count("run"))
        r, _ = ws.pipeline("p.yaml")
        self.assertEqual([s["status"] for s in r["stages"]], ["succeeded", "succeeded"])
        r, _ = ws.pipeline("p.yaml")
        self.assertEqual({s["status"] for s in r["stages"]}, {"cached"})
        self.assertEqual(counts(), (1, 1))
        # A cached stage names the run that made its outputs.
        self.assertIsNotNone(stages(r)["a"]["run"])
        # params
        r, p = ws.pipeline("p.yaml", "--param", "n=2")
        self.assertEqual(stages(r)["a"]["status"], "succeeded")
        self.assertIn("params changed: n", p.stderr)
        self.assertEqual(counts(), (2, 2))
        r, _ = ws.pipeline("p.yaml", "--param", "n=2")
        self.assertEqual({s["status"] for s in r["stages"]}, {"cached"})
        # input digest
        ws.file("in.txt", "two\n")
        r, p = ws.pipeline("p.yaml", "--param", "n=2")
        self.assertEqual(stages(r)["a"]["status"], "succeeded")
        self.assertIn("input changed: in.txt", p.stderr)
        # the output file's content did not change (same line count): b stays cached
        self.assertEqual(counts()[0], 3)
        # definition
        ws.file("p.yaml", spec.replace("wc -l < a.out", "wc -l <a.out"))
        r, p = ws.pipeline("p.yaml", "--param", "n=2")
        self.assertEqual(stages(r)["a"]["status"], "cached")
        self.assertEqual(stages(r)["b"]["status"], "succeeded")
        self.assertIn("definition changed", p.stderr)
        # a missing output
        os.remove(os.path.join(ws.root, "b.out"))
        r, p = ws.pipeline("p.yaml", "--param", "n=2")
        self.assertEqual(stages(r)["b"]["status"], "succeeded")
        self.assertIn("output b.out is missing", p.stderr)
        # the enclave version: an entry made by another version does not count
        with ws.db() as db:
            db.execute("UPDATE pipeline_cache SET program_version = '0.0.1+old' WHERE stage = 'a'")
        r, p = ws.pipeline("p.yaml", "--param", "n=2")
        self.assertEqual(stages(r)["a"]["status"], "succeeded")
        self.assertIn("enclave version changed (0.0.1+old", p.stderr)
        # --force, cache: false, and max_age on a controlled clock
        r, _ = ws.pipeline("p.yaml", "--param", "n=2", "--force", "b")
        self.assertEqual([stages(r)[n]["status"] for n in "ab"], ["cached", "succeeded"])
        ws.file("p.yaml", spec.replace("    outs: [b.out]", "    outs: [b.out]\n    cache: false"))
        r, _ = ws.pipeline("p.yaml", "--param", "n=2")
        self.assertEqual(stages(r)["b"]["status"], "succeeded")
        ws.file("p.yaml", spec.replace("    outs: [a.out]", "    outs: [a.out]\n    cache: {max_age: 7d}"))
        r, _ = ws.pipeline("p.yaml", "--param", "n=2")  # definition changed: runs, cached from now
        self.assertEqual(stages(r)["a"]["status"], "succeeded")
        later = str(int(time.time()) + 6 * 86400)
        r, _ = ws.pipeline("p.yaml", "--param", "n=2", env={"ENCLAVE_PIPELINE_NOW": later})
        self.assertEqual(stages(r)["a"]["status"], "cached")
        later = str(int(time.time()) + 8 * 86400)
        r, p = ws.pipeline("p.yaml", "--param", "n=2", env={"ENCLAVE_PIPELINE_NOW": later})
        self.assertEqual(stages(r)["a"]["status"], "succeeded")
        self.assertIn("cache expired", p.stderr)
        # --dry-run says what would happen and does nothing
        before = counts()
        p = ws.ok("pipeline", "run", "p.yaml", "--param", "n=3", "--dry-run", "--json")
        plan = json.loads(p.stdout)
        self.assertEqual([s["status"] for s in plan["stages"]], ["pending", "pending"])
        self.assertEqual(counts(), before)

    def test_failure_resume_and_stage(self):
        ws = Workspace("resume")
        ws.file("p.yaml", """
name: flaky
stages:
  good:
    cmd: sh -c 'echo x >> good_runs; echo ok > good.out'
    outs: [good.out]
    cache: false
  bad:
    cmd: sh -c 'echo y >> bad_runs; test -f fixed && echo ok > bad.out'
    outs: [bad.out]
  after_bad:
    cmd: sh -c 'cat bad.out > after.out'
    deps: [bad.out]
    outs: [after.out]
  independent:
    cmd: sh -c 'sleep 0.5; echo ok > ind.out'
    outs: [ind.out]
""")
        r, p = ws.pipeline("p.yaml", "--jobs", "2")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(r["status"], "failed")
        st = stages(r)
        self.assertEqual(st["bad"]["status"], "failed")
        self.assertEqual(st["after_bad"]["status"], "skipped")
        self.assertEqual(st["independent"]["status"], "succeeded")  # the others finish
        self.assertEqual(st["good"]["status"], "succeeded")
        self.assertIn("exited with code 1", st["bad"]["message"])
        shown = json.loads(ws.ok("runs", "show", st["bad"]["run"], "--json").stdout)
        self.assertEqual(shown["status"], "failed")
        ws.file("fixed", "")
        r2, p = ws.pipeline("--resume", r["run"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(r2["run"], r["run"])
        self.assertEqual(r2["status"], "succeeded")
        self.assertEqual(stages(r2)["good"]["run"], st["good"]["run"])  # not redone
        self.assertEqual(ws.read("good_runs").count("x"), 1)
        self.assertEqual(ws.read("bad_runs").count("y"), 2)
        self.assertEqual(ws.read("after.out").strip(), "ok")
        p = ws.run("pipeline", "run", "--resume", r["run"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already succeeded", p.stderr)
        # --stage: the stage and what it needs, nothing else
        r3, _ = ws.pipeline("p.yaml", "--stage", "after_bad", "--force", "after_bad")
        self.assertEqual(sorted(stages(r3)), ["after_bad", "bad"])
        p = ws.run("pipeline", "run", "p.yaml", "--stage", "nope")
        self.assertEqual(p.returncode, 2)
        self.assertIn("no stage 'nope'", p.stderr)
        # list, show, history
        runs = json.loads(ws.ok("pipeline", "list", "--json").stdout)
        self.assertEqual([x["run"] for x in runs], [r3["run"], r["run"]])
        hist = json.loads(ws.ok("pipeline", "history", "flaky", "--json").stdout)
        self.assertEqual(len(hist), 2)
        shown = json.loads(ws.ok("pipeline", "show", r["run"], "--json").stdout)
        self.assertEqual(shown["status"], "succeeded")
        self.assertIn("after_bad", ws.ok("pipeline", "show", r["run"]).stdout)

    def test_approval_and_rejection_are_audited(self):
        ws = Workspace("approval")
        ws.file("p.yaml", """
name: gated
stages:
  build:
    cmd: sh -c 'echo b > build.out'
    outs: [build.out]
  deploy:
    cmd: sh -c 'cat build.out > deployed.out'
    deps: [build.out]
    outs: [deployed.out]
    approval: required
  notify:
    cmd: sh -c 'echo n > notified.out'
    deps: [deployed.out]
    outs: [notified.out]
""")
        r, p = ws.pipeline("p.yaml")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(r["status"], "waiting_approval")
        self.assertEqual(stages(r)["deploy"]["status"], "waiting_approval")
        self.assertEqual(stages(r)["notify"]["status"], "pending")
        self.assertIn(f"enclave pipeline approve {r['run']} --stage deploy", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(ws.root, "deployed.out")))
        p = ws.run("pipeline", "approve", r["run"], "--stage", "build", "--reason", "x")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not waiting_approval", p.stderr)
        p = ws.ok("pipeline", "approve", r["run"], "--stage", "deploy", "--reason", "checked the eval",
                  "--json")
        done = json.loads(p.stdout)
        self.assertEqual(done["status"], "succeeded")
        self.assertEqual(ws.read("notified.out").strip(), "n")
        audit = json.loads(ws.ok("audit", "list", "--json").stdout)
        entries = audit["entries"] if isinstance(audit, dict) else audit
        approve = [e for e in entries if e["action"] == "pipeline-approve"]
        self.assertEqual(len(approve), 1)
        details = approve[0]["details"]
        details = json.loads(details) if isinstance(details, str) else details
        self.assertEqual(details["reason"], "checked the eval")
        self.assertEqual(details["stage"], "deploy")
        self.assertTrue(approve[0]["user"])
        # Rejection: the stage and what needs it never run.
        os.remove(os.path.join(ws.root, "notified.out"))
        r, p = ws.pipeline("p.yaml", "--force", "deploy")
        self.assertEqual(r["status"], "waiting_approval")
        p = ws.run("pipeline", "approve", r["run"], "--stage", "deploy", "--reject", "--reason",
                   "bad numbers", "--json")
        self.assertEqual(p.returncode, 1)
        done = json.loads(p.stdout)
        self.assertEqual(done["status"], "rejected")
        self.assertEqual(stages(done)["deploy"]["status"], "rejected")
        self.assertEqual(stages(done)["notify"]["status"], "skipped")
        self.assertFalse(os.path.exists(os.path.join(ws.root, "notified.out")))
        audit = json.loads(ws.ok("audit", "list", "--json").stdout)
        entries = audit["entries"] if isinstance(audit, dict) else audit
        self.assertEqual(len([e for e in entries if e["action"] == "pipeline-reject"]), 1)
        ws.ok("audit", "verify")

    def test_one_run_of_a_pipeline_at_a_time(self):
        ws = Workspace("single")
        ws.file("p.yaml", "name: single\nstages:\n  s:\n    cmd: sh -c 'touch started; sleep 3'\n    cache: false\n")
        env = clean_env(ENCLAVE_HOME=ws.root)
        first = subprocess.Popen([ENCLAVE, "pipeline", "run", "p.yaml"], cwd=ws.root, env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 20
            while not os.path.exists(os.path.join(ws.root, "started")):
                self.assertLess(time.time(), deadline)
                time.sleep(0.05)
            p = ws.run("pipeline", "run", "p.yaml")
            self.assertEqual(p.returncode, 1)
            self.assertIn("run 1 is still running", p.stderr)
            self.assertEqual(first.wait(timeout=30), 0)
        finally:
            if first.poll() is None:
                first.kill()
        r, _ = ws.pipeline("p.yaml")
        self.assertEqual(r["run"], 2)
        self.assertEqual(r["status"], "succeeded")

    def test_terminating_the_engine_stops_whole_stages_and_resume_finishes(self):
        ws = Workspace("terminate")
        ws.file("p.yaml", "name: term\nstages:\n  s:\n"
                "    cmd: sh -c 'test -f ok && exit 0; sleep 60 & echo $! > child.pid; wait'\n")
        env = clean_env(ENCLAVE_HOME=ws.root)
        engine = subprocess.Popen([ENCLAVE, "pipeline", "run", "p.yaml"], cwd=ws.root, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        pid_file = os.path.join(ws.root, "child.pid")
        deadline = time.time() + 20
        while not (os.path.exists(pid_file) and ws.read("child.pid").strip()):
            self.assertLess(time.time(), deadline)
            time.sleep(0.05)
        grandchild = int(ws.read("child.pid"))
        engine.send_signal(signal.SIGTERM)
        self.assertEqual(engine.wait(timeout=10), -signal.SIGTERM)
        deadline = time.time() + 10
        while os.path.exists(f"/proc/{grandchild}") and time.time() < deadline:
            with open(f"/proc/{grandchild}/stat") as f:
                if f.read().split(") ")[1].startswith("Z"):
                    break
            time.sleep(0.05)
        alive = os.path.exists(f"/proc/{grandchild}")
        if alive:
            with open(f"/proc/{grandchild}/stat") as f:
                alive = not f.read().split(") ")[1].startswith("Z")
        self.assertFalse(alive, "the stage's child outlived the engine")
        run = json.loads(ws.ok("pipeline", "show", "1", "--json").stdout)
        self.assertEqual(run["status"], "running")
        ws.file("ok", "")
        r, _ = ws.pipeline("--resume", "1")
        self.assertEqual(r["status"], "succeeded")

    def test_dag_command(self):
        ws = Workspace("dagcmd")
        ws.file("p.yaml", """
name: g
stages:
  a: {cmd: 'true', outs: [a.txt]}
  b: {cmd: 'true', deps: [a.txt]}
on:
  schedule: "0 3 * * *"
""")
        dot = ws.ok("pipeline", "dag", "p.yaml", "--dot").stdout
        self.assertIn('"a" -> "b";', dot)
        j = json.loads(ws.ok("pipeline", "dag", "p.yaml", "--json").stdout)
        self.assertEqual([s["name"] for s in j["stages"]], ["a", "b"])
        self.assertEqual(j["triggers"][0]["id"], "schedule:0 3 * * *")


class PipelineFileTest(unittest.TestCase):
    """Each kind of bad pipeline file: an error naming file, field, line and reason."""

    def check(self, text, *expected):
        ws = Workspace("badfile")
        path = ws.file("bad.yaml", text)
        p = ws.run("pipeline", "dag", "bad.yaml")
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("bad.yaml", p.stderr)
        for e in expected:
            self.assertIn(e, p.stderr)
        p = ws.run("pipeline", "run", path)
        self.assertEqual(p.returncode, 1)
        return p.stderr

    def test_unknown_key(self):
        self.check("name: x\nstages:\n  a:\n    cmd: 'true'\n    cahce: false\n",
                   "stages.a.cahce (line 5)", "unknown key")
        self.check("name: x\nstage: {}\n", "stage (line 2)", "unknown key")

    def test_cycle(self):
        self.check("name: x\nstages:\n  a:\n    cmd: 'true'\n    deps: [b.txt]\n    outs: [a.txt]\n"
                   "  b:\n    cmd: 'true'\n    deps: [a.txt]\n    outs: [b.txt]\n",
                   "dependency cycle", "a -> b -> a")

    def test_unknown_stage_reference(self):
        self.check("name: x\nstages:\n  a:\n    cmd: echo ${stages.nope.outs.m}\n",
                   "stages.a.cmd (line 4)", "no stage named 'nope'")
        self.check("name: x\nstages:\n  a:\n    cmd: 'true'\n    outs: [a.txt]\n"
                   "  b:\n    cmd: echo ${stages.a.outs.other}\n",
                   "stages.b.cmd (line 7)", "stage a has no output 'other'")

    def test_unknown_parameter(self):
        self.check("name: x\nstages:\n  a:\n    cmd: echo ${steps}\n",
                   "stages.a.cmd (line 4)", "no parameter 'steps'")

    def test_bad_cron(self):
        self.check("name: x\nstages:\n  a: {cmd: 'true'}\non:\n  schedule: '0 25 * * *'\n",
                   "on.schedule (line 5)", "hour field")
        self.check("name: x\nstages:\n  a: {cmd: 'true'}\non:\n  schedule: '0 3 * *'\n",
                   "on.schedule", "has 4 fields")

    def test_bad_trigger(self):
        self.check("name: x\nstages:\n  a: {cmd: 'true'}\non:\n  feedback: {new: 0}\n",
                   "on.feedback", "positive integer")
        self.check("name: x\nstages:\n  a: {cmd: 'true'}\non:\n  dataset: {name: d}\n",
                   "on.dataset", "exactly one of new_versions and new_rows")
        self.check("name: x\nstages:\n  a: {cmd: 'true'}\non:\n  rain: {}\n",
                   "on.rain (line 5)", "unknown key")
        self.check("name: x\nstages:\n  a: {cmd: 'true'}\non:\n  pipeline: {name: p, status: done}\n",
                   "on.pipeline.status", "not succeeded, failed or any")

    def test_two_stages_one_output_and_missing_fields(self):
        self.check("name: x\nstages:\n  a: {cmd: 'true', outs: ['model:m']}\n"
                   "  b: {cmd: 'true', outs: ['model:m']}\n", "also an output of stage a")
        self.check("stages:\n  a: {cmd: 'true'}\n", "name", "missing")
        self.check("name: x\nstages:\n  a: {deps: [f]}\n", "stages.a.cmd", "missing")
        self.check("name: x\nstages:\n  a: {cmd: 'true', outs: ['model:m@2']}\n", "stages.a.outs")


class TriggerTest(unittest.TestCase):
    def watch(self, ws, now, extra_env=None, **kw):
        env = {"ENCLAVE_PIPELINE_NOW": now}
        env.update(extra_env or {})
        p = ws.run("pipeline", "watch", "--dir", "pipelines", "--once", env=env, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return p.stdout

    def runs_of(self, ws, name):
        p = ws.run("pipeline", "history", name, "--json")
        return json.loads(p.stdout) if p.returncode == 0 else []

    def feedback_db(self, ws):
        path = os.path.join(ws.root, ".enclave", "serve", "requests.db")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        db = sqlite3.connect(path)
        db.executescript(fixtures.REQUESTS_SCHEMA)
        return db

    def add_feedback(self, ws, n, rating=1):
        db = self.feedback_db(ws)
        start = db.execute("SELECT COUNT(*) FROM requests").fetchone()[0]
        for i in range(start, start + n):
            db.execute("INSERT INTO requests (id, created_at, key_id, endpoint, model, model_version, model_version_id, prompt, completion, prompt_tokens, completion_tokens, ttft, latency, finish_reason, status)"
                       " VALUES (?, ?, '', 'completions', 'm', 'm@1', NULL, ?, ?, 1, 1, 0, 0, 'stop', 200)",
                       (f"cmpl-{i}", time.time(), f"prompt {i}", f"answer {i}"))
            db.execute("INSERT INTO feedback (request_id, created_at, key_id, rating, correction) VALUES (?, ?, '', ?, ?)",
                       (f"cmpl-{i}", time.time(), rating, f"better answer {i}"))
        db.commit()
        db.close()

    def simple(self, ws, name, on):
        ws.file(f"pipelines/{name}.yaml", f"""
name: {name}
stages:
  s:
    cmd: sh -c 'echo run >> {name}.log'
    cache: false
on:
{on}""")

    def test_feedback_dataset_alias_and_pipeline_triggers(self):
        ws = Workspace("triggers")
        now = str(int(time.time()))
        self.simple(ws, "fb", "  feedback: {new: 3}\n")
        self.simple(ws, "ds", "  dataset: {name: docs, new_versions: 2}\n")
        self.simple(ws, "rows", "  dataset: {name: docs, new_rows: 5}\n")
        self.simple(ws, "alias", "  model_alias: {name: base, alias: production}\n")
        self.simple(ws, "after", "  pipeline: {name: fb, status: succeeded}\n")
        ws.file("d1/a.jsonl", "{}\n{}\n")
        ws.ok("datasets", "register", "docs", "d1")
        ws.file("m1/config.json", "{}")
        ws.ok("models", "register", "base", "m1")
        ws.ok("models", "alias", "base@1", "production")
        self.add_feedback(ws, 1)
        out = self.watch(ws, now)  # baselines only
        self.assertIn("trigger feedback: baseline", out)
        self.assertEqual(sum(len(self.runs_of(ws, n)) for n in ("fb", "ds", "rows", "alias", "after")), 0)
        self.add_feedback(ws, 2)
        out = self.watch(ws, now)
        self.assertIn("trigger feedback: wait: 2 new feedback rows < 3", out)
        self.add_feedback(ws, 1)
        out = self.watch(ws, now)
        self.assertIn("trigger feedback: fire: 3 new feedback rows >= 3", out)
        fb = self.runs_of(ws, "fb")
        self.assertEqual(len(fb), 1)
        self.assertEqual(fb[0]["status"], "succeeded")
        self.assertEqual(fb[0]["trigger"], "feedback")
        # the pipeline trigger sees fb's run on the next round, once
        out = self.watch(ws, now)
        self.assertIn("trigger pipeline:fb: fire: pipeline fb run", out)
        self.assertEqual(len(self.runs_of(ws, "after")), 1)
        self.assertEqual(len(self.runs_of(ws, "fb")), 1)  # the cursor moved: no second run
        out = self.watch(ws, now)
        self.assertEqual(len(self.runs_of(ws, "after")), 1)
        # dataset versions and rows
        ws.file("d2/a.jsonl", "{}\n{}\n{}\n")
        ws.ok("datasets", "register", "docs", "d2")
        out = self.watch(ws, now)
        self.assertIn("1 new versions of dataset docs < 2", out)
        self.assertIn("dataset docs grew by 1 rows < 5", out)
        ws.file("d3/a.jsonl", "{}\n" * 7)
        ws.ok("datasets", "register", "docs", "d3")
        out = self.watch(ws, now)
        self.assertIn("2 new versions of dataset docs >= 2", out)
        self.assertIn("dataset docs grew by 5 rows >= 5", out)
        self.assertEqual(len(self.runs_of(ws, "ds")), 1)
        self.assertEqual(len(self.runs_of(ws, "rows")), 1)
        # the alias
        self.assertEqual(len(self.runs_of(ws, "alias")), 0)
        ws.ok("models", "register", "base", "m1")
        ws.ok("models", "alias", "base@2", "production")
        out = self.watch(ws, now)
        self.assertIn("base:production moved from base@1 to base@2", out)
        self.assertEqual(len(self.runs_of(ws, "alias")), 1)
        out = self.watch(ws, now)
        self.assertEqual(len(self.runs_of(ws, "alias")), 1)
        status = json.loads(ws.ok("pipeline", "status", "--dir", "pipelines", "--json").stdout)
        byname = {p["name"]: p for p in status["pipelines"]}
        self.assertEqual(byname["alias"]["last_run"]["status"], "succeeded")
        self.assertEqual(byname["alias"]["triggers"][0]["fires"], 1)
        self.assertIsNotNone(byname["alias"]["triggers"][0]["fired_at"])

    def test_monitor_trigger_fires_once_per_breach(self):
        ws = Workspace("monitor")
        self.simple(ws, "retrain", "  monitor: {metric: feedback.negative_rate, window: 24h, above: 0.2}\n")
        # the pipeline's clock an hour on: the feedback added below is inside its 24h window
        now = str(int(time.time()) + 3600)
        out = self.watch(ws, now)
        self.assertIn("trigger monitor: wait:", out)
        self.assertIn("no request log yet", out)
        self.add_feedback(ws, 4)
        out = self.watch(ws, now)
        self.assertIn("trigger monitor: wait: feedback.negative_rate = 0 over the last 24h (above 0.2: ok)", out)
        self.add_feedback(ws, 2, rating=-1)  # 2 of 6
        out = self.watch(ws, now)
        self.assertIn("trigger monitor: fire: feedback.negative_rate = 0.3333 over the last 24h (above 0.2: firing)", out)
        self.assertEqual(len(self.runs_of(ws, "retrain")), 1)
        out = self.watch(ws, now)  # still breached: the same alert, no second run
        self.assertIn("(above 0.2: firing)", out)
        self.assertEqual(len(self.runs_of(ws, "retrain")), 1)
        self.add_feedback(ws, 6)  # 2 of 12: cleared
        out = self.watch(ws, now)
        self.assertIn("= 0.1667 over the last 24h (above 0.2: ok)", out)
        self.add_feedback(ws, 4, rating=-0.5)  # 6 of 16: raised again
        out = self.watch(ws, now)
        self.assertIn("trigger monitor: fire:", out)
        self.assertEqual(len(self.runs_of(ws, "retrain")), 2)
        # the pipeline's rule left its events where alerts keep theirs
        events = ws.db().execute("SELECT event FROM alert_events WHERE rule = 'pipeline:retrain' ORDER BY id").fetchall()
        self.assertEqual([e[0] for e in events], ["raised", "cleared", "raised"])
        # the window ends at the pipeline's clock: two days on, it holds no feedback
        out = self.watch(ws, str(int(now) + 2 * 86400))
        self.assertIn("feedback.negative_rate = no data over the last 24h", out)

        # the same figures through `monitor report` and `monitor alerts`
        report = json.loads(ws.ok("monitor", "report", "--since", "24h", "--json").stdout)
        metrics = report["windows"][0]["metrics"]
        self.assertEqual(metrics["serve.requests"], 16)
        self.assertAlmostEqual(metrics["feedback.negative_rate"], 6 / 16)
        self.assertAlmostEqual(metrics["feedback.mean_rating"], (10 - 2 - 2) / 16)
        run = json.loads(ws.ok("runs", "show", str(report["run_id"]), "--json").stdout)
        self.assertEqual(run["kind"], "monitor")
        self.assertAlmostEqual(run["metrics"]["feedback.negative_rate"]["last"], 6 / 16)
        ws.file("alerts.yaml", "alerts:\n  - name: unhappy\n    metric: feedback.negative_rate\n"
                "    window: 24h\n    above: 0.5\n  - name: slow\n    metric: serve.latency_p95\n"
                "    window: 1h\n    threshold: 1\n    direction: above\n")
        alerts = json.loads(ws.ok("monitor", "alerts", "--rules", "alerts.yaml", "--json").stdout)
        self.assertEqual([(a["name"], a["state"], a["event"]) for a in alerts],
                         [("unhappy", "ok", ""), ("slow", "ok", "")])
        ws.file("bad.yaml", "alerts:\n  - metric: feedback.negative\n    window: 1h\n    above: 1\n")
        bad = ws.run("monitor", "alerts", "--rules", "bad.yaml")
        self.assertNotEqual(bad.returncode, 0)
        self.assertIn("bad.yaml: alerts[0].metric (line 2): unknown metric 'feedback.negative'", bad.stderr)

    def test_schedule_in_local_time(self):
        ws = Workspace("schedule")
        self.simple(ws, "nightly", '  schedule: "0 3 * * *"\n')
        seoul = {"TZ": "Asia/Seoul"}
        out = self.watch(ws, "2026-03-01T02:58", seoul)
        self.assertIn("baseline", out)
        self.watch(ws, "2026-03-01T02:59", seoul)
        self.assertEqual(len(self.runs_of(ws, "nightly")), 0)
        out = self.watch(ws, "2026-03-01T03:01", seoul)
        self.assertIn("was due at 2026-02-28T18:00:00", out)  # 03:00 in Seoul is 18:00 UTC
        self.assertEqual(len(self.runs_of(ws, "nightly")), 1)
        self.watch(ws, "2026-03-01T03:30", seoul)
        self.watch(ws, "2026-03-02T02:59", seoul)
        self.assertEqual(len(self.runs_of(ws, "nightly")), 1)
        self.watch(ws, "2026-03-02T03:00", seoul)
        self.assertEqual(len(self.runs_of(ws, "nightly")), 2)

    def test_watch_killed_and_restarted_neither_loses_nor_repeats(self):
        ws = Workspace("restart")
        ws.file("pipelines/slow.yaml", """
name: slow
stages:
  first:
    cmd: sh -c 'echo run >> first.log'
    outs: [first.log]
    cache: false
  second:
    cmd: sh -c 'echo start >> second.log; touch second.started; sleep 30; touch second.out'
    deps: [first.log]
    outs: [second.out]
    cache: false
  third:
    cmd: sh -c 'echo run >> third.log'
    deps: [second.out]
    cache: false
on:
  feedback: {new: 2}
""")
        self.watch(ws, str(int(time.time())))  # baseline
        self.add_feedback(ws, 2)
        env = clean_env(ENCLAVE_HOME=ws.root)
        watcher = subprocess.Popen([ENCLAVE, "pipeline", "watch", "--dir", "pipelines", "--interval", "0.5"],
                                   cwd=ws.root, env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        try:
            deadline = time.time() + 30
            while not os.path.exists(os.path.join(ws.root, "pipelines", "second.started")):
                self.assertLess(time.time(), deadline, "the fired run never reached its second stage")
                time.sleep(0.1)
            watcher.send_signal(signal.SIGKILL)
            watcher.wait(timeout=10)
        finally:
            if watcher.poll() is None:
                watcher.kill()
        runs = self.runs_of(ws, "slow")
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["status"], "running")
        # Stages run in the pipeline file's folder.
        # The restarted watcher resumes the run (its second stage again, the
        # first not) and starts no other: the feedback that fired it is spent.
        ws.file("pipelines/slow.yaml", ws.read("pipelines/slow.yaml").replace("sleep 30", "sleep 0"))
        out = self.watch(ws, str(int(time.time())))
        self.assertIn(f"resume: run {runs[0]['run']}", out)
        runs = self.runs_of(ws, "slow")
        self.assertEqual(len(runs), 1, out)
        self.assertEqual(runs[0]["status"], "succeeded", out)
        self.assertEqual(ws.read("pipelines/first.log").count("run"), 1)
        self.assertEqual(ws.read("pipelines/second.log").count("start"), 2)
        self.assertEqual(ws.read("pipelines/third.log").count("run"), 1)
        out = self.watch(ws, str(int(time.time())))
        self.assertIn("0 new feedback rows < 2", out)
        self.assertEqual(len(self.runs_of(ws, "slow")), 1)
        with ws.db() as db:
            fires = db.execute("SELECT trigger, run_id FROM pipeline_fires").fetchall()
        self.assertEqual(fires, [("feedback", runs[0]["run"])])


def main():
    global ENCLAVE, WORKDIR
    args, rest = harness.parse(__doc__, "pipeline_test")
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
