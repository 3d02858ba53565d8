"""Black-box tests of the store commands of the `enclave` binary: init and
workspace discovery, the model and dataset registry, runs, lineage, the audit
log, `store verify` and `store gc`; erasure (`monitor purge`, `datasets
purge`) and `store backup|restore`; bad names; two processes logging at once;
SIGKILL while storing or running; a tampered audit entry; a flipped byte in a
stored object.

    /usr/bin/python3 tests/store_cli_test.py --enclave build/src/cli/enclave --workdir /tmp/store-cli [-k pattern]

StoreCliTest is fast; StoreFaultTest kills processes and stores larger data.
"""

import argparse
import glob
import json
import re
import os
import shutil
import signal
import sqlite3
import stat
import subprocess
import sys
import threading
import time
import unittest
import harness

ENCLAVE = None
WORKDIR = None
EXIT_INTERNAL = 70  # main.cpp: an error that was not an enclave::Error


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("ENCLAVE_HOME", "ENCLAVE_RUN_ID")}
    env.update(extra)
    return env


def run(*args, cwd=None, env=None, timeout=300):
    return subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, cwd=cwd,
                          env=env if env is not None else clean_env(), timeout=timeout)


def fresh_dir(name):
    path = os.path.join(WORKDIR, name)
    if os.path.exists(path):
        for root, dirs, _ in os.walk(path):  # blobs and their folders may be read-only
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        shutil.rmtree(path)
    os.makedirs(path)
    return path


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def make_model_dir(path, flavour="a", size=4096):
    write(os.path.join(path, "config.json"), json.dumps({"hidden_size": 8, "flavour": flavour}))
    write(os.path.join(path, "model.safetensors"), (flavour.encode() * size)[:size])
    write(os.path.join(path, "tokenizer.json"), '{"model": {}}')
    write(os.path.join(path, "sub", "extra.txt"), "extra " + flavour)
    return path


def read_tree(path):
    out = {}
    for root, _, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = fh.read()
    return out


def list_files(path):
    out = set()
    for root, dirs, files in os.walk(path):
        out.update(os.path.relpath(os.path.join(root, x), path) for x in dirs + files)
    return out


def objects_of(ws):
    return sorted(os.path.basename(p) for p in glob.glob(os.path.join(ws, ".enclave", "objects", "sha256", "*", "*")))


class StoreCase(unittest.TestCase):
    """Commands run with ENCLAVE_HOME set to the test's workspace unless env= says otherwise."""

    def setUp(self):
        self.env = clean_env()

    def ok(self, *args, cwd=None, env=None):
        p = run(*args, cwd=cwd, env=env if env is not None else self.env)
        self.assertEqual(p.returncode, 0, f"enclave {' '.join(map(str, args))}: exit {p.returncode}: {p.stderr}")
        return p

    def ok_json(self, *args, cwd=None, env=None):
        return json.loads(self.ok(*args, "--json", cwd=cwd, env=env).stdout)

    def expect_error(self, args, *must_contain, code=None, cwd=None, env=None, stdout_empty=True):
        p = run(*args, cwd=cwd, env=env if env is not None else self.env)
        cmd = "enclave " + " ".join(map(repr, args))
        self.assertNotEqual(p.returncode, 0, f"{cmd}: exit code 0, expected an error; stdout {p.stdout[:300]!r}")
        self.assertGreater(p.returncode, 0, f"{cmd}: killed by signal {-p.returncode}; stderr {p.stderr[-500:]!r}")
        self.assertNotEqual(p.returncode, EXIT_INTERNAL, f"{cmd}: internal error: {p.stderr!r}")
        if code is not None:
            self.assertEqual(p.returncode, code, f"{cmd}: stderr {p.stderr!r}")
        # `runs exec` announces its run before the program starts; the error is the rest.
        err = "\n".join(l for l in p.stderr.strip().splitlines() if not re.fullmatch(r"enclave: run \d+ started", l))
        self.assertTrue(err, f"{cmd}: nothing on stderr")
        self.assertNotIn("\n", err, f"{cmd}: stderr is not one line:\n{p.stderr}")
        self.assertTrue(err.startswith("enclave: error:"), err)
        for word in must_contain:
            self.assertIn(str(word).lower(), err.lower(), f"{cmd}: stderr does not mention {word!r}: {err}")
        if stdout_empty:
            self.assertEqual(p.stdout, "", f"{cmd}: printed to stdout on failure")
        return p

    def workspace(self, name):
        ws = fresh_dir(name)
        self.ok("init", ws)
        self.env = clean_env(ENCLAVE_HOME=ws)
        return ws

    def exec_run(self, ws, *args, script="true", expect_code=0):
        p = run("runs", "exec", "--workspace", ws, *args, "--", "sh", "-c", script)
        self.assertEqual(p.returncode, expect_code, p.stderr)
        for line in p.stderr.splitlines():
            if line.startswith("enclave: run ") and line.endswith(" started"):
                return int(line.split()[2]), p
        self.fail(f"no 'run N started' line: {p.stderr!r}")


