#!/usr/bin/env python3
"""Black-box tests of `enclave serve`: a real server on a free loopback port,
spoken to over HTTP with the standard library only. Covers every endpoint,
SSE streaming, stop strings, keys (401/403), rate limits (429), the bounded
queue (503), body limits (413), bad JSON and parameters (400), a client
disconnecting mid-stream, concurrent == sequential with the same seed, the
request log with PII redaction (`enclave monitor requests`), feedback and
`enclave feedback export`, and hot reload of a registry alias.

Each TestCase class starts its own server (and workspace) once, so CTest
runs the classes in parallel; the tests of a class share that server.

Usage: serve_cli_test.py --enclave BUILD/src/cli/enclave --workdir DIR [--fixtures DIR] [ClassName ...] [-k pattern]
"""
import argparse
import hashlib
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402

ENCLAVE = None
WORK = None
FIXTURES = None  # the tiny models of tests/fixtures.py
KEYS = {"infer": "sk-test-infer", "admin": "sk-test-admin", "limited": "sk-test-limited"}


def run(*args, check=True, timeout=300):
    p = subprocess.run([ENCLAVE, *args], capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0:
        raise AssertionError(f"enclave {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`enclave serve` in a subprocess, always stopped (context manager)."""

    def __init__(self, *args, connect_host="127.0.0.1", tls=None):
        """connect_host: the address requests go to; tls: an ssl.SSLContext
        for a server started with --tls-cert and --tls-key."""
        self.connect_host = connect_host
        self.tls = tls
        self.port = free_port()
        self.log = open(os.path.join(WORK, f"serve-{self.port}.log"), "w")
        self.proc = subprocess.Popen([ENCLAVE, "serve", "--port", str(self.port), *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 120
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}: {self.output()}")
            try:
                if request(self, "GET", "/health")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise AssertionError("server did not come up in 120 s")

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def connect(server, timeout=120):
    host = getattr(server, "connect_host", "127.0.0.1")
    if getattr(server, "tls", None) is not None:
        return http.client.HTTPSConnection(host, server.port, timeout=timeout, context=server.tls)
    return http.client.HTTPConnection(host, server.port, timeout=timeout)


def request(server, method, path, body=None, key="infer", headers=None, raw=None, timeout=120):
    conn = connect(server, timeout)
    h = dict(headers or {})
    if key:
        h["Authorization"] = f"Bearer {KEYS.get(key, key)}"
    data = raw if raw is not None else (json.dumps(body) if body is not None else None)
    if data is not None:
        h["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=h)
    resp = conn.getresponse()
    text = resp.read().decode("utf-8", "replace")
    conn.close()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = text
    return resp.status, parsed, resp


def stream(server, path, body, key="infer"):
    """POST with stream: true; returns (status, [events], raw)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    conn.request("POST", path, body=json.dumps({**body, "stream": True}),
                 headers={"Authorization": f"Bearer {KEYS[key]}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    raw = resp.read().decode("utf-8", "replace")
    conn.close()
    events = [line[len("data: "):] for line in raw.split("\n") if line.startswith("data: ")]
    return resp.status, events, raw


def assert_error(status, body, expected, param=None):
    assert status == expected, f"expected {expected}, got {status}: {body}"
    assert isinstance(body, dict) and "error" in body, f"not an OpenAI error: {body}"
    err = body["error"]
    for field in ("message", "type", "param", "code"):
        assert field in err, f"error without '{field}': {body}"
    if param is not None:
        assert err["param"] == param, f"param {err['param']!r} != {param!r}: {body}"


def metric(server, name):
    status, text, _ = request(server, "GET", "/metrics")
    assert status == 200, text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


PROMPT = "The quick brown fox jumps over the lazy dog"
CHAT = [{"role": "user", "content": "Tell me about the fox."}]


def open_stream(s, max_tokens=200):
    """Starts a greedy stream and reads its first event; returns the connection."""
    conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=120)
    conn.request("POST", "/v1/completions",
                 body=json.dumps({"prompt": PROMPT, "max_tokens": max_tokens, "temperature": 0, "stream": True}),
                 headers={"Authorization": f"Bearer {KEYS['infer']}", "Content-Type": "application/json"})
    resp = conn.getresponse()
    assert resp.status == 200
    first = resp.readline()
    assert first.startswith(b"data: "), first
    return conn, resp


def raw_post(server, head, body=b""):
    """Sends a hand-written POST (headers as given) and returns the status line."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode() + b"\r\n" + body)
        reply = b""
        while b"\r\n" not in reply:
            chunk = sock.recv(4096)
            if not chunk:
                break
            reply += chunk
    return reply.split(b"\r\n")[0].decode()


def write_keys(path):
    keys = [{"id": "infer", "sha256": hashlib.sha256(KEYS["infer"].encode()).hexdigest(), "scopes": ["infer"]},
            {"id": "admin", "sha256": hashlib.sha256(KEYS["admin"].encode()).hexdigest(), "scopes": ["admin"]},
            {"id": "limited", "sha256": hashlib.sha256(KEYS["limited"].encode()).hexdigest(), "scopes": ["infer"],
             "requests_per_minute": 2}]
    with open(path, "w") as f:
        json.dump({"format": "enclave-api-keys", "version": 1, "keys": keys}, f)


class ServeCase(unittest.TestCase):
    """A keyed server over a workspace of its own, started once per class:
    `tiny` registered from the fixture's seed-1 model (tiny@1, alias
    production), served as tiny:production with the fox adapter, 2 slots,
    1 queue place, a 256-token context and a 4096-byte body limit. A failed
    test prints the end of the server's output."""

    # Seeds of further fixture models registered as tiny@2, ... before the
    # server starts, and the version the production alias then points to.
    more_seeds = ()
    production = "tiny@1"

    @classmethod
    def setUpClass(cls):
        cls.ws = os.path.join(WORK, cls.__name__ + "-ws")
        shutil.rmtree(cls.ws, ignore_errors=True)
        run("init", cls.ws)
        for seed in (1, *cls.more_seeds):
            run("models", "register", "tiny", fixtures.tiny(FIXTURES, seed), "--workspace", cls.ws)
        run("models", "alias", cls.production, "production", "--workspace", cls.ws)
        # The adapter by registry reference: requests through it link to fox@1.
        run("models", "register", "fox", os.path.join(WORK, "fox-adapter"), "--workspace", cls.ws)
        run("models", "tag", "fox@1", "base=tiny@1", "--workspace", cls.ws)
        cls.server = Server("--model", "tiny:production", "--workspace", cls.ws, "--api-keys",
                            os.path.join(WORK, "keys.json"), "--max-concurrency", "2", "--max-queue", "1", "--ctx",
                            "256", "--max-body-bytes", "4096", "--watch-seconds", "0.5", "--max-tokens-limit", "1000",
                            "--adapter", "fox=fox@1")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def run(self, result=None):
        failed_before = len(result.failures) + len(result.errors) if result else 0
        super().run(result)
        if result and len(result.failures) + len(result.errors) > failed_before:
            print(f"--- {self.id()}: server output ---\n" + self.server.output()[-4000:], flush=True)
        return result


class ApiTest(ServeCase):
    """Endpoints, keys, streaming, sampling options, metrics, the request log
    and feedback."""

    def test_health_is_public_and_everything_else_needs_a_key(self):
        s = self.server
        assert request(s, "GET", "/health", key=None)[0] == 200
        for method, path in (("GET", "/v1/models"), ("GET", "/metrics"), ("POST", "/v1/completions")):
            status, body, _ = request(s, method, path, body={"prompt": "x"} if method == "POST" else None, key=None)
            assert_error(status, body, 401)
        assert_error(*request(s, "GET", "/v1/models", key="sk-wrong")[:2], 401)
        assert_error(*request(s, "GET", "/v1/models", key="")[:2], 401)
        status, body, _ = request(s, "GET", f"/v1/models?api_key={KEYS['infer']}", key=None)
        assert_error(status, body, 401)
        assert_error(*request(s, "POST", "/admin/reload", key="infer")[:2], 403)

    def test_models_lists_the_served_model(self):
        s = self.server
        status, body, _ = request(s, "GET", "/v1/models")
        assert status == 200 and body["object"] == "list", body
        assert [m["id"] for m in body["data"]] == ["tiny", "fox"], body
        assert body["data"][0]["root"].startswith("tiny@"), body

    def test_adapter_is_chosen_by_model(self):
        s = self.server
        req = {"prompt": PROMPT, "max_tokens": 12, "temperature": 0}
        base = request(s, "POST", "/v1/completions", {**req, "model": "tiny"})[1]
        fox = request(s, "POST", "/v1/completions", {**req, "model": "fox"})[1]
        assert fox["model"] == "fox" and base["model"] == "tiny", (fox, base)
        assert fox["choices"][0]["text"] != base["choices"][0]["text"], (fox, base)
        again = request(s, "POST", "/v1/completions", {**req, "model": "fox"})[1]
        assert again["choices"][0]["text"] == fox["choices"][0]["text"]

    def test_completion_has_openai_fields_and_seed_repeats(self):
        s = self.server
        req = {"model": "tiny", "prompt": PROMPT, "max_tokens": 12, "temperature": 0.9, "seed": 7}
        status, a, resp = request(s, "POST", "/v1/completions", req)
        assert status == 200, a
        assert a["object"] == "text_completion" and a["id"].startswith("cmpl-"), a
        assert a["choices"][0]["finish_reason"] in ("stop", "length"), a
        u = a["usage"]
        assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"] and u["completion_tokens"] <= 12, a
        assert resp.getheader("X-Request-Id") == a["id"]
        b = request(s, "POST", "/v1/completions", req)[1]
        assert a["choices"][0]["text"] == b["choices"][0]["text"], (a, b)

    def test_chat_completion_and_stream_agree(self):
        s = self.server
        req = {"model": "tiny", "messages": CHAT, "max_tokens": 16, "temperature": 0.7, "seed": 3}
        status, whole, _ = request(s, "POST", "/v1/chat/completions", req)
        assert status == 200 and whole["object"] == "chat.completion", whole
        assert whole["choices"][0]["message"]["role"] == "assistant", whole
        status, events, raw = stream(s, "/v1/chat/completions", {**req, "stream_options": {"include_usage": True}})
        assert status == 200, raw
        assert events[-1] == "[DONE]", raw
        chunks = [json.loads(e) for e in events[:-1]]
        assert all(c["object"] == "chat.completion.chunk" for c in chunks), raw
        assert chunks[0]["choices"][0]["delta"].get("role") == "assistant", raw
        text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
        assert text == whole["choices"][0]["message"]["content"], (text, whole)
        finals = [c for c in chunks if c["choices"] and c["choices"][0]["finish_reason"]]
        assert len(finals) == 1, raw
        assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] == whole["usage"][
            "completion_tokens"], raw

    def test_completion_stream(self):
        s = self.server
        status, events, raw = stream(s, "/v1/completions", {"prompt": PROMPT, "max_tokens": 8, "seed": 1})
        assert status == 200 and events[-1] == "[DONE]", raw
        chunks = [json.loads(e) for e in events[:-1]]
        assert all(c["object"] == "text_completion" for c in chunks), raw
        assert chunks[-1]["choices"][0]["finish_reason"] in ("stop", "length"), raw

    def test_stop_strings_cut_the_text(self):
        s = self.server
        req = {"prompt": PROMPT, "max_tokens": 30, "temperature": 0}
        full = request(s, "POST", "/v1/completions", req)[1]["choices"][0]["text"]
        assert len(full) >= 6, full
        stop = full[len(full) // 2:len(full) // 2 + 3]
        cut = request(s, "POST", "/v1/completions", {**req, "stop": [stop]})[1]["choices"][0]
        assert cut["text"] == full[:full.index(stop)], (cut, full, stop)
        assert cut["finish_reason"] == "stop", cut
        status, events, raw = stream(s, "/v1/completions", {**req, "stop": stop})
        streamed = "".join(json.loads(e)["choices"][0]["text"] for e in events[:-1])
        assert streamed == cut["text"], (streamed, cut)

    def test_logprobs(self):
        s = self.server
        req = {"messages": CHAT, "max_tokens": 4, "temperature": 0, "logprobs": True, "top_logprobs": 2}
        body = request(s, "POST", "/v1/chat/completions", req)[1]
        content = body["choices"][0]["logprobs"]["content"]
        assert len(content) >= 1, body
        for t in content:
            assert t["logprob"] <= 0 and len(t["top_logprobs"]) == 2, t
        body = request(s, "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 3, "logprobs": 1})[1]
        lp = body["choices"][0]["logprobs"]
        assert len(lp["tokens"]) == len(lp["token_logprobs"]) >= 1, body

    def test_metrics_are_prometheus_text(self):
        s = self.server
        assert request(s, "POST", "/v1/completions", {"prompt": "a", "max_tokens": 1})[0] == 200
        status, text, resp = request(s, "GET", "/metrics")
        assert status == 200 and resp.getheader("Content-Type").startswith("text/plain"), resp.getheaders()
        for series in ("enclave_requests_total{", "enclave_prompt_tokens_total", "enclave_completion_tokens_total",
                       "enclave_time_to_first_token_seconds_bucket", "enclave_time_per_output_token_seconds_bucket",
                       "enclave_queue_depth", "enclave_active_sequences"):
            assert series in text, series
        assert metric(s, 'enclave_requests_total{endpoint="completions",status="200"}') >= 1

    def test_request_log_is_redacted_and_listed(self):
        s = self.server
        body = request(s, "POST", "/v1/completions", {"prompt": "write to kim.minsu@example.com", "max_tokens": 2})[1]
        deadline = time.time() + 10
        rows = []
        while time.time() < deadline:
            p = run("monitor", "requests", "--workspace", self.ws, "--json", "--limit", "0")
            rows = [r for r in json.loads(p.stdout) if r["id"] == body["id"]]
            if rows:
                break
            time.sleep(0.2)
        assert rows, "request not in the log"
        assert "example.com" not in rows[0]["prompt"] and "<EMAIL>" in rows[0]["prompt"], rows[0]
        assert rows[0]["key_id"] == "infer" and rows[0]["model_version"].startswith("tiny@"), rows[0]
        # through the registered adapter: the base version and fox@1, by name and by row
        fox = request(s, "POST", "/v1/completions", {"prompt": "hi", "max_tokens": 2, "model": "fox"})[1]
        deadline = time.time() + 10
        row = None
        while time.time() < deadline and row is None:
            with sqlite3.connect(os.path.join(self.ws, ".enclave", "serve", "requests.db")) as db:
                row = db.execute("SELECT model_version, model_version_id, adapter_version_id FROM requests"
                                 " WHERE id = ?", (fox["id"],)).fetchone()
            time.sleep(0.2)
        assert row is not None, "adapter request not in the log"
        with sqlite3.connect(os.path.join(self.ws, ".enclave", "enclave.db")) as db:
            fox_id = db.execute("SELECT id FROM registry_versions WHERE name = 'fox' AND version = 1").fetchone()[0]
        assert row[0].endswith("+fox@1") and row[1] is not None and row[2] == fox_id, row
        table = run("monitor", "requests", "--workspace", self.ws, "--since", "1h", "--key", "infer")
        assert body["id"] in table.stdout, table.stdout
        bad = run("monitor", "requests", "--workspace", self.ws, "--since", "yesterday", check=False)
        assert bad.returncode != 0 and "--since" in bad.stderr, bad.stderr

    def test_feedback_and_export(self):
        s = self.server
        good = request(s, "POST", "/v1/completions", {"prompt": "2+2=", "max_tokens": 3, "seed": 1})[1]
        bad = request(s, "POST", "/v1/completions", {"prompt": "2+2=", "max_tokens": 3, "seed": 2})[1]
        chat = request(s, "POST", "/v1/chat/completions", {"messages": CHAT, "max_tokens": 3})[1]
        assert request(s, "POST", "/v1/feedback", {"id": good["id"], "rating": 1})[0] == 200
        assert request(s, "POST", "/v1/feedback", {"id": bad["id"], "rating": -1})[0] == 200
        assert request(s, "POST", "/v1/feedback", {"id": chat["id"], "correction": "A fox is a small canid."})[0] == 200
        assert_error(*request(s, "POST", "/v1/feedback", {"id": "cmpl-unknown", "rating": 1})[:2], 404, param="id")
        assert_error(*request(s, "POST", "/v1/feedback", {"id": good["id"], "rating": 5})[:2], 400, param="rating")
        assert_error(*request(s, "POST", "/v1/feedback", {"id": good["id"]})[:2], 400)
        # Each field's documented error (src/serve/README.md, "The feedback endpoint").
        assert_error(*request(s, "POST", "/v1/feedback", {"rating": 1})[:2], 400, param="id")
        assert_error(*request(s, "POST", "/v1/feedback", {"id": good["id"], "rating": "good"})[:2], 400, param="rating")
        assert_error(*request(s, "POST", "/v1/feedback", {"id": good["id"], "correction": 5})[:2], 400, param="correction")
        assert_error(*request(s, "POST", "/v1/feedback", {"id": good["id"], "rating": None, "correction": None})[:2], 400)
        assert_error(*request(s, "POST", "/v1/feedback", raw="[1]")[:2], 400)
        p = run("feedback", "export", "--out", "feedback", "--workspace", self.ws, "--json")
        result = json.loads(p.stdout)
        assert result["dataset"] == "feedback@1" and result["n_sft"] == 1, result
        expected_pairs = 1 if good["choices"][0]["text"] != bad["choices"][0]["text"] else 0
        assert result["n_preference"] == 1 + expected_pairs, result  # + the corrected chat answer
        lineage = run("lineage", "feedback@1", "--workspace", self.ws, check=False)
        if lineage.returncode == 0:
            assert "tiny@" in lineage.stdout, lineage.stdout


class LimitsTest(ServeCase):
    """Refusals (400, 404, 411, 413, 429, 503), cancellation, and batching
    under load."""

    def test_bad_requests_get_400(self):
        s = self.server
        assert_error(*request(s, "POST", "/v1/completions", raw="{not json")[:2], 400)
        assert_error(*request(s, "POST", "/v1/completions", raw='{"prompt": "a", "prompt": "b"}')[:2], 400)
        assert_error(*request(s, "POST", "/v1/completions", raw="[" * 200 + "]" * 200)[:2], 400)
        for field, value in (("temperature", 5), ("temperature", -1), ("top_p", -1), ("max_tokens", -1),
                             ("max_tokens", 10 ** 9), ("n", 1000000), ("stop", [""])):
            status, body, _ = request(s, "POST", "/v1/completions", {"prompt": "a", field: value})
            assert_error(status, body, 400, param=field)
        status, body, _ = request(s, "POST", "/v1/completions", raw='{"prompt": "a", "temperature": NaN}')
        assert_error(status, body, 400)
        long_prompt = " ".join(["word"] * 400)  # over --ctx 256 tokens, under the body limit
        status, body, _ = request(s, "POST", "/v1/completions", {"prompt": long_prompt})
        assert_error(status, body, 400)
        assert body["error"]["code"] == "context_length_exceeded", body
        status, body, _ = request(s, "POST", "/v1/completions", {"prompt": "a", "max_tokens": 300})
        assert_error(status, body, 400, param="max_tokens")
        assert_error(*request(s, "POST", "/v1/chat/completions", {"messages": []})[:2], 400, param="messages")
        assert_error(*request(s, "POST", "/v1/completions", {"model": "nope", "prompt": "a"})[:2], 404, param="model")
        assert_error(*request(s, "GET", "/v2/unknown")[:2], 404)

    def test_oversized_body_gets_413(self):
        s = self.server
        status, body, _ = request(s, "POST", "/v1/completions", raw=json.dumps({"prompt": "x" * 10000}))
        assert_error(status, body, 413)

    def test_bodies_without_length_get_411(self):
        s = self.server
        auth = f"Authorization: Bearer {KEYS['infer']}\r\n"
        # A chunked body that would go on forever is refused before it is read.
        head = ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n")
        assert " 411 " in raw_post(s, head, b"100000\r\n" + b"x" * 4096), "chunked body accepted"
        head = "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth + "Connection: close\r\n"
        assert " 411 " in raw_post(s, head, b'{"prompt": "x"}'), "body without Content-Length accepted"
        # The same request with a length is served.
        body = b'{"prompt": "x", "max_tokens": 1}'
        head = ("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + auth +
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n")
        assert " 200 " in raw_post(s, head, body)

    def test_rate_limit_gives_429_with_retry_after(self):
        s = self.server
        statuses = []
        for _ in range(3):
            status, body, resp = request(s, "GET", "/v1/models", key="limited")
            statuses.append(status)
        assert statuses == [200, 200, 429], statuses
        assert_error(status, body, 429)
        assert int(resp.getheader("Retry-After")) >= 1, resp.getheaders()

    def test_full_queue_gives_503(self):
        s = self.server
        # --max-concurrency 2 --max-queue 1: two running, one waiting, the next refused.
        running = [open_stream(s), open_stream(s)]
        waiting = {}

        def third():
            waiting["status"] = request(s, "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 2})[0]

        t = threading.Thread(target=third)
        t.start()
        deadline = time.time() + 10
        while metric(s, "enclave_queue_depth") < 1 and time.time() < deadline:
            time.sleep(0.02)
        status, body, resp = request(s, "POST", "/v1/completions", {"prompt": PROMPT, "max_tokens": 2})
        for conn, _ in running:
            conn.close()
        t.join()
        assert_error(status, body, 503)
        assert resp.getheader("Retry-After") is not None
        assert waiting["status"] == 200, waiting

    def test_client_disconnect_cancels_generation(self):
        s = self.server
        before = metric(s, 'enclave_finished_total{reason="cancelled"}')
        conn, resp = open_stream(s, max_tokens=220)
        resp.readline()
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        deadline = time.time() + 20
        while metric(s, 'enclave_finished_total{reason="cancelled"}') <= before and time.time() < deadline:
            time.sleep(0.05)
        assert metric(s, 'enclave_finished_total{reason="cancelled"}') > before
        assert request(s, "GET", "/health", key=None)[0] == 200

    def test_client_disconnect_cancels_a_non_streaming_generation(self):
        s = self.server
        before = metric(s, 'enclave_finished_total{reason="cancelled"}')
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=120)
        conn.request("POST", "/v1/completions",
                     body=json.dumps({"prompt": PROMPT, "max_tokens": 220, "temperature": 0}),
                     headers={"Authorization": f"Bearer {KEYS['infer']}", "Content-Type": "application/json"})
        time.sleep(0.05)  # the request is on its way; nobody will wait for the answer
        conn.sock.shutdown(socket.SHUT_RDWR)
        conn.close()
        deadline = time.time() + 20
        while metric(s, 'enclave_finished_total{reason="cancelled"}') <= before and time.time() < deadline:
            time.sleep(0.05)
        assert metric(s, 'enclave_finished_total{reason="cancelled"}') > before, "generation ran on for nobody"
        assert request(s, "GET", "/health", key=None)[0] == 200

    def test_concurrent_requests_match_sequential(self):
        s = self.server
        # Three at once on 2 slots + 1 queue place: the third joins the running
        # batch when the shortest leaves it.
        reqs = [{"prompt": f"{PROMPT} {i}", "max_tokens": 6 + 12 * i, "temperature": 0.8, "seed": 50 + i}
                for i in range(3)]
        sequential = [request(s, "POST", "/v1/completions", r)[1]["choices"][0]["text"] for r in reqs]
        results = [None] * len(reqs)

        def worker(i):
            status, body, _ = request(s, "POST", "/v1/completions", reqs[i])
            results[i] = body["choices"][0]["text"] if status == 200 else (status, body)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(reqs))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == sequential, (results, sequential)


class AliasWatchTest(ServeCase):
    """The server follows the production alias to a new version by itself."""

    def test_watched_alias_reloads_by_itself(self):
        s = self.server
        ws = self.ws
        run("models", "register", "tiny", fixtures.tiny(FIXTURES, 2), "--workspace", ws)
        run("models", "alias", "tiny@2", "production", "--workspace", ws)
        deadline = time.time() + 30
        while time.time() < deadline:
            if request(s, "GET", "/health", key=None)[1]["models"] == ["tiny@2", "tiny@2+fox@1"]:
                return
            time.sleep(0.2)
        raise AssertionError("the server did not follow the alias to tiny@2")


class HotReloadTest(ServeCase):
    """/admin/reload swaps the model under requests in flight: tiny@2 is
    served (production), tiny@1 is reloaded."""

    more_seeds = (2,)
    production = "tiny@2"

    def test_hot_reload_keeps_requests_in_flight(self):
        s = self.server
        conn, resp = open_stream(s, max_tokens=150)
        status, body, _ = request(s, "POST", "/admin/reload", {"model": "tiny@1"}, key="admin")
        assert status == 200 and body == {"previous": "tiny@2", "current": "tiny@1", "changed": True}, body
        rest = resp.read().decode()
        conn.close()
        assert rest.rstrip().endswith("data: [DONE]") and '"finish_reason"' in rest, rest[-300:]
        models = request(s, "GET", "/v1/models")[1]
        assert models["data"][0]["root"] == "tiny@1", models
        assert request(s, "POST", "/v1/completions", {"prompt": "a", "max_tokens": 2})[0] == 200
        assert_error(*request(s, "POST", "/admin/reload", {"model": "missing-model"}, key="admin")[:2], 404)
        assert request(s, "GET", "/v1/models")[1]["data"][0]["root"] == "tiny@1"


class LoopbackTest(unittest.TestCase):
    """Without --api-keys the server binds and answers loopback only."""

    def test_without_keys_only_loopback(self):
        model = fixtures.tiny(FIXTURES, 1)
        p = run("serve", "--model", model, "--host", "0.0.0.0", "--port", str(free_port()), check=False, timeout=120)
        assert p.returncode != 0 and "api-keys" in p.stderr, p.stderr
        with Server("--model", model, "--no-request-log") as open_server:
            assert request(open_server, "GET", "/v1/models", key=None)[0] == 200
            for host in ("evil.example:80", "127.0.0.1.evil.example", "127.0.0.1.nip.io:8080", "127.0.0.256"):
                status, body, _ = request(open_server, "GET", "/v1/models", key=None, headers={"Host": host})
                assert_error(status, body, 403)
            for host in ("127.0.0.1:8080", "localhost", "[::1]:80", "127.1.2.3"):
                assert request(open_server, "GET", "/v1/models", key=None, headers={"Host": host})[0] == 200, host


def main():
    global ENCLAVE, WORK, FIXTURES
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--fixtures", help="folder made by tests/fixtures.py (default: made under --workdir)")
    args, rest = ap.parse_known_args()
    ENCLAVE, WORK = os.path.abspath(args.enclave), os.path.abspath(args.workdir)
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    FIXTURES = fixtures.find_or_make(ENCLAVE, args.fixtures, WORK)
    fixtures.write_adapter(os.path.join(WORK, "fox-adapter"))
    write_keys(os.path.join(WORK, "keys.json"))
    result = unittest.main(argv=[sys.argv[0], "-v", *rest], exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
