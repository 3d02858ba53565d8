"""The dashboard (`enclave ui`, `enclave serve --ui`), black-box: a workspace
with a pretrain and an SFT run, a merged model, an evaluation, datasets with
step reports, a served model with logged requests and feedback and a
pipeline waiting for approval; then

the JSON API and sign-in over HTTP (token and keys modes, CSRF, Origin,
Host, scopes, pagination, OpenAPI, the live serving state), and Debian's
Chromium and Firefox ESR (puppeteer-core, tests/ui_browser) through every
page: no console error, no failed request, curves with the runs' values,
lineage to the dataset, the live serving indicator, a feedback item
approved (the store changes); in Chromium also a pipeline stage approved,
the indicator following a new request, the indicator of `enclave ui` alone
and a viewer refused; screenshots saved in --workdir/screenshots/BROWSER.
One class: the workspace and its servers are built once for both browsers,
which start (tests/ui_browser/run.mjs) while it is built.

    /usr/bin/python3 tests/ui_browser_test.py --enclave build/src/cli/enclave --workdir /tmp/ui-test
"""

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest
import urllib.parse
from concurrent.futures import ThreadPoolExecutor

import fixtures
import harness

ENCLAVE = None
WORKDIR = None
FIXTURES = None
HERE = os.path.dirname(os.path.abspath(__file__))

PIPELINE = """
name: release
stages:
  build:
    cmd: sh -c 'echo built > build.txt'
    outs: [build.txt]
    cache: false
  deploy:
    cmd: sh -c 'cat build.txt > deployed.txt'
    deps: [build.txt]
    outs: [deployed.txt]
    approval: required
    cache: false
"""

MERGE = """merge_method: linear
models:
  - {model: base, parameters: {weight: 0.5}}
  - {model: pre, parameters: {weight: 0.5}}
"""


def run(*args, timeout=300, check=True):
    env = {k: v for k, v in os.environ.items() if k not in ("ENCLAVE_RUN_ID", "ENCLAVE_PIPELINE_NOW")}
    env["ENCLAVE_HOME"] = Workspace.root
    p = subprocess.run([ENCLAVE, *map(str, args)], capture_output=True, text=True, env=env, cwd=Workspace.root,
                       timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"enclave {' '.join(map(str, args))}: exit {p.returncode}\n{p.stdout}\n{p.stderr}")
    return p


def last_json(p):
    return json.loads(p.stdout.strip().splitlines()[-1])