class StoreCliTest(StoreCase):
    def test_init_creates_wal_database_and_objects(self):
        ws = fresh_dir("init")
        target = os.path.join(ws, "new", "project")
        j = self.ok_json("init", target)
        self.assertTrue(j["created"])
        self.assertEqual(j["root"], target)
        self.assertTrue(os.path.isfile(os.path.join(target, ".enclave", "enclave.db")))
        self.assertTrue(os.path.isdir(os.path.join(target, ".enclave", "objects")))
        db = sqlite3.connect(os.path.join(target, ".enclave", "enclave.db"))
        self.assertEqual(db.execute("PRAGMA journal_mode").fetchone()[0], "wal")
        versions = [r[0] for r in db.execute("SELECT version FROM schema_version")]
        self.assertEqual(versions, list(range(1, j["schema_version"] + 1)))
        db.close()
        again = self.ok_json("init", target)
        self.assertFalse(again["created"])
        self.assertIn("already", self.ok("init", target).stdout)
        # init in the current folder, and a text summary
        here = fresh_dir("init-here")
        self.assertIn(".enclave", self.ok("init", cwd=here).stdout)
        self.assertTrue(os.path.isfile(os.path.join(here, ".enclave", "enclave.db")))

    def test_a_fresh_workspace_is_readable_by_its_owner_only(self):
        ws = self.workspace("modes")
        model = os.path.join(WORKDIR, "modes-model")
        write(os.path.join(model, "config.json"), "{}")
        write(os.path.join(model, "model.safetensors"), b"weights")
        self.ok("models", "register", "m", model)
        self.exec_run(ws, "--name", "r")
        open_to_others = []
        for root, dirs, files in os.walk(os.path.join(ws, ".enclave")):
            for name in dirs + files:
                path = os.path.join(root, name)
                mode = os.lstat(path).st_mode
                if mode & 0o077:
                    open_to_others.append(f"{path} {stat.filemode(mode)}")
        self.assertEqual(open_to_others, [])
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(ws, ".enclave")).st_mode), 0o700)
        # A group-shared workspace (setgid or group-writable .enclave) keeps
        # group access, never others'.
        for mode in (0o2770, 0o770):
            shared = fresh_dir(f"modes-shared-{mode:o}")
            os.makedirs(os.path.join(shared, ".enclave"))
            os.chmod(os.path.join(shared, ".enclave"), mode)
            self.ok("init", shared)
            db = os.lstat(os.path.join(shared, ".enclave", "enclave.db")).st_mode
            self.assertEqual(stat.S_IMODE(db) & 0o077, 0o040, stat.filemode(db))
            dot = os.stat(os.path.join(shared, ".enclave")).st_mode
            self.assertEqual(stat.S_IMODE(dot) & 0o777, 0o770, stat.filemode(dot))

    def test_init_refuses_a_file_and_a_symlinked_dot_dir(self):
        base = fresh_dir("init-bad")
        write(os.path.join(base, "file"), "x")
        self.expect_error(["init", os.path.join(base, "file")], "not a folder")
        os.makedirs(os.path.join(base, "elsewhere"))
        os.makedirs(os.path.join(base, "ws"))
        os.symlink(os.path.join(base, "elsewhere"), os.path.join(base, "ws", ".enclave"))
        self.expect_error(["init", os.path.join(base, "ws")], "symbolic link")
        self.assertEqual(os.listdir(os.path.join(base, "elsewhere")), [])

    def test_workspace_is_found_by_walking_up_flag_and_env(self):
        ws = self.workspace("find")
        deep = os.path.join(ws, "a", "b", "c")
        os.makedirs(deep)
        make_model_dir(os.path.join(ws, "m"))
        self.env = clean_env()  # no ENCLAVE_HOME: found by walking up from cwd
        self.ok("models", "register", "m", os.path.join(ws, "m"), cwd=deep)
        names = lambda j: [e["name"] for e in j]  # noqa: E731
        self.assertEqual(names(self.ok_json("models", "list", cwd=deep)), ["m"])
        elsewhere = fresh_dir("find-elsewhere")
        self.assertEqual(names(self.ok_json("models", "list", "--workspace", ws, cwd=elsewhere)), ["m"])
        self.assertEqual(names(json.loads(self.ok("--workspace", ws, "models", "list", "--json", cwd=elsewhere).stdout)),
                         ["m"])
        self.assertEqual(names(self.ok_json("models", "list", cwd=elsewhere, env=clean_env(ENCLAVE_HOME=ws))), ["m"])
        # --workspace may name the .enclave folder itself
        self.assertEqual(names(self.ok_json("models", "list", "--workspace", os.path.join(ws, ".enclave"))), ["m"])
        self.expect_error(["models", "list"], "enclave init", code=2, cwd=elsewhere)
        self.expect_error(["models", "list", "--workspace", elsewhere], "enclave init", code=2)
        self.expect_error(["runs", "list"], "enclave init", code=2, cwd=elsewhere,
                          env=clean_env(ENCLAVE_HOME=os.path.join(elsewhere, "nope")))

    def test_models_register_list_show_alias_tag_path(self):
        ws = self.workspace("models")
        src1 = make_model_dir(os.path.join(ws, "src1"), "a")
        src2 = make_model_dir(os.path.join(ws, "src2"), "b")
        v1 = self.ok_json("models", "register", "llama", src1)
        self.assertEqual((v1["name"], v1["version"], v1["ref"]), ("llama", 1, "llama@1"))
        self.assertRegex(v1["artifact"], r"^sha256:[0-9a-f]{64}$")
        text = self.ok("models", "register", "llama", src2).stdout
        self.assertIn("llama@2", text)

        listing = self.ok_json("models", "list")
        self.assertEqual(len(listing), 1)
        self.assertEqual((listing[0]["name"], listing[0]["latest_version"], listing[0]["n_versions"]), ("llama", 2, 2))
        self.assertIn("llama", self.ok("models", "list").stdout)

        shown = self.ok_json("models", "show", "llama")
        self.assertEqual([v["version"] for v in shown["versions"]], [1, 2])
        one = self.ok_json("models", "show", "llama@1")
        self.assertEqual(one["artifact"], v1["artifact"])
        self.assertEqual(sorted(f["path"] for f in one["artifact_info"]["files"]),
                         ["config.json", "model.safetensors", "sub/extra.txt", "tokenizer.json"])
        self.assertIn("model.safetensors", self.ok("models", "show", "llama@1").stdout)

        moved = self.ok_json("models", "alias", "llama@1", "production")
        self.assertEqual(moved["aliases"], ["production"])
        self.assertIn("llama:staging -> llama@2", self.ok("models", "alias", "llama@2", "staging").stdout)
        self.ok("models", "alias", "llama@2", "production")  # moving an alias
        self.assertEqual(self.ok_json("models", "show", "llama:production")["version"], 2)
        self.expect_error(["models", "alias", "llama@1", "latest"], "reserved", code=1)
        self.expect_error(["models", "alias", "llama@9", "x"], "no version 9", code=2)

        tagged = self.ok_json("models", "tag", "llama@1", "stage=candidate", "owner=nlp")
        self.assertEqual(tagged["tags"], {"owner": "nlp", "stage": "candidate"})
        tagged = self.ok_json("models", "tag", "llama@1", "--remove", "owner")
        self.assertEqual(tagged["tags"], {"stage": "candidate"})
        self.expect_error(["models", "tag", "llama@1", "--remove", "nope"], "nope", code=2)

        # path: a stored version's folder holds exactly the registered files
        p1 = self.ok("models", "path", "llama@1").stdout.strip()
        self.assertEqual(read_tree(p1), read_tree(src1))
        self.assertEqual(read_tree(self.ok("models", "path", "llama").stdout.strip()), read_tree(src2))
        self.assertEqual(read_tree(self.ok("models", "path", "llama:production").stdout.strip()), read_tree(src2))
        self.assertEqual(self.ok("models", "path", "llama:latest").stdout.strip(),
                         self.ok("models", "path", "llama@2").stdout.strip())
        self.assertTrue(p1.startswith(os.path.join(ws, ".enclave")), p1)
        # a plain folder is a model reference too
        self.assertEqual(self.ok("models", "path", src1).stdout.strip(), src1)
        self.expect_error(["models", "path", "nobody"], "nobody", code=2)
        self.expect_error(["models", "path", "llama@3"], "no version 3", code=2)
        self.expect_error(["models", "show", "llama:nope"], "nope", code=2)

        # versions are immutable: the database refuses an update
        db = sqlite3.connect(os.path.join(ws, ".enclave", "enclave.db"))
        with self.assertRaises(sqlite3.DatabaseError):
            db.execute("UPDATE registry_versions SET artifact = artifact WHERE version = 1")
        db.close()

        actions = [e["action"] for e in self.ok_json("audit", "list")]
        self.assertEqual(actions, ["init", "register", "register", "alias", "alias", "alias", "tag", "tag"])

    def test_model_commands_take_registry_references(self):
        ws = self.workspace("refs")
        src = os.path.join(ws, "tiny")
        self.ok("model", "init", "--preset", "tiny", "--out", src, "--seed", "3")
        self.ok("models", "register", "tiny", src)
        self.ok("models", "alias", "tiny@1", "production")
        by_dir = self.ok_json("score", "--model", src, "--text", "hello there")
        for ref in ("tiny", "tiny@1", "tiny:production"):
            self.assertEqual(self.ok_json("score", "--model", ref, "--text", "hello there"), by_dir)
        self.assertEqual(self.ok_json("tokenize", "--model", "tiny:production", "--text", "hello"),
                         self.ok_json("tokenize", "--model", src, "--text", "hello"))
        self.assertEqual(self.ok_json("model", "inspect", "tiny@1")["n_parameters"],
                         self.ok_json("model", "inspect", src)["n_parameters"])
        gen = ["--prompt", "Once", "--max-tokens", "5", "--temperature", "0"]
        self.assertEqual(self.ok("generate", "--model", "tiny:production", *gen).stdout,
                         self.ok("generate", "--model", src, *gen).stdout)
        self.expect_error(["score", "--model", "tiny@7", "--text", "x"], "no version 7", code=2)
        self.expect_error(["generate", "--model", "nobody", "--prompt", "x"], "nobody", code=2)

    def test_identical_content_is_stored_once(self):
        ws = self.workspace("dedup")
        src = make_model_dir(os.path.join(ws, "src"), size=100000)
        copy = os.path.join(ws, "copy")
        shutil.copytree(src, copy)
        a = self.ok_json("models", "register", "m", src)
        before = objects_of(ws)
        b = self.ok_json("models", "register", "m2", copy)
        self.assertEqual(a["artifact"], b["artifact"])
        self.assertEqual(objects_of(ws), before)
        # 4 files + 1 manifest
        self.assertEqual(len(before), 5)

    def test_datasets_share_the_verbs(self):
        ws = self.workspace("datasets")
        write(os.path.join(ws, "train.jsonl"), '{"text": "hello"}\n')
        folder = os.path.join(ws, "corpus")
        write(os.path.join(folder, "a.jsonl"), '{"text": "a"}\n')
        write(os.path.join(folder, "b.jsonl"), '{"text": "b"}\n')
        single = self.ok_json("datasets", "register", "chat", os.path.join(ws, "train.jsonl"))
        self.assertEqual(single["kind"], "dataset")
        self.ok("datasets", "register", "chat", folder)
        self.assertEqual([d["name"] for d in self.ok_json("datasets", "list")], ["chat"])
        self.assertEqual(self.ok_json("models", "list"), [])
        self.ok("datasets", "alias", "chat@1", "golden")
        self.assertEqual(self.ok_json("datasets", "show", "chat:golden")["version"], 1)
        self.ok("datasets", "tag", "chat@2", "source=wiki")
        self.assertEqual(self.ok_json("datasets", "show", "chat@2")["tags"], {"source": "wiki"})
        path = self.ok("datasets", "path", "chat@1").stdout.strip()
        with open(path) as f:
            self.assertEqual(f.read(), '{"text": "hello"}\n')
        self.assertEqual(read_tree(self.ok("datasets", "path", "chat").stdout.strip()), read_tree(folder))
        self.expect_error(["models", "show", "chat"], "not registered", code=2)

    def test_bad_names_are_rejected_and_nothing_is_written_outside(self):
        ws = self.workspace("badnames")
        src = make_model_dir(os.path.join(ws, "src"))
        parent = os.path.dirname(ws)
        before_parent = set(os.listdir(parent))
        before_ws = list_files(ws)
        bad = ["a/b", "../evil", "..", "a..b", "/etc/passwd", "/tmp/x", "", "x" * 200, "bad\x01name",
               "new\nline", "tab\tname", "back\\slash", "%2e%2e%2f", "C:\\x", "name#frag", ".hidden", "-flag"]
        for name in bad:
            with self.subTest(name=name):
                self.expect_error(["models", "register", "--", name, src] if name.startswith("-")
                                  else ["models", "register", name, src], code=1)
                self.expect_error(["datasets", "register", name, src] if not name.startswith("-")
                                  else ["datasets", "register", "--", name, src], code=1)
        self.ok("models", "register", "good", src)
        for alias in ["a/b", "..", "/abs", "x\x7f", "", "y" * 200]:
            with self.subTest(alias=alias):
                self.expect_error(["models", "alias", "good@1", alias], code=1)
        for tag in ["a/b=1", "../k=v", "k=v\x01"]:
            with self.subTest(tag=tag):
                self.expect_error(["models", "tag", "good@1", tag], code=1)
        for ref in ["good@0", "good@-1", "good@x", "good@1@2", "good:", "good:../x", "../good"]:
            with self.subTest(ref=ref):
                self.expect_error(["datasets", "path", ref])
                self.expect_error(["models", "show", ref])
        # NUL cannot travel in argv; names.cpp's unit tests cover it.
        self.assertEqual(set(os.listdir(parent)), before_parent)
        after = list_files(ws)
        self.assertTrue(all(p.startswith(".enclave") for p in after - before_ws), after - before_ws)
        self.assertEqual([e["name"] for e in self.ok_json("models", "list")], ["good"])
        self.assertEqual(self.ok_json("datasets", "list"), [])


def as_user(user, group):
    """A command prefix running as another OS user (root only), or None."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        return None
    return ["setpriv", f"--reuid={user}", f"--regid={group}", "--clear-groups", "--"]


class UsersTest(StoreCase):
    """Roles of OS users in a shared workspace: `users add/list/remove`, the
    CLI refusing a command the user's role does not allow (a real second OS
    user, `nobody`, through setpriv), and audit entries naming their actor."""

    def test_roles_are_checked_and_the_audit_log_names_the_actor(self):
        ws = fresh_dir("users")
        os.chmod(ws, 0o755)
        init = self.ok_json("init", ws, "--shared-group", "nogroup")
        self.assertEqual(init["shared_group"], "nogroup")
        dot = os.path.join(ws, ".enclave")
        st = os.stat(dot)
        self.assertTrue(st.st_mode & stat.S_ISGID and st.st_mode & 0o070 == 0o070, oct(st.st_mode))
        self.assertEqual(os.stat(os.path.join(dot, "enclave.db")).st_mode & 0o060, 0o060)
        self.env = clean_env(ENCLAVE_HOME=ws)
        self.assertEqual(self.ok_json("users", "list"), [])
        me = self.ok_json("users", "add", "nobody", "--role", "viewer")
        # The first user added makes the one adding it admin, so it keeps the workspace.
        self.assertEqual([(u["name"], u["role"]) for u in me][1:], [("nobody", "viewer")])
        self.assertEqual(me[0]["role"], "admin")
        self.assertIn("viewer", self.ok("users", "list").stdout)
        self.expect_error(["users", "add", "x", "--role", "root"], "unknown role 'root'")
        self.expect_error(["users", "remove", me[0]["name"]], "last admin")
        model = make_model_dir(os.path.join(WORKDIR, "users-model"))
        self.ok("models", "register", "m", model)
        prefix = as_user("nobody", "nogroup")
        if prefix is None:
            self.skipTest("not root (or no setpriv): cannot run the CLI as another OS user")
        def nobody(*args):
            return subprocess.run([*prefix, ENCLAVE, *args], capture_output=True, text=True,
                                  env=self.env, cwd="/", timeout=60)
        p = nobody("models", "list")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("m", p.stdout)
        p = nobody("models", "alias", "m@1", "production")
        self.assertEqual(p.returncode, 77, p.stderr)
        for word in ("permission denied", "'nobody'", "'viewer'", "'approve'", "models alias"):
            self.assertIn(word, p.stderr)
        self.ok("users", "add", "nobody", "--role", "developer")
        p = nobody("models", "alias", "m@1", "production")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = nobody("models", "delete", "m@1")
        self.assertEqual(p.returncode, 77, p.stderr)
        self.assertIn("'admin'", p.stderr)
        self.ok("users", "remove", "nobody")
        p = nobody("models", "list")
        self.assertEqual(p.returncode, 77, p.stderr)
        self.assertIn("has no role", p.stderr)
        entries = self.ok_json("audit", "list")
        actors = {(e["action"], e["actor"]) for e in entries}
        self.assertIn(("alias", "nobody"), actors)
        self.assertIn(("user-remove", me[0]["name"]), actors)
        self.assertIn("ACTOR", self.ok("audit", "list").stdout)
        self.ok("audit", "verify")


class StoreRunsTest(StoreCase):
    def test_runs_exec_list_show_compare(self):
        ws = self.workspace("runs")
        r1, p = self.exec_run(ws, "--name", "lr-small", "--param", "lr=0.001", "--param", "optim=adamw",
                              "--seed", "7", script="echo hello-stdout; echo hello-stderr >&2; "
                              f"{ENCLAVE} runs log --metric loss=2.5 --metric acc=0.5; "
                              f"{ENCLAVE} runs log --metric loss=1.5 --param epochs=3")
        self.assertIn("hello-stdout", p.stdout)
        self.assertIn("hello-stderr", p.stderr)
        r2, _ = self.exec_run(ws, "--name", "lr-big", "--param", "lr=0.01", "--param", "optim=adamw",
                              script=f"{ENCLAVE} runs log --metric loss=0.9 --step 5")
        runs = self.ok_json("runs", "list")
        self.assertEqual([r["id"] for r in runs], [r2, r1])
        self.assertEqual(runs[1]["metrics"], {"acc": 0.5, "loss": 1.5})
        self.assertEqual(runs[0]["status"], "finished")
        self.assertIn("lr-small", self.ok("runs", "list").stdout)
        self.assertEqual(len(self.ok_json("runs", "list", "--limit", "1")), 1)
        self.assertEqual(self.ok_json("runs", "list", "--status", "failed"), [])
        self.assertEqual(len(self.ok_json("runs", "list", "--kind", "exec")), 2)

        shown = self.ok_json("runs", "show", str(r1), "--series", "--log")
        self.assertEqual(shown["params"], {"lr": 0.001, "optim": "adamw", "epochs": 3})
        self.assertEqual(shown["seed"], 7)
        self.assertEqual(shown["command"][:2], ["sh", "-c"])
        self.assertEqual(shown["metrics"]["loss"]["n"], 2)
        self.assertEqual([pt[:2] for pt in shown["metrics"]["loss"]["series"]], [[0, 2.5], [1, 1.5]])
        self.assertIn("hello-stdout", shown["log"])
        self.assertIn("hello-stderr", shown["log"])
        for field in ("program_version", "build_id", "host", "user", "started_at", "ended_at"):
            self.assertTrue(shown[field], field)
        text = self.ok("runs", "show", f"run:{r1}", "--log").stdout
        self.assertIn("params", text)
        self.assertIn("hello-stdout", text)

        cmp = self.ok_json("runs", "compare", str(r1), str(r2))
        params = {row["key"]: row for row in cmp["params"]}
        self.assertTrue(params["lr"]["differs"])
        self.assertFalse(params["optim"]["differs"])
        self.assertEqual(params["epochs"]["values"], [3, None])
        metrics = {row["key"]: row for row in cmp["metrics"]}
        self.assertEqual(metrics["loss"]["values"], [1.5, 0.9])
        text = self.ok("runs", "compare", str(r1), str(r2)).stdout
        self.assertRegex(text, r"\*\s*lr")
        self.assertNotRegex(text, r"\*\s*optim")

        self.expect_error(["runs", "show", "999"], "999", code=2)
        self.expect_error(["runs", "show", "abc"], "abc", code=1)
        self.expect_error(["runs", "compare", str(r1), "999"], "999", code=2)
        self.expect_error(["runs", "log", "--run", str(r1), "--metric", "loss=1"], "finished", code=1)
        self.expect_error(["runs", "log", "--metric", "loss=1"], "ENCLAVE_RUN_ID", code=1, env=clean_env())
        self.expect_error(["runs", "log", "--run", str(r1), "--metric", "loss=abc"], "not a number", code=1)
        self.expect_error(["runs", "log", "--run", str(r1), "--metric", "noequals"], "KEY=VALUE", code=1)

    def test_runs_exec_records_failure_and_passes_the_exit_code(self):
        ws = self.workspace("runs-fail")
        rid, _ = self.exec_run(ws, script="echo partial; exit 3", expect_code=3)
        shown = self.ok_json("runs", "show", str(rid))
        self.assertEqual(shown["status"], "failed")
        self.assertIn("exited with code 3", shown["message"])
        rid, _ = self.exec_run(ws, script="kill -TERM $$", expect_code=128 + 15)
        self.assertEqual(self.ok_json("runs", "show", str(rid))["status"], "killed")
        self.expect_error(["runs", "exec", "--workspace", ws, "--", "no-such-program-xyz"], "no-such-program-xyz",
                          code=2)
        self.assertEqual(self.ok_json("runs", "list", "--status", "failed")[0]["id"], rid + 1)
        self.expect_error(["runs", "exec", "--workspace", ws, "--output", os.path.join(ws, "never"), "--", "true"],
                          "never", code=2)
        self.expect_error(["runs", "exec", "--workspace", ws, "--input-model", "nobody", "--", "true"], "nobody",
                          code=2)

    def test_lineage_up_and_down(self):
        ws = self.workspace("lineage")
        write(os.path.join(ws, "data", "train.jsonl"), '{"text": "x"}\n')
        make_model_dir(os.path.join(ws, "base"))
        self.ok("datasets", "register", "corpus", os.path.join(ws, "data"))
        self.ok("models", "register", "base", os.path.join(ws, "base"))
        out = os.path.join(ws, "out")
        rid, _ = self.exec_run(ws, "--kind", "train", "--name", "sft", "--param", "lr=0.0003",
                               "--input-dataset", "corpus@1", "--input-model", "base", "--output", out,
                               script=f"mkdir -p {out} && cp -r {ws}/base/. {out}/ && echo tuned >> {out}/config.json")
        self.ok("models", "register", "tuned", out, "--from-run", str(rid))
        self.ok("models", "alias", "tuned@1", "production")
        rid2, _ = self.exec_run(ws, "--kind", "eval", "--input-model", "tuned:production")

        up = self.ok_json("lineage", "tuned", "--up")
        self.assertNotIn("downstream", up)
        self.assertEqual(up["root"]["ref"], "tuned@1")
        run_node = up["upstream"][0]
        self.assertEqual((run_node["type"], run_node["id"], run_node["kind"]), ("run", rid, "train"))
        self.assertEqual(run_node["params"], {"lr": 0.0003})
        parents = {(c["type"], c.get("ref")) for c in run_node["children"]}
        self.assertIn(("dataset", "corpus@1"), parents)
        self.assertIn(("model", "base@1"), parents)

        down = self.ok_json("lineage", "corpus", "--down")
        self.assertNotIn("upstream", down)

        def walk(nodes):
            for n in nodes:
                yield n
                yield from walk(n.get("children", []))

        found = {(n["type"], n.get("ref", n.get("id"))) for n in walk(down["downstream"])}
        self.assertIn(("run", rid), found)
        self.assertIn(("model", "tuned@1"), found)
        self.assertIn(("run", rid2), found)  # transitive: the eval of the tuned model

        both = self.ok_json("lineage", "tuned@1")
        self.assertIn("upstream", both)
        self.assertIn("downstream", both)
        tree = self.ok("lineage", "tuned:production").stdout
        self.assertIn("upstream", tree)
        self.assertIn("└── ", tree)
        self.assertIn("corpus@1", tree)
        # Parameters only on request: a training run's reach thousands of characters.
        self.assertNotIn("lr=0.0003", tree)
        self.assertIn("lr=0.0003", self.ok("lineage", "tuned:production", "--params").stdout)
        # A source folder that no longer exists is not shown; one that does is.
        self.assertIn(f"from {out}", tree)
        shutil.rmtree(out)
        self.assertNotIn(f"from {out}", self.ok("lineage", "tuned:production").stdout)
        run_tree = self.ok_json("lineage", f"run:{rid}")
        self.assertEqual(run_tree["root"]["type"], "run")
        self.expect_error(["lineage", "nothing"], "nothing", code=2)
        self.expect_error(["lineage", "run:999"], "999", code=2)
        self.expect_error(["lineage", "sha256:xyz"], code=1)

    def test_tables_fit_their_content(self):
        ws = self.workspace("tables")
        make_model_dir(os.path.join(ws, "m"))
        self.ok("models", "register", "a", os.path.join(ws, "m"))
        long_name = "a-rather-long-model-name-of-forty-characters"
        self.ok("models", "register", long_name, os.path.join(ws, "m"))
        lines = self.ok("models", "list").stdout.splitlines()
        header = lines[0]
        # The NAME column is as wide as the longest name, not a fixed 32.
        self.assertTrue(header.startswith("NAME" + " " * (len(long_name) - 4) + "  "), header)
        for line in lines:
            self.assertEqual(line, line.rstrip(), "trailing spaces")
        row = next(l for l in lines if l.startswith("a "))
        self.assertTrue(row.startswith("a" + " " * (len(long_name) - 1) + "  "), row)
        self.exec_run(ws, "--name", "x")
        runs = self.ok("runs", "list").stdout.splitlines()
        self.assertTrue(runs[0].startswith("ID  KIND"), runs[0])  # no fixed 5-wide id column

    def test_adapter_versions_say_whose_adapter_they_are(self):
        ws = self.workspace("adapters")
        make_model_dir(os.path.join(ws, "m"))
        write(os.path.join(ws, "lora", "adapter_config.json"), '{"peft_type": "LORA"}')
        self.ok("models", "register", "tiny", os.path.join(ws, "m"))
        self.ok("models", "register", "tiny-chat", os.path.join(ws, "lora"))
        self.ok("models", "tag", "tiny-chat@1", "type=adapter", "base=tiny@1")
        self.assertIn("adapter of tiny@1", self.ok("models", "list").stdout)
        self.assertIn("adapter of tiny@1", self.ok("models", "show", "tiny-chat").stdout)
        self.assertIn("type      adapter of tiny@1", self.ok("models", "show", "tiny-chat@1").stdout)
        # `models path` of an adapter is its own folder, as --adapter takes it.
        path = self.ok("models", "path", "tiny-chat").stdout.strip()
        self.assertTrue(os.path.isfile(os.path.join(path, "adapter_config.json")), path)

    def test_audit_list_and_verify(self):
        ws = self.workspace("audit")
        make_model_dir(os.path.join(ws, "m"))
        self.ok("models", "register", "m", os.path.join(ws, "m"))
        self.ok("models", "alias", "m@1", "production")
        entries = self.ok_json("audit", "list")
        self.assertEqual([e["action"] for e in entries], ["init", "register", "alias"])
        self.assertEqual(entries[1]["object"], "model m@1")
        self.assertEqual(entries[1]["prev_hash"], entries[0]["hash"])
        self.assertTrue(all(e["user"] and e["time"] for e in entries))
        self.assertEqual(len(self.ok_json("audit", "list", "--limit", "1")), 1)
        self.assertEqual([e["action"] for e in self.ok_json("audit", "list", "--action", "alias")], ["alias"])
        self.assertIn("register", self.ok("audit", "list").stdout)
        report = self.ok_json("audit", "verify")
        self.assertTrue(report["ok"])
        self.assertEqual(report["n_entries"], 3)
        self.assertIn("OK", self.ok("audit", "verify").stdout)


class StoreGcTest(StoreCase):
    def test_store_verify_and_gc(self):
        ws = self.workspace("verify-gc")
        make_model_dir(os.path.join(ws, "m"))
        self.ok("models", "register", "m", os.path.join(ws, "m"))
        self.ok("models", "path", "m")
        report = self.ok_json("store", "verify")
        self.assertTrue(report["ok"])
        self.assertEqual((report["n_objects"], report["n_artifacts"]), (5, 1))
        self.assertIn("store OK", self.ok("store", "verify").stdout)
        live = objects_of(ws)

        # garbage: an unreferenced blob (as a killed writer leaves) and an abandoned temp file
        import hashlib
        data = b"orphan blob"
        hexd = hashlib.sha256(data).hexdigest()
        write(os.path.join(ws, ".enclave", "objects", "sha256", hexd[:2], hexd), data)
        write(os.path.join(ws, ".enclave", "tmp", "obj-123-abandoned"), b"half")
        dry = self.ok_json("store", "gc", "--dry-run")
        self.assertEqual((dry["objects"], dry["temp_files"], dry["dry_run"]), (1, 1, True))
        self.assertIn(hexd, objects_of(ws))
        done = self.ok_json("store", "gc")
        self.assertEqual((done["objects"], done["temp_files"]), (1, 1))
        self.assertEqual(objects_of(ws), live)
        self.assertEqual(os.listdir(os.path.join(ws, ".enclave", "tmp")), [])
        self.assertIn("removed 0", self.ok("store", "gc").stdout)
        self.assertEqual([e["action"] for e in self.ok_json("audit", "list", "--action", "gc")], ["gc", "gc"])
        self.assertTrue(self.ok_json("store", "verify")["ok"])
        self.assertEqual(read_tree(self.ok("models", "path", "m").stdout.strip()), read_tree(os.path.join(ws, "m")))

    def test_models_delete_and_alias_delete(self):
        ws = self.workspace("delete")
        src1 = make_model_dir(os.path.join(ws, "src1"), "a")
        src2 = make_model_dir(os.path.join(ws, "src2"), "b")
        v1 = self.ok_json("models", "register", "llama", src1)
        self.ok("models", "register", "llama", src2)
        self.ok("models", "alias", "llama@1", "production")
        self.ok("models", "alias", "llama@2", "staging")
        p1 = self.ok("models", "path", "llama@1").stdout.strip()
        before = objects_of(ws)
        rid, _ = self.exec_run(ws, "--kind", "eval", "--input-model", "llama@1")

        d = self.ok_json("models", "delete", "llama@1")
        self.assertEqual((d["ref"], d["artifact"], d["aliases"]), ("llama@1", v1["artifact"], []))
        self.assertEqual(d["aliases_removed"], ["production"])
        self.assertFalse(d["content_still_referenced"])
        self.assertTrue(d["deleted_at"] and d["deleted_by"])

        # list and show hide it; the latest and the other alias are untouched
        listing = self.ok_json("models", "list")
        self.assertEqual((listing[0]["n_versions"], listing[0]["latest_version"]), (1, 2))
        self.assertEqual(listing[0]["aliases"], {"staging": 2})
        self.assertEqual([v["version"] for v in self.ok_json("models", "show", "llama")["versions"]], [2])
        self.assertEqual(read_tree(self.ok("models", "path", "llama").stdout.strip()), read_tree(src2))

        # it no longer resolves, with a clear error and exit 2
        self.expect_error(["models", "path", "llama@1"], "llama@1", "deleted", code=2)
        self.expect_error(["models", "show", "llama@1"], "llama@1", "deleted", code=2)
        self.expect_error(["models", "show", "llama:production"], "production", code=2)
        self.expect_error(["models", "alias", "llama@1", "production"], "deleted", code=2)
        self.expect_error(["runs", "exec", "--workspace", ws, "--input-model", "llama@1", "--", "true"], "deleted",
                          code=2)

        # bad references
        self.expect_error(["models", "delete", "llama"], "explicit version", code=1)
        self.expect_error(["models", "delete", "llama:staging"], "explicit version", code=1)
        self.expect_error(["models", "delete", "../llama@2"], code=1)
        self.expect_error(["models", "delete", "llama@x"], code=1)
        self.expect_error(["models", "delete", "llama@1"], "deleted", code=2)
        self.expect_error(["models", "delete", "llama@9"], "no version 9", code=2)
        self.expect_error(["models", "delete", "nobody@1"], "nobody", code=2)
        self.expect_error(["datasets", "delete", "llama@2"], "llama", code=2)

        # lineage still shows it, marked deleted
        up = self.ok_json("lineage", f"run:{rid}", "--up")
        node = up["upstream"][0]
        self.assertEqual((node["ref"], node["deleted"]), ("llama@1", True))
        self.assertIn("deleted", self.ok("lineage", f"run:{rid}").stdout)
        down = self.ok_json("lineage", "llama@1", "--down")
        self.assertTrue(down["root"]["deleted"])
        self.assertEqual(down["downstream"][0]["id"], rid)
        self.assertIn("llama@1 (deleted)", self.ok("runs", "show", str(rid)).stdout)

        # gc reclaims its content (tokenizer.json is shared with llama@2) and its checkout
        gc = self.ok_json("store", "gc")
        self.assertEqual((gc["artifacts"], gc["objects"], gc["checkouts"]), (1, 4, 1))
        self.assertEqual(len(objects_of(ws)), len(before) - 4)
        self.assertFalse(os.path.exists(p1))
        self.assertTrue(self.ok_json("store", "verify")["ok"])
        self.assertEqual(read_tree(self.ok("models", "path", "llama@2").stdout.strip()), read_tree(src2))
        self.assertEqual(self.ok_json("lineage", f"run:{rid}", "--up")["upstream"][0]["ref"], "llama@1")
        self.assertIn("removed 0", self.ok("store", "gc").stdout)

        # removing an alias
        un = self.ok_json("models", "alias", "--delete", "llama", "staging")
        self.assertEqual((un["ref"], un["aliases"]), ("llama@2", []))
        self.expect_error(["models", "show", "llama:staging"], "staging", code=2)
        self.expect_error(["models", "alias", "--delete", "llama", "staging"], "staging", code=2)
        self.expect_error(["models", "alias", "--delete", "llama", "latest"], "reserved", code=1)
        self.expect_error(["models", "alias", "--delete", "llama@2", "x"], "not a version", code=1)
        self.expect_error(["models", "alias", "--delete", "nobody", "x"], "nobody", code=2)
        self.ok("models", "alias", "llama@2", "production")
        self.assertIn("llama:production removed (was llama@2)",
                      self.ok("models", "alias", "--delete", "llama", "production").stdout)

        # the audit log records each change and stays intact
        deletes = self.ok_json("audit", "list", "--action", "delete")
        self.assertEqual([e["object"] for e in deletes], ["model llama@1"])
        self.assertEqual(deletes[0]["details"]["aliases_removed"], ["production"])
        unaliases = self.ok_json("audit", "list", "--action", "unalias")
        self.assertEqual([e["object"] for e in unaliases], ["model llama:staging", "model llama:production"])
        self.assertIn("delete", self.ok("audit", "list").stdout)
        self.assertTrue(self.ok_json("audit", "verify")["ok"])

    def test_datasets_delete_keeps_shared_content_and_numbers(self):
        ws = self.workspace("datasets-delete")
        write(os.path.join(ws, "a.jsonl"), '{"text": "a"}\n')
        write(os.path.join(ws, "b.jsonl"), '{"text": "b"}\n')
        self.ok("datasets", "register", "chat", os.path.join(ws, "a.jsonl"))
        self.ok("datasets", "register", "chat", os.path.join(ws, "b.jsonl"))
        self.ok("datasets", "register", "copy", os.path.join(ws, "a.jsonl"))  # same content as chat@1
        text = self.ok("datasets", "delete", "chat@1").stdout
        self.assertIn("deleted dataset chat@1", text)
        self.assertIn("still used", text)
        gc = self.ok_json("store", "gc")
        self.assertEqual((gc["artifacts"], gc["objects"]), (0, 0))
        with open(self.ok("datasets", "path", "copy").stdout.strip()) as f:
            self.assertEqual(f.read(), '{"text": "a"}\n')
        self.expect_error(["datasets", "path", "chat@1"], "deleted", code=2)
        self.assertIn("store gc", self.ok("datasets", "delete", "chat@2").stdout)
        self.assertEqual([d["name"] for d in self.ok_json("datasets", "list")], ["copy"])
        self.expect_error(["datasets", "show", "chat"], "every version has been deleted", code=2)
        self.assertEqual(self.ok_json("store", "gc")["objects"], 1)
        self.assertEqual(self.ok_json("datasets", "register", "chat", os.path.join(ws, "b.jsonl"))["version"], 3)
        self.assertEqual(self.ok_json("store", "verify")["n_artifacts"], 2)
        self.assertTrue(self.ok_json("audit", "verify")["ok"])
        self.assertEqual(len(self.ok_json("audit", "list", "--action", "delete")), 2)

    def test_help_lists_the_store_commands(self):
        text = self.ok("--help").stdout
        for command in ("init", "store", "runs", "models", "datasets", "lineage", "audit"):
            self.assertIn(command, text)
        self.assertIn("register", self.ok("models", "--help").stdout)
        self.assertIn("delete", self.ok("models", "--help").stdout)
        self.assertIn("delete", self.ok("datasets", "--help").stdout)


class StoreFaultTest(StoreCase):
    def test_two_processes_logging_at_once_lose_nothing(self):
        ws = self.workspace("concurrent")
        n_points, n_runs = 25, 3
        script = (f"i=0; while [ $i -lt {n_points} ]; do "
                  f"{ENCLAVE} runs log --metric loss=$i --metric acc=$i --step $i || exit 9; i=$((i+1)); done")
        procs = []
        for _ in range(n_runs * 2):
            procs.append(subprocess.Popen([ENCLAVE, "runs", "exec", "--workspace", ws, "--", "sh", "-c", script],
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          env=clean_env()))
        for p in procs:
            _, err = p.communicate(timeout=600)
            self.assertEqual(p.returncode, 0, err)
        runs = self.ok_json("runs", "list", "--limit", "0")
        self.assertEqual(len(runs), n_runs * 2)
        db = sqlite3.connect(os.path.join(ws, ".enclave", "enclave.db"))
        self.assertEqual(db.execute("SELECT COUNT(*) FROM metrics").fetchone()[0], n_runs * 2 * n_points * 2)
        per_run = db.execute("SELECT run_id, COUNT(DISTINCT key || step) FROM metrics GROUP BY run_id").fetchall()
        db.close()
        self.assertEqual(sorted(c for _, c in per_run), [n_points * 2] * (n_runs * 2))
        self.assertTrue(all(r["status"] == "finished" for r in runs))
        self.assertTrue(self.ok_json("audit", "verify")["ok"])


class StoreKillTest(StoreCase):
    def test_sigkill_while_storing_leaves_the_store_consistent(self):
        ws = self.workspace("kill-store")
        big = os.path.join(WORKDIR, "kill-store-src")
        if not os.path.isdir(big):
            os.makedirs(big)
            block = os.urandom(1 << 20)
            for i in range(48):
                write(os.path.join(big, f"shard-{i:02d}.bin"), block * 4 + i.to_bytes(4, "little"))
        outcomes = []
        for attempt, delay in enumerate([0.05, 0.2, 0.4, 0.8, 1.5]):
            p = subprocess.Popen([ENCLAVE, "models", "register", "big", big, "--workspace", ws],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
            time.sleep(delay)
            p.send_signal(signal.SIGKILL)
            p.communicate()
            outcomes.append(p.returncode)
            verify = self.ok_json("store", "verify")
            self.assertTrue(verify["ok"], verify)
            listed = self.ok_json("models", "list")
            registered = listed[0]["n_versions"] if listed else 0
            # a version is either fully there (its files all readable) or absent
            if registered:
                path = self.ok("models", "path", f"big@{registered}").stdout.strip()
                self.assertEqual(len(os.listdir(path)), 48)
            self.assertTrue(self.ok_json("audit", "verify")["ok"])
        self.assertIn(-signal.SIGKILL, outcomes, "no attempt was killed mid-way; make the data larger")
        gc = self.ok_json("store", "gc")
        self.assertEqual(os.listdir(os.path.join(ws, ".enclave", "tmp")), [])
        self.assertTrue(self.ok_json("store", "verify")["ok"])
        db = sqlite3.connect(os.path.join(ws, ".enclave", "enclave.db"))
        self.assertEqual(db.execute("PRAGMA integrity_check").fetchone()[0], "ok")
        referenced = {r[0] for r in db.execute("SELECT object FROM artifact_files")}
        referenced |= {r[0][7:] for r in db.execute("SELECT digest FROM artifacts WHERE kind = 'dir'")}
        db.close()
        self.assertEqual(set(objects_of(ws)), referenced, f"gc left unreferenced objects: {gc}")

    def test_sigkill_during_a_run_marks_it_failed_on_next_open(self):
        ws = self.workspace("kill-run")
        marker = os.path.join(ws, "child.pid")
        p = subprocess.Popen([ENCLAVE, "runs", "exec", "--workspace", ws, "--", "sh", "-c",
                              f"echo $$ > {marker}; exec sleep 60"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=clean_env())
        deadline = time.time() + 60
        while not os.path.exists(marker) and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(marker), "the command never started")
        db = sqlite3.connect(os.path.join(ws, ".enclave", "enclave.db"))
        self.assertEqual(db.execute("SELECT status FROM runs").fetchone()[0], "running")
        db.close()
        p.send_signal(signal.SIGKILL)
        p.communicate()
        runs = self.ok_json("runs", "list")
        self.assertEqual(runs[0]["status"], "failed")
        shown = self.ok_json("runs", "show", str(runs[0]["id"]))
        self.assertIn("died", shown["message"])
        # the orphaned command was stopped with its owner
        with open(marker) as f:
            child = int(f.read())
        deadline = time.time() + 10
        while time.time() < deadline and os.path.exists(f"/proc/{child}"):
            time.sleep(0.05)
        self.assertFalse(os.path.exists(f"/proc/{child}"), "the command outlived its killed owner")


class StoreTamperTest(StoreCase):
    def tamper_copy(self, ws, name, *sql):
        copy = fresh_dir(name)
        shutil.rmtree(copy)
        shutil.copytree(ws, copy)
        db = sqlite3.connect(os.path.join(copy, ".enclave", "enclave.db"))
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("DROP TRIGGER audit_log_no_delete")
        for statement in sql:
            db.execute(statement)
        db.commit()
        db.close()
        return copy

    def test_tampered_audit_entry_is_detected(self):
        ws = self.workspace("tamper")
        make_model_dir(os.path.join(ws, "m"))
        self.ok("models", "register", "m", os.path.join(ws, "m"))
        for alias in ("a1", "a2", "a3"):
            self.ok("models", "alias", "m@1", alias)
        self.assertTrue(self.ok_json("audit", "verify")["ok"])
        cases = {
            "edited": ["UPDATE audit_log SET user = 'mallory' WHERE seq = 2"],
            "deleted": ["DELETE FROM audit_log WHERE seq = 3"],
            "deleted-newest": ["DELETE FROM audit_log WHERE seq = 5",
                               "UPDATE audit_head SET seq = 4, hash = (SELECT hash FROM audit_log WHERE seq = 4)"],
            "inserted": ["UPDATE audit_log SET seq = seq + 100 WHERE seq >= 3",
                         "UPDATE audit_log SET seq = seq - 99 WHERE seq >= 100",
                         "INSERT INTO audit_log SELECT 3, time, user, 'alias', 'model m:evil', details, hash, hash, actor "
                         "FROM audit_log WHERE seq = 2"],
            "appended": ["INSERT INTO audit_log SELECT 6, time, user, 'alias', 'model m:evil', details, hash, hash, actor "
                         "FROM audit_log WHERE seq = 5"],
        }
        for name, sql in cases.items():
            with self.subTest(case=name):
                copy = self.tamper_copy(ws, "tamper-" + name, *sql)
                p = self.expect_error(["audit", "verify", "--workspace", copy], "audit", code=3, stdout_empty=False)
                self.assertIn("BROKEN", p.stdout)
                report = json.loads(run("audit", "verify", "--json", "--workspace", copy).stdout)
                self.assertFalse(report["ok"])
                self.assertTrue(report["problems"])

    def test_keyed_log_and_anchor_catch_a_rewrite(self):
        key = os.path.join(fresh_dir("audit-key"), "audit.key")
        write(key, os.urandom(32).hex())
        os.chmod(key, 0o600)
        ws = self.workspace("keyed")
        self.env["ENCLAVE_AUDIT_KEY_FILE"] = key
        make_model_dir(os.path.join(ws, "m"))
        self.ok("models", "register", "m", os.path.join(ws, "m"))
        anchor = os.path.join(WORKDIR, "keyed-anchor.json")
        record = self.ok_json("audit", "anchor", "--out", anchor)
        with open(anchor) as f:
            self.assertEqual(json.load(f)["signature"], record["signature"])
        self.ok("models", "alias", "m@1", "production")
        self.assertTrue(self.ok_json("audit", "verify", "--anchor", anchor)["ok"])
        self.assertTrue(all(e["hash"].startswith("hmac-sha256:")
                            for e in self.ok_json("audit", "list")[1:]))
        # Without the key a keyed workspace cannot be changed.
        self.expect_error(["models", "alias", "m@1", "staging", "--workspace", ws], "keyed",
                          env=clean_env())
        # A rewrite with recomputed plain hashes, and the head removed.
        copy = self.tamper_copy(ws, "keyed-rewritten",
                                "UPDATE audit_log SET user = 'mallory', hash = 'x' WHERE seq >= 2",
                                "DELETE FROM audit_head")
        os.remove(os.path.join(copy, ".enclave", "audit.head"))
        p = run("audit", "verify", "--json", "--workspace", copy, "--anchor", anchor, env=self.env)
        self.assertNotEqual(p.returncode, 0)
        reasons = " ".join(pr["reason"] for pr in json.loads(p.stdout)["problems"])
        for words in ("MAC", "head record is missing", "audit.head is missing", "anchor"):
            self.assertIn(words, reasons)
        # A registry row added behind the log's back.
        copy = self.tamper_copy(ws, "keyed-row", "INSERT INTO registry_versions (kind, name, version, artifact, "
                                "created_at) SELECT kind, name, 2, artifact, created_at FROM registry_versions")
        p = run("audit", "verify", "--json", "--workspace", copy, env=self.env)
        self.assertIn("model m@2 has no register entry", p.stdout)

    def test_flipped_byte_is_caught_and_never_served(self):
        ws = self.workspace("flip")
        src = make_model_dir(os.path.join(ws, "m"), size=50000)
        v = self.ok_json("models", "register", "m", src)
        files = self.ok_json("models", "show", "m@1")["artifact_info"]["files"]
        weights = next(f["sha256"] for f in files if f["path"] == "model.safetensors")
        blob = os.path.join(ws, ".enclave", "objects", "sha256", weights[:2], weights)
        os.chmod(blob, 0o644)
        with open(blob, "r+b") as f:
            f.seek(1234)
            byte = f.read(1)
            f.seek(1234)
            f.write(bytes([byte[0] ^ 0x01]))

        # reading the model checks the hash first: no path printed, a clear error
        p = self.expect_error(["models", "path", "m@1"], "corrupt", code=3)
        self.assertEqual(p.stdout, "")
        p = self.expect_error(["store", "verify"], "problem", code=3, stdout_empty=False)
        self.assertIn(weights, p.stdout)
        report = json.loads(run("store", "verify", "--json", "--workspace", ws).stdout)
        self.assertFalse(report["ok"])
        self.assertTrue(any(weights in pr["detail"] or weights in pr["target"] for pr in report["problems"]))
        self.assertTrue(os.listdir(os.path.join(ws, ".enclave", "quarantine")))
        self.expect_error(["models", "path", "m"], "quarantine")

        # registering the same content again heals the store
        self.ok("models", "register", "m", src)
        self.assertEqual(self.ok_json("models", "show", "m@2")["artifact"], v["artifact"])
        self.assertTrue(self.ok_json("store", "verify")["ok"])
        self.assertEqual(read_tree(self.ok("models", "path", "m@1").stdout.strip()), read_tree(src))

    def test_flip_after_checkout_is_caught_by_verify(self):
        ws = self.workspace("flip-verify")
        src = make_model_dir(os.path.join(ws, "m"), size=50000)
        self.ok("models", "register", "m", src)
        path = self.ok("models", "path", "m").stdout.strip()
        target = os.path.join(path, "config.json")
        os.chmod(target, 0o644)  # the checkout is hard-linked to the blob: this damages both
        with open(target, "r+b") as f:
            f.write(b"X")
        p = self.expect_error(["store", "verify"], "problem", code=3, stdout_empty=False)
        self.assertIn("corrupt-object", p.stdout)
        self.expect_error(["models", "path", "m"])

    def test_a_resolved_model_is_hashed_again_only_when_changed_or_old(self):
        # Case 37 of RELIABILITY.md: `name:alias` must not re-read the model
        # on every use; store stats counts every byte any command hashed.
        ws = self.workspace("ledger")
        src = make_model_dir(os.path.join(ws, "m"), size=200000)
        self.ok("models", "register", "m", src)
        self.ok("models", "alias", "m@1", "prod")
        size = self.ok_json("models", "show", "m@1")["artifact_info"]["size"]
        hashed = lambda: self.ok_json("store", "stats")["hashed_bytes"]
        stored = hashed()
        self.assertGreaterEqual(stored, size)  # verified when stored
        path = self.ok("models", "path", "m:prod").stdout.strip()
        first = hashed()
        self.assertGreaterEqual(first - stored, size)  # and when first checked out
        for _ in range(2):
            self.assertEqual(self.ok("models", "path", "m:prod").stdout.strip(), path)
        self.assertEqual(hashed(), first, "an unchanged checkout was read again")

        weights = os.path.join(path, "model.safetensors")
        st = os.stat(weights)
        os.utime(weights, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))  # same bytes, new mtime
        self.ok("models", "path", "m:prod")
        touched = hashed()
        self.assertGreaterEqual(touched - first, 200000)
        self.ok("models", "path", "m:prod")
        self.assertEqual(hashed(), touched)  # verified again: trusted again

        db = sqlite3.connect(os.path.join(ws, ".enclave", "enclave.db"))
        db.execute("UPDATE blob_verifications SET verified_at = verified_at - 8 * 86400")
        db.commit()
        db.close()
        self.ok("models", "path", "m:prod")  # past the default 7 days
        aged = hashed()
        self.assertGreaterEqual(aged - touched, size)
        self.assertEqual(self.ok("store", "config", "store.verify_max_age").stdout.strip(), "7d")
        self.ok("store", "config", "store.verify_max_age", "0")  # every use re-hashes
        self.ok("models", "path", "m:prod")
        self.assertGreaterEqual(hashed() - aged, size)
        self.expect_error(["store", "config", "store.verify_max_age", "7y"], "verify_max_age", "7y")
        self.ok("store", "config", "store.verify_max_age", "2w")

        os.chmod(weights, 0o644)  # the checkout is the blob's file: a flip damages both
        with open(weights, "r+b") as f:
            f.seek(100)
            f.write(b"Z")
        p = self.expect_error(["models", "path", "m:prod"], "corrupt", code=3)
        self.assertEqual(p.stdout, "")
        write(os.path.join(ws, ".enclave", "config.json"), '{"store": {"verify_max_ages": "1d"}}')
        self.expect_error(["models", "list"], "config.json", "verify_max_ages")



def files_containing(root, marker):
    """Every file under root whose bytes contain marker (relative paths)."""
    found = []
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            if os.path.islink(p):
                continue
            with open(p, "rb") as fh:
                if marker in fh.read():
                    found.append(os.path.relpath(p, root))
    return found


class StoreOpsTest(StoreCase):
    """Erasure (monitor purge, datasets purge) and store backup/restore."""

    def request_log(self, ws):
        path = os.path.join(ws, ".enclave", "serve", "requests.db")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA wal_autocheckpoint=0")  # the rows stay in the -wal file
        db.executescript(fixtures_requests_schema())
        return db

    def log_request(self, db, rid, key, prompt, created_at=None, correction=None):
        db.execute("INSERT INTO requests (id, created_at, key_id, endpoint, model, model_version, model_version_id,"
                   " prompt, completion, prompt_tokens, completion_tokens, ttft, latency, finish_reason, status)"
                   " VALUES (?, ?, ?, 'completions', 'm', 'm@1', NULL, ?, ?, 3, 2, 0.01, 0.02, 'stop', 200)",
                   (rid, created_at or time.time(), key, prompt, "answer to " + prompt))
        if correction:
            db.execute("INSERT INTO feedback (request_id, created_at, key_id, rating, correction) VALUES (?, ?, ?, -1, ?)",
                       (rid, time.time(), key, correction))

    def test_monitor_purge_erases_requests_from_the_bytes(self):
        ws = self.workspace("purge-requests")
        db = self.request_log(ws)
        marker, old_marker = b"MARKER-alice-7f3a91", b"OLD-MARKER-carol-c4e2"
        for i in range(3):
            self.log_request(db, f"cmpl-a{i}", "alice", f"{marker.decode()} question {i}",
                             correction=f"{marker.decode()} corrected {i}" if i == 0 else None)
        for i in range(2):
            self.log_request(db, f"cmpl-b{i}", "bob", f"bob keeps question {i}")
        self.log_request(db, "cmpl-c0", "carol", f"{old_marker.decode()} from long ago", created_at=1577836800.0)
        self.log_request(db, "cmpl-c1", "carol", "carol recent question")
        dot = os.path.join(ws, ".enclave")
        self.assertTrue(files_containing(dot, marker), "the marker should be in the log before the purge")
        # The writer's connection stays open, as a server's would.
        out = self.ok_json("monitor", "purge", "--key", "alice")
        self.assertEqual((out["requests"], out["feedback"], out["key"]), (3, 1, "alice"))
        self.assertEqual(files_containing(dot, marker), [], "the purged text is still in these files")
        left = {r["id"] for r in self.ok_json("monitor", "requests", "--limit", "0")}
        self.assertEqual(left, {"cmpl-b0", "cmpl-b1", "cmpl-c0", "cmpl-c1"})
        # By date: an ISO 8601 date-time with an offset.
        p = self.ok("monitor", "purge", "--before", "2021-01-01T00:00:00+00:00")
        self.assertIn("purged 1 request(s) before 2021-01-01T00:00:00.000Z", p.stdout)
        self.assertEqual(files_containing(dot, old_marker), [])
        left = {r["id"] for r in self.ok_json("monitor", "requests", "--limit", "0")}
        self.assertEqual(left, {"cmpl-b0", "cmpl-b1", "cmpl-c1"})
        self.assertEqual(db.execute("SELECT COUNT(*) FROM requests").fetchone()[0], 3)
        db.close()
        purges = [e for e in self.ok_json("audit", "list") if e["action"] == "purge"]
        self.assertEqual([json.loads(e["details"]) if isinstance(e["details"], str) else e["details"] for e in purges],
                         [{"requests": 3, "feedback": 1, "key_id": "alice"},
                          {"requests": 1, "feedback": 0, "before": "2021-01-01T00:00:00.000Z"}])
        self.ok("audit", "verify")
        self.expect_error(["monitor", "purge"], "--key", "--before")
        self.expect_error(["monitor", "purge", "--before", "yesterday"], "--before", "yesterday", "iso 8601")
        self.expect_error(["monitor", "purge", "--before", "2021-02-30"], "day out of range")

    def test_datasets_purge_erases_content_and_keeps_a_tombstone(self):
        ws = self.workspace("purge-dataset")
        marker = b"RECORD-MARKER-91c2d7"
        src = os.path.join(WORKDIR, "purge-dataset-src")
        shutil.rmtree(src, ignore_errors=True)
        write(os.path.join(src, "v1", "train.jsonl"), json.dumps({"text": marker.decode() + " patient record"}) + "\n")
        write(os.path.join(src, "v1", "README.txt"), "shared readme\n")
        write(os.path.join(src, "v2", "train.jsonl"), json.dumps({"text": "a public record"}) + "\n")
        write(os.path.join(src, "v2", "README.txt"), "shared readme\n")
        self.ok("datasets", "register", "docs", os.path.join(src, "v1"))
        self.ok("datasets", "register", "docs", os.path.join(src, "v2"))
        self.ok("datasets", "alias", "docs@1", "golden")
        self.ok("datasets", "tag", "docs@1", "owner=records-team")
        self.ok("datasets", "path", "docs@1")  # a checkout: hard links to the blobs
        run_id, _ = self.exec_run(ws, "--input-dataset", "docs@1", "--output", "out", script="mkdir -p out && echo w > out/w.bin")
        self.ok("models", "register", "m", make_model_dir(os.path.join(src, "model")), "--from-run", str(run_id))
        dot = os.path.join(ws, ".enclave")
        self.assertTrue(files_containing(dot, marker))

        out = self.ok_json("datasets", "purge", "docs@1")
        self.assertTrue(out["content_erased"])
        self.assertEqual(out["aliases_removed"], ["golden"])
        self.assertEqual(out["tags_removed"], ["owner"])
        self.assertEqual(out["objects_removed"], 2)  # train.jsonl and the folder's manifest
        self.assertEqual(out["objects_shared"], 1)   # README.txt: docs@2 has it too
        self.assertEqual(out["checkouts_removed"], 1)
        self.assertEqual(out["source"], "")
        self.assertIn("purged_at", out)
        self.assertEqual(files_containing(dot, marker), [], "the purged record is still in these files")
        # The other version is intact; the purged one no longer resolves.
        with open(os.path.join(self.ok("datasets", "path", "docs@2").stdout.strip(), "README.txt")) as f:
            self.assertEqual(f.read(), "shared readme\n")
        self.expect_error(["datasets", "path", "docs@1"], "purged")
        # The model trained on it keeps a tombstone in its lineage.
        up = self.ok_json("lineage", "m@1", "--up")
        nodes = json.dumps(up)
        self.assertIn('"ref": "docs@1"', nodes)
        tomb = [n for n in walk_nodes(up["upstream"]) if n.get("ref") == "docs@1"][0]
        self.assertTrue(tomb["purged"] and tomb["deleted"])
        self.assertIn("purged", self.ok("lineage", "m@1", "--up").stdout)
        self.ok("audit", "verify")
        self.ok("store", "verify")
        entry = [e for e in self.ok_json("audit", "list") if e["action"] == "purge"][-1]
        self.assertEqual(entry["object"], "dataset docs@1")
        self.expect_error(["datasets", "purge", "docs@1"], "already purged")
        self.expect_error(["datasets", "purge", "docs"], "explicit version")
        # The same content as a live version: the tombstone is made, the content stays.
        self.ok("datasets", "register", "docs", os.path.join(src, "v2"))
        kept = self.ok_json("datasets", "purge", "docs@3")
        self.assertFalse(kept["content_erased"])
        self.assertEqual(kept["content_kept_for"], ["dataset docs@2"])
        self.assertEqual(kept["objects_removed"], 0)
        # A soft-deleted version can still be purged.
        self.ok("datasets", "delete", "docs@2")
        gone = self.ok_json("datasets", "purge", "docs@2")
        self.assertTrue(gone["content_erased"])
        self.assertGreaterEqual(gone["objects_removed"], 2)
        self.ok("audit", "verify")
        self.ok("store", "verify")

    def test_backup_restore_round_trip_under_concurrent_writes(self):
        ws = self.workspace("backup-src")
        data = os.path.join(WORKDIR, "backup-data")
        shutil.rmtree(data, ignore_errors=True)
        for i in range(40):
            write(os.path.join(data, f"d{i}.jsonl"), json.dumps({"text": f"record {i}"}) + "\n")
        self.ok("datasets", "register", "d0", os.path.join(data, "d0.jsonl"))
        db = self.request_log(ws)
        self.log_request(db, "cmpl-0", "k", "first question")
        db.close()
        stop = threading.Event()
        registered = []

        def writer():  # another process registering and logging while the backup runs
            log = sqlite3.connect(os.path.join(ws, ".enclave", "serve", "requests.db"), isolation_level=None)
            for i in range(1, 40):
                if stop.is_set():
                    break
                p = run("datasets", "register", f"d{i}", os.path.join(data, f"d{i}.jsonl"), env=self.env)
                self.log_request(log, f"cmpl-{i}", "k", f"question {i}")
                if p.returncode == 0:
                    registered.append(i)
            log.close()

        thread = threading.Thread(target=writer)
        thread.start()
        while len(registered) < 2 and thread.is_alive():
            time.sleep(0.01)
        backup = fresh_dir("backup-dir")
        shutil.rmtree(backup)
        report = self.ok_json("store", "backup", backup)
        stop.set()
        thread.join()
        self.assertGreaterEqual(report["objects"], 2)
        self.assertEqual(report["databases"], 2)
        with open(os.path.join(backup, "manifest.json")) as f:
            manifest = json.load(f)
        paths = {f["path"] for f in manifest["files"]}
        self.assertTrue({"enclave.db", "serve/requests.db", "audit.head"} <= paths, paths)
        for f in manifest["files"]:
            if f["path"].startswith("objects/"):  # copies, not hard links into the store
                st = os.stat(os.path.join(backup, f["path"]))
                self.assertEqual(st.st_nlink, 1)
                self.assertNotEqual(st.st_ino, os.stat(os.path.join(ws, ".enclave", f["path"])).st_ino)
        self.assertIn("backup", [e["action"] for e in self.ok_json("audit", "list")])

        target = fresh_dir("backup-restored")
        out = self.ok_json("store", "restore", backup, "--workspace", target)
        self.assertEqual(out["files"], len(manifest["files"]))
        env = clean_env(ENCLAVE_HOME=target)
        self.ok("store", "verify", env=env)
        self.ok("audit", "verify", env=env)
        # A consistent snapshot: the datasets are a prefix of those registered,
        # each one's content is there, and the request log is from the same moment or later.
        names = sorted(int(n["name"][1:]) for n in self.ok_json("datasets", "list", env=env))
        self.assertEqual(names, list(range(len(names))))
        self.assertGreaterEqual(len(names), 3)
        for i in names:
            with open(self.ok("datasets", "path", f"d{i}", env=env).stdout.strip()) as f:
                self.assertEqual(json.loads(f.read())["text"], f"record {i}")
        logged = self.ok_json("monitor", "requests", "--limit", "0", env=env)
        self.assertGreaterEqual(len(logged), len(names))
        self.assertEqual(self.ok_json("audit", "list", env=env)[-1]["action"], "restore")
        # A non-empty target needs --force.
        self.expect_error(["store", "restore", backup, "--workspace", target], "not empty", "--force")
        self.ok("store", "restore", backup, "--workspace", target, "--force")
        self.ok("store", "verify", env=env)
        self.assertEqual(sorted(os.listdir(target)), [".enclave"])  # no temp folders left
        self.expect_error(["store", "backup", backup], "not empty")

    def test_restore_refuses_a_corrupt_backup_naming_the_file(self):
        ws = self.workspace("backup-corrupt")
        self.ok("datasets", "register", "docs", make_model_dir(os.path.join(WORKDIR, "backup-corrupt-src")))
        backup = os.path.join(WORKDIR, "backup-corrupt-dir")
        shutil.rmtree(backup, ignore_errors=True)
        self.ok("store", "backup", backup)
        with open(os.path.join(backup, "manifest.json")) as f:
            manifest = json.load(f)
        blob = [f["path"] for f in manifest["files"] if f["path"].startswith("objects/")][0]
        path = os.path.join(backup, blob)
        os.chmod(path, 0o644)
        with open(path, "r+b") as f:
            first = f.read(1)
            f.seek(0)
            f.write(bytes([first[0] ^ 1]))
        target = fresh_dir("backup-corrupt-target")
        self.expect_error(["store", "restore", backup, "--workspace", target], blob, "sha256", "corrupt")
        self.assertEqual(os.listdir(target), [], "a refused restore left files behind")
        os.remove(path)
        self.expect_error(["store", "restore", backup, "--workspace", target], blob, "missing")
        os.remove(os.path.join(backup, "manifest.json"))
        self.expect_error(["store", "restore", backup, "--workspace", target], "manifest.json", code=None)
        self.assertEqual(os.listdir(target), [])


def walk_nodes(nodes):
    for n in nodes:
        yield n
        yield from walk_nodes(n.get("children", []))


def fixtures_requests_schema():
    import fixtures
    return fixtures.REQUESTS_SCHEMA


class StoreEncryptTest(StoreCase):
    """`init --encrypt`: nothing readable under .enclave without the key (databases, the
    request log, objects, run logs), and nothing decrypted left behind."""

    MARKER = "Zebra-Quince-7741"

    def key_file(self, name):
        path = os.path.join(WORKDIR, name + ".key")  # outside every workspace
        if os.path.exists(path):
            os.remove(path)
        self.ok("store", "keygen", "--out", path)
        return path

    def assert_marker_nowhere(self, ws):
        marker = self.MARKER.encode()
        n_files = 0
        for root, _, files in os.walk(os.path.join(ws, ".enclave")):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    data = fh.read()
                n_files += 1
                for form in (marker, marker.lower(), marker.hex().encode()):
                    self.assertNotIn(form, data, f"{os.path.join(root, f)} holds {form!r} in the clear")
        self.assertGreater(n_files, 5)

    def serve_one_request(self, model):
        """A request whose prompt holds the marker goes into the request log."""
        import socket, urllib.request
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        server = subprocess.Popen([ENCLAVE, "serve", "--model", model, "--port", str(port), "--dtype", "f32"],
                                  env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(300):
                try:
                    urllib.request.urlopen(base + "/health", timeout=1)
                    break
                except OSError:
                    self.assertIsNone(server.poll(), server.stderr.read() if server.poll() is not None else "")
                    time.sleep(0.05)
            body = {"model": model, "max_tokens": 2, "messages": [{"role": "user", "content": self.MARKER}]}
            req = urllib.request.Request(base + "/v1/chat/completions", json.dumps(body).encode(),
                                         {"Content-Type": "application/json"})
            self.assertIn("choices", json.loads(urllib.request.urlopen(req, timeout=60).read()))
        finally:
            server.terminate()
            server.wait(timeout=30)
        self.assertIn(self.MARKER, self.ok("monitor", "requests", "--json").stdout)

    def encrypted_workspace(self, name):
        ws = fresh_dir(name)
        key = self.key_file(name)
        self.ok("init", "--encrypt", "--key-file", key, ws)
        self.env = clean_env(ENCLAVE_HOME=ws, ENCLAVE_WORKSPACE_KEY_FILE=key)
        return ws, key

    def test_nothing_readable_under_dot_enclave(self):
        ws = fresh_dir("enc")
        key = self.key_file("enc")
        self.assertEqual(stat.S_IMODE(os.stat(key).st_mode), 0o600)
        with open(key) as f:
            self.assertRegex(f.read(), r"^[0-9a-f]{64}\n$")
        self.expect_error(["init", "--encrypt", ws], "--key-file", code=1)
        j = self.ok_json("init", "--encrypt", "--key-file", key, ws)
        self.assertTrue(j["encrypted"])
        self.env = clean_env(ENCLAVE_HOME=ws, ENCLAVE_WORKSPACE_KEY_FILE=key)
        name = self.MARKER.lower()

        data = os.path.join(ws, "src", "data")
        write(os.path.join(data, "train.jsonl"), json.dumps({"text": f"{self.MARKER} holds the secret"}) + "\n")
        self.ok("datasets", "register", name, data)
        model = os.path.join(ws, "src", "tiny")
        self.ok("model", "init", "--preset", "tiny", "--out", model, "--seed", "3")
        self.ok("models", "register", name, model)
        self.ok("models", "tag", f"{name}@1", f"note={self.MARKER}")
        self.ok("models", "alias", f"{name}@1", "production")
        # the stored model is decrypted for the command and scores as the folder does
        self.assertEqual(self.ok_json("score", "--model", f"{name}:production", "--text", "hello there"),
                         self.ok_json("score", "--model", model, "--text", "hello there"))
        p = self.ok("runs", "exec", "--kind", "eval", "--param", f"note={self.MARKER}", "--",
                    "sh", "-c", f"echo {self.MARKER}")
        rid = int(re.search(r"run (\d+) started", p.stderr).group(1))
        self.serve_one_request(name)
        self.assertIn(self.MARKER, self.ok("runs", "show", str(rid), "--log").stdout)
        self.assertEqual([m["name"] for m in self.ok_json("models", "list")], [name])
        self.assertEqual([d["name"] for d in self.ok_json("datasets", "list")], [name])
        self.assertTrue(self.ok_json("audit", "verify")["ok"])
        self.assertTrue(self.ok_json("store", "verify")["ok"])

        self.assert_marker_nowhere(ws)
        dot = os.path.join(ws, ".enclave")
        self.assertEqual(os.listdir(os.path.join(dot, "checkouts")), [])
        self.assertEqual(os.listdir(os.path.join(dot, "tmp")), [])
        with self.assertRaises(sqlite3.DatabaseError):
            sqlite3.connect(os.path.join(dot, "enclave.db")).execute("SELECT * FROM sqlite_master").fetchall()

        # without the key, or with another, every command stops with one line
        no_key = clean_env(ENCLAVE_HOME=ws)
        for args in (["models", "list"], ["datasets", "list"], ["runs", "list"],
                     ["score", "--model", name, "--text", "x"]):
            self.expect_error(args, "encrypted", "ENCLAVE_WORKSPACE_KEY_FILE", code=1, env=no_key)
        other = clean_env(ENCLAVE_HOME=ws, ENCLAVE_WORKSPACE_KEY_FILE=self.key_file("other"))
        self.expect_error(["models", "list"], "does not open", code=1, env=other)
        self.expect_error(["models", "path", name], "encrypted", code=1)
        # a plain workspace ignores the key and stays plain SQLite
        plain = self.workspace("enc-plain")
        self.ok("models", "list", env=clean_env(ENCLAVE_HOME=plain, ENCLAVE_WORKSPACE_KEY_FILE=key))
        sqlite3.connect(os.path.join(plain, ".enclave", "enclave.db")).execute("SELECT * FROM sqlite_master")
        self.expect_error(["init", "--encrypt", "--key-file", key, plain], "without encryption", code=1)

    def test_bad_key_files_are_refused(self):
        ws = fresh_dir("enc-keys")
        key = self.key_file("enc-keys")
        self.expect_error(["store", "keygen", "--out", key], "already exists", code=1)
        os.chmod(key, 0o640)
        self.expect_error(["init", "--encrypt", "--key-file", key, ws], key, "chmod 600", code=1)
        os.chmod(key, 0o600)
        inside = os.path.join(ws, "inside.key")
        shutil.copy(key, inside)
        os.chmod(inside, 0o600)
        self.expect_error(["init", "--encrypt", "--key-file", inside, ws], "inside the workspace", code=1)
        garbled = os.path.join(WORKDIR, "garbled.key")
        for content in (b"abc\n", b"zz" * 32, os.urandom(32)):
            write(garbled, content)
            os.chmod(garbled, 0o600)
            self.expect_error(["init", "--encrypt", "--key-file", garbled, ws], garbled,
                              "not a workspace key", code=1)
        self.assertFalse(os.path.exists(os.path.join(ws, ".enclave", "enclave.db")))
        self.expect_error(["init", "--encrypt", "--key-file", os.path.join(WORKDIR, "none.key"), ws],
                          "not found", code=1)

    def test_rekey_round_trip(self):
        ws, old = self.encrypted_workspace("enc-rekey")
        src = make_model_dir(os.path.join(ws, "m"), flavour=self.MARKER, size=70000)
        self.ok("models", "register", "m", src)
        new = self.key_file("enc-rekey-new")
        self.expect_error(["store", "rekey", "--new-key-file", old], "current key", code=1)
        out = self.ok("store", "rekey", "--new-key-file", new).stdout
        self.assertIn("re-encrypted", out)
        self.assertFalse(os.path.exists(os.path.join(ws, ".enclave", "rekey")))
        self.expect_error(["models", "list"], "does not open", code=1)
        self.env = clean_env(ENCLAVE_HOME=ws, ENCLAVE_WORKSPACE_KEY_FILE=new)
        self.assertEqual([m["name"] for m in self.ok_json("models", "list")], ["m"])
        self.assertTrue(self.ok_json("store", "verify")["ok"])  # every blob opens under the new key
        self.assertTrue(self.ok_json("audit", "verify")["ok"])
        self.assertIn("rekey", [e["action"] for e in self.ok_json("audit", "list")])
        self.assert_marker_nowhere(ws)
        # the same content registered again is still found by its plaintext hash
        self.assertTrue(self.ok_json("models", "register", "m", src)["version"] == 2)
        self.assertEqual(len(objects_of(ws)), 5)

    def test_backup_of_an_encrypted_workspace_stays_encrypted(self):
        ws, key = self.encrypted_workspace("enc-backup")
        src = make_model_dir(os.path.join(ws, "m"), flavour=self.MARKER, size=70000)
        self.ok("models", "register", "m", src)
        self.ok("models", "tag", "m@1", f"note={self.MARKER}")
        backup = fresh_dir("enc-backup-copy")
        os.rmdir(backup)
        self.ok("store", "backup", backup)
        marker = self.MARKER.encode()
        for root, _, files in os.walk(backup):
            for f in files:
                with open(os.path.join(root, f), "rb") as fh:
                    self.assertNotIn(marker, fh.read(), f"{f} of the backup holds the marker in the clear")
        target = fresh_dir("enc-backup-restored")
        env = clean_env(ENCLAVE_WORKSPACE_KEY_FILE=key)
        self.ok("store", "restore", backup, "--workspace", target, env=env)
        self.env = clean_env(ENCLAVE_HOME=target, ENCLAVE_WORKSPACE_KEY_FILE=key)
        self.assertEqual([m["name"] for m in self.ok_json("models", "list")], ["m"])
        self.assertTrue(self.ok_json("store", "verify")["ok"])
        self.assertTrue(self.ok_json("audit", "verify")["ok"])
        self.assert_marker_nowhere(target)
        self.expect_error(["models", "list"], "encrypted", code=1, env=clean_env(ENCLAVE_HOME=target))


def main():
    global ENCLAVE, WORKDIR
    a, rest = harness.parse(__doc__, "store_cli_test")
    ENCLAVE, WORKDIR = a.enclave, a.workdir
    return harness.run(rest)

if __name__ == "__main__":
    sys.exit(main())