class Server:
    """A background enclave process that prints a URL; stopped by stop()."""

    def __init__(self, args, marker):
        env = dict(os.environ, ENCLAVE_HOME=Workspace.root)
        self.log = open(os.path.join(WORKDIR, f"{args[0]}.log"), "w+")
        self.proc = subprocess.Popen([ENCLAVE, *map(str, args)], stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     env=env, cwd=Workspace.root)
        self.url = None
        deadline = time.time() + 60
        while time.time() < deadline and self.url is None:
            if args[0] == "ui":
                line = self.proc.stdout.readline()
                if line.startswith("http"):
                    self.url = line.strip()
            else:
                self.log.seek(0)
                for line in self.log:
                    if marker in line:
                        self.url = line.split(marker, 1)[1].strip()
                time.sleep(0.05)
            if self.proc.poll() is not None:
                break
        if self.url is None:
            self.stop()
            self.log.seek(0)
            raise AssertionError(f"enclave {args[0]} did not start:\n{self.log.read()}")
        parsed = urllib.parse.urlparse(self.url)
        self.host, self.port = parsed.hostname, parsed.port

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        h = dict(headers or {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=data, headers=h)
        res = conn.getresponse()
        text = res.read().decode()
        conn.close()
        try:
            payload = json.loads(text)
        except ValueError:
            payload = text
        return res.status, payload, res

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.log.close()


class Workspace:
    """The workspace the tests read, built once."""
    root = None
    built = False
    keys = {}
    serve = None

    @classmethod
    def build(cls):
        if cls.built:
            return
        start = time.time()
        cls.root = os.path.join(WORKDIR, "ws")
        shutil.rmtree(cls.root, ignore_errors=True)
        os.makedirs(WORKDIR, exist_ok=True)
        subprocess.run([ENCLAVE, "init", cls.root], check=True, capture_output=True)
        data = os.path.join(WORKDIR, "data")
        run("train", "tasks", "--out", data, "--n-pretrain", "24", "--n-sft", "16", "--n-eval", "4",
            "--n-dpo", "4", "--n-dpo-eval", "2")
        run("models", "register", "base", fixtures.tiny(FIXTURES, 1))
        os.makedirs(os.path.join(WORKDIR, "docs"), exist_ok=True)
        shutil.copy(os.path.join(data, "pretrain.jsonl"), os.path.join(WORKDIR, "docs", "corpus.jsonl"))
        with open(os.path.join(cls.root, "release.yaml"), "w") as f:
            f.write(PIPELINE)
        common = ["--batch-size", "2", "--threads", "1", "--max-length", "32", "--max-steps", "2", "--json"]
        for role in ("admin", "viewer"):
            cls.keys[role] = run("api-keys", "add", "--file", os.path.join(cls.root, "keys.json"), "--id", role,
                                 "--role", role).stdout.strip()
        run("data", "ingest", os.path.join(WORKDIR, "docs"), "--out", "corpus")
        run("data", "filter", "--in", "corpus", "--out", "corpus")
        run("datasets", "register", "chat", os.path.join(data, "sft.jsonl"))
        with ThreadPoolExecutor(3) as pool:
            pre = pool.submit(run, "train", "pretrain", "--model", "base", "--data", "corpus", "--out", "pre", *common)
            sft = pool.submit(run, "train", "sft", "--model", "base", "--data", "chat", "--out", "assistant", *common)
            pipe = pool.submit(run, "pipeline", "run", "release.yaml", "--json", check=False)
            cls.pretrain = last_json(pre.result())
            cls.sft = last_json(sft.result())
            pipe = pipe.result()
        cls.pipeline = json.loads(pipe.stdout)
        assert cls.pipeline["status"] == "waiting_approval", pipe.stdout + pipe.stderr
        with open(os.path.join(WORKDIR, "merge.yaml"), "w") as f:
            f.write(MERGE)
        with ThreadPoolExecutor(2) as pool:
            merged = pool.submit(run, "merge", "--config", os.path.join(WORKDIR, "merge.yaml"), "--out", "merged",
                                 "--json")
            ev = pool.submit(run, "eval", "run", "--model", "assistant", "--suite", "general.sequence_en", "--limit",
                             "2", "--threads", "1", "--json")
            cls.serve = Server(["serve", "--model", "assistant", "--port", "0", "--ui", "--threads", "1",
                                "--api-keys", os.path.join(cls.root, "keys.json")], "dashboard at ")
            merged.result()
            ev.result()
        auth = {"Authorization": "Bearer " + cls.keys["admin"]}
        cls.requests = []
        for i in range(3):
            status, body, _ = cls.serve.request("POST", "/v1/chat/completions", {
                "model": "assistant", "max_tokens": 3, "messages": [{"role": "user", "content": f"Say {i}, mail a{i}@example.com"}]},
                auth)
            assert status == 200, body
            cls.requests.append(body["id"])
        for i, rid in enumerate(cls.requests):
            status, body, _ = cls.serve.request("POST", "/v1/feedback", {"id": rid, "rating": -1 if i else 1}, auth)
            assert status == 200, body
        cls.built = True
        print(f"workspace built in {time.time() - start:.1f} s", file=sys.stderr)

    @classmethod
    def stop(cls):
        if cls.serve:
            cls.serve.stop()
            cls.serve = None


class Browsers:
    """tests/ui_browser/run.mjs, started before the workspace is built (a
    browser takes seconds to start), given its config once the workspace is
    served (run), or closing its browsers unused (stop)."""

    # Each browser's command and the Debian package that installs it.
    NAMES = {"chromium": ("chromium", "chromium"), "firefox": ("firefox-esr", "firefox-esr")}

    def __init__(self):
        executables = {name: shutil.which(command) for name, (command, _) in self.NAMES.items()}
        self.missing = [package for name, (_, package) in self.NAMES.items() if not executables[name]]
        if not os.path.isdir(os.path.join(HERE, "ui_browser", "node_modules", "puppeteer-core")):
            self.missing.append("tests/ui_browser/node_modules")
        self.proc = None
        if not self.missing:
            self.proc = subprocess.Popen(
                ["node", os.path.join(HERE, "ui_browser", "run.mjs"), *(f"{n}={p}" for n, p in executables.items())],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                cwd=os.path.join(HERE, "ui_browser"))

    def run(self, config, timeout=240):
        """(exit status, stdout, stderr) of the run over config."""
        out, err = self.proc.communicate(json.dumps(config), timeout=timeout)
        return self.proc.returncode, out, err

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.proc.communicate("" if not self.proc.stdin.closed else None, timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.terminate()  # puppeteer closes its browsers on SIGTERM
            try:
                self.proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate()


class DashboardTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.browsers = Browsers()
        try:
            Workspace.build()
            cls.ui = Server(["ui", "--port", "0"], None)
        except BaseException:
            cls.browsers.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.browsers.stop()
        cls.ui.stop()
        Workspace.stop()

    def sign_in(self):
        token = urllib.parse.parse_qs(urllib.parse.urlparse(self.ui.url).query)["token"][0]
        status, body, res = self.ui.request("POST", "/api/v1/session", {"token": token})
        self.assertEqual(status, 200, body)
        cookie = res.getheader("Set-Cookie")
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        return cookie.split(";")[0], body["csrf"], token

    def test_token_mode_signs_in_once_and_guards_changes(self):
        self.assertEqual(self.ui.host, "127.0.0.1")
        status, body, _ = self.ui.request("GET", "/api/v1/runs")
        self.assertEqual(status, 401, body)
        status, body, _ = self.ui.request("POST", "/api/v1/session", {"token": "wrong"})
        self.assertEqual(status, 401, body)
        cookie, csrf, token = self.sign_in()
        status, runs, _ = self.ui.request("GET", "/api/v1/runs?limit=2", headers={"Cookie": cookie})
        self.assertEqual(status, 200, runs)
        self.assertEqual(len(runs["items"]), 2)
        status, more, _ = self.ui.request("GET", f"/api/v1/runs?limit=2&cursor={runs['next_cursor']}",
                                          headers={"Cookie": cookie})
        self.assertNotEqual(more["items"][0]["id"], runs["items"][0]["id"])
        # The token works as a bearer credential too; keys in the URL never do.
        status, _, _ = self.ui.request("GET", "/api/v1/home", headers={"Authorization": "Bearer " + token})
        self.assertEqual(status, 200)
        status, _, _ = self.ui.request("GET", "/api/v1/home?key=" + token)
        self.assertEqual(status, 401)
        # A foreign Host (DNS rebinding) is refused.
        status, _, _ = self.ui.request("GET", "/api/v1/home", headers={"Cookie": cookie, "Host": "evil.example"})
        self.assertEqual(status, 403)
        review = {"request_id": Workspace.requests[0], "decision": "rejected"}
        origin = f"http://127.0.0.1:{self.ui.port}"
        for headers, why in (({"Cookie": cookie, "Origin": origin}, "no CSRF token"),
                             ({"Cookie": cookie, "Origin": origin, "X-CSRF-Token": "0" * 64}, "wrong CSRF token"),
                             ({"Cookie": cookie, "X-CSRF-Token": csrf}, "no Origin"),
                             ({"Cookie": cookie, "Origin": "http://evil.example", "X-CSRF-Token": csrf}, "foreign Origin")):
            status, body, _ = self.ui.request("POST", "/api/v1/feedback/review", review, headers)
            self.assertEqual(status, 403, f"{why}: {body}")
        status, body, _ = self.ui.request("POST", "/api/v1/feedback/review", {"request_id": "nope", "decision": "approved"},
                                          {"Cookie": cookie, "Origin": origin, "X-CSRF-Token": csrf})
        self.assertEqual(status, 404, body)
        status, body, _ = self.ui.request("GET", "/api/v1/runs?limit=0", headers={"Cookie": cookie})
        self.assertEqual(status, 400)
        self.assertIn("limit", body["error"]["message"])
        # Signing out ends the session.
        self.ui.request("POST", "/api/v1/session/end", {}, {"Cookie": cookie})
        status, _, _ = self.ui.request("GET", "/api/v1/home", headers={"Cookie": cookie})
        self.assertEqual(status, 401)

    def test_without_keys_only_loopback(self):
        p = run("ui", "--host", "0.0.0.0", "--port", "0", check=False, timeout=60)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("loopback", p.stderr)

    def test_every_listing_pages_and_openapi_names_every_route(self):
        cookie, _, _ = self.sign_in()
        status, spec, _ = self.ui.request("GET", "/api/v1/openapi.json")
        self.assertEqual(status, 200)
        self.assertEqual(spec["openapi"], "3.0.3")
        listings = [p for p, ops in spec["paths"].items() if "get" in ops and any(
            x.get("$ref", "").endswith("/cursor") for x in ops["get"].get("parameters", []))]
        self.assertGreaterEqual(len(listings), 8)
        for path in listings:
            path = path.replace("{name}", "chat")
            status, body, _ = self.ui.request("GET", path + ("&" if "?" in path else "?") + "limit=1",
                                              headers={"Cookie": cookie})
            self.assertEqual(status, 200, f"{path}: {body}")
            self.assertIn("next_cursor", body, path)
            self.assertLessEqual(len(body["items"]), 1, path)
        status, model, _ = self.ui.request("GET", "/api/v1/models/assistant", headers={"Cookie": cookie})
        evals = model["versions"][0]["evaluations"]
        self.assertTrue(evals and evals[0]["kind"] == "eval", model)
        with_ci = [m for m in evals[0]["metrics"] if "ci95" in m]
        self.assertTrue(with_ci, evals)
        lo, hi = with_ci[0]["ci95"]
        self.assertLessEqual(lo, with_ci[0]["value"])
        self.assertGreaterEqual(hi, with_ci[0]["value"])
        status, serving, _ = self.ui.request("GET", "/api/v1/serving?since=3600&windows=6", headers={"Cookie": cookie})
        self.assertEqual(sum(w["metrics"].get("serve.requests", 0) for w in serving["windows"]), 3)
        status, reqs, _ = self.ui.request("GET", "/api/v1/requests?q=EMAIL", headers={"Cookie": cookie})
        self.assertEqual(len(reqs["items"]), 3)  # stored redacted: <EMAIL>
        self.assertNotIn("example.com", json.dumps(reqs))
        # The live serving state: `enclave ui` alone knows no server and
        # reports the request log's last request; `serve --ui` answers for
        # itself with the version it loaded.
        self.assertIn("/api/v1/serving/live", spec["paths"])
        status, live, _ = self.ui.request("GET", "/api/v1/serving/live", headers={"Cookie": cookie})
        self.assertEqual(status, 200, live)
        self.assertEqual((live["state"], live["source"], live["server"]), ("unknown", "request_log", None), live)
        self.assertEqual(live["last_request"]["model"], "assistant")
        self.assertLess(live["last_request"]["age_s"], live["stale_after_s"])
        status, live, _ = Workspace.serve.request("GET", "/api/v1/serving/live",
                                                  headers={"Authorization": "Bearer " + Workspace.keys["viewer"]})
        self.assertEqual(status, 200, live)
        self.assertEqual((live["state"], live["source"]), ("up", "server"), live)
        self.assertEqual(live["server"]["models"], [{"id": "assistant", "version": "assistant@1"}])
        self.assertGreaterEqual(live["server"]["generations"], 3)

    def test_every_page_in_chromium_and_firefox(self):
        if self.browsers.missing:
            self.fail(f"needs {', '.join(self.browsers.missing)} (run scripts/install-deps.sh)")
        screenshots = os.path.join(WORKDIR, "screenshots")
        shutil.rmtree(screenshots, ignore_errors=True)
        base = Workspace.serve.url.split("/?")[0].rstrip("/")
        run_id = Workspace.pretrain["run_id"]
        pipeline_run = Workspace.pipeline["run"]
        pages = [["home", "#/"], ["runs", "#/runs"], ["run", f"#/runs/{run_id}"],
                 ["compare", f"#/compare?ids={run_id},{Workspace.sft['run_id']}"], ["models", "#/models"],
                 ["model", "#/models/assistant"], ["model-merged", "#/models/merged"], ["datasets", "#/datasets"],
                 ["dataset", "#/datasets/corpus"], ["serving", "#/serving"], ["feedback", "#/feedback"],
                 ["pipelines", "#/pipelines"], ["pipeline", f"#/pipelines/{pipeline_run}"], ["audit", "#/audit"],
                 ["lineage", "#/models/pre"]]
        # Each browser approves a feedback item of its own; Chromium does
        # the changes that can happen once.
        feedback = {"chromium": Workspace.requests[0], "firefox": Workspace.requests[1]}
        config = {"base": base, "screenshots": screenshots,
                  "admin_key": Workspace.keys["admin"], "viewer_key": Workspace.keys["viewer"], "pages": pages,
                  "run_page": f"#/runs/{run_id}", "lineage_page": "#/models/pre",
                  "feedback_page": "#/feedback?status=pending", "pipeline_page": f"#/pipelines/{pipeline_run}",
                  "pipeline_run": pipeline_run, "feedback": feedback, "full": "chromium", "ui_url": self.ui.url}
        with open(os.path.join(WORKDIR, "browser.json"), "w") as f:
            json.dump(config, f)  # for a rerun by hand: node run.mjs chromium=... < browser.json
        start = time.time()
        status, out, err = self.browsers.run(config)
        self.assertEqual(status, 0, err)
        all_seen = json.loads(out)
        print(f"{' and '.join(all_seen)} through {len(pages)} pages in {time.time() - start:.1f} s "
              f"(started before the workspace was built); screenshots in {screenshots}", file=sys.stderr)
        shown = json.loads(run("runs", "show", run_id, "--series", "--json").stdout)
        audit = json.loads(run("audit", "list", "--json").stdout)
        for browser, seen in all_seen.items():
            parts = ", ".join(f"{k} {v / 1000:.1f}" for k, v in seen["ms"].items())
            print(f"  {seen['version']}: {parts} s", file=sys.stderr)
            with self.subTest(browser=browser):
                self.check_pages(seen, pages, os.path.join(screenshots, browser), shown, audit, feedback[browser])
        self.check_full_pass(all_seen["chromium"])

    def check_pages(self, seen, pages, screenshots, shown, audit, feedback_request):
        """What every browser must show."""
        self.assertEqual(seen["console_errors"], [])
        self.assertEqual(seen["failed_requests"], [])
        for name, _ in pages:
            self.assertEqual(seen["pages"][name]["error"], "", name)
            self.assertTrue(os.path.getsize(os.path.join(screenshots, f"{name}.png")) > 1000, name)
        self.assertIn("assistant", seen["pages"]["home"]["text"])
        # The live indicator: the server this dashboard runs in, with the
        # version it loaded, in English and Korean.
        live = seen["live"]["home"]
        self.assertEqual(live["state"], "up", live)
        self.assertIn("assistant · loaded assistant@1", live["text"])
        self.assertEqual(seen["korean_live"].split(), ["현재", "서빙", "정상"])
        # The stylesheet's rounded corners hold (a unitless length is not CSS).
        self.assertEqual(seen["node_corner"], "6px")
        # The curves hold the run's logged values.
        for key in ("loss", "lr"):
            want = [[p[0], p[1]] for p in shown["metrics"][key]["series"]]
            got = seen["charts"][key][0]["points"]
            self.assertEqual(len(got), len(want), key)
            for (gs, gv), (ws, wv) in zip(got, want):
                self.assertEqual(gs, ws)
                self.assertAlmostEqual(gv, wv, places=9, msg=key)
        self.assertEqual(seen["korean_nav"], "실행")
        # Lineage: the pretrained model's graph leads to its training data.
        self.assertEqual(seen["lineage_reached"], "#/datasets/corpus")
        self.assertIn("corpus@", seen["lineage_report"])
        # The approval changed the store, with the key as actor, and the item
        # left the pending list.
        reviews = [e["actor"] for e in audit if e["action"] == "feedback-review"
                   and e["object"] == "request " + feedback_request]
        self.assertEqual(reviews, ["key:admin"])
        self.assertNotIn(feedback_request, seen["feedback_pending"])

    def check_full_pass(self, seen):
        """What only the browser that makes the one-time changes shows."""
        self.assertIn("release #", seen["pages"]["home"]["text"])  # the pipeline run that waited
        # The live indicator followed a new request without a reload.
        live = seen["live"]
        self.assertEqual(live["request_status"], 200)
        self.assertEqual(int(live["after"]["generations"]), int(live["before"]["generations"]) + 1, live)
        self.assertGreater(int(live["after"]["polls"]), int(live["before"]["polls"]))
        self.assertTrue(live["not_reloaded"])
        # `enclave ui` alone knows no server: the request log decides.
        self.assertEqual(live["ui_alone_log"], {"console_errors": [], "failed_requests": []})
        self.assertEqual(live["ui_alone"]["state"], "unknown", live["ui_alone"])
        self.assertNotIn("generations", live["ui_alone"])
        self.assertIn("No server is known", live["ui_alone"]["text"])
        self.assertIn("assistant@1 · HTTP 200", live["ui_alone"]["text"])
        pipeline_run = Workspace.pipeline["run"]
        deadline = time.time() + 30
        while time.time() < deadline:
            shown = json.loads(run("pipeline", "show", pipeline_run, "--json").stdout)
            if shown["status"] != "waiting_approval" and shown["status"] != "running":
                break
            time.sleep(0.2)
        self.assertEqual(shown["status"], "succeeded", shown)
        self.assertTrue(any(e["action"] == "pipeline-approve" and e["actor"] == "key:admin" for e in
                            json.loads(run("audit", "list", "--json").stdout)))
        # A viewer may look but not change.
        self.assertTrue(seen["viewer"]["buttons_disabled"])
        self.assertEqual(seen["viewer"]["review_status"], 403)
        self.assertEqual(seen["viewer"]["decide_status"], 403)
        self.assertEqual(seen["no_csrf_status"], 403)


def main():
    global ENCLAVE, WORKDIR, FIXTURES
    args, rest = harness.parse(__doc__, "ui_browser_test", fixtures=True)
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    FIXTURES = fixtures.find_or_make(ENCLAVE, args.fixtures, WORKDIR)
    try:
        return harness.run(rest)
    finally:
        Workspace.stop()


if __name__ == "__main__":
    sys.exit(main())
