#!/usr/bin/env python3
"""Black-box tests of what `enclave serve` does with the OpenAI request
parameters it accepts: unknown and unsupported fields are refused with 400
naming them, and presence/frequency penalties and logit_bias change what
is generated. The tiny random models of tests/fixtures.py make the output
meaningless, so every check is about what the parameters force.

Usage: serve_api_test.py --enclave BUILD/src/cli/enclave --workdir DIR [--fixtures DIR] [ClassName ...]
"""
import argparse
import collections
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
import serve_cli_test as sc  # noqa: E402  (Server, request, stream, assert_error)

CHAT = [{"role": "user", "content": "Tell me about the fox."}]


class ApiCase(unittest.TestCase):
    """One keyed server over the seed-1 tiny model per class."""

    @classmethod
    def setUpClass(cls):
        cls.server = sc.Server("--model", fixtures.tiny(sc.FIXTURES, 1), "--api-keys",
                               os.path.join(sc.WORK, "keys.json"), "--no-request-log", "--ctx", "512",
                               "--max-concurrency", "4")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()

    def post(self, path, body):
        return sc.request(self.server, "POST", path, body)

    def ok(self, path, body):
        status, reply, _ = self.post(path, body)
        self.assertEqual(status, 200, reply)
        return reply

    run = sc.ServeCase.run  # prints the server's output after a failure


class StrictTest(ApiCase):
    """Unknown and unsupported parameters get 400 naming them; known ones work."""

    def test_unknown_fields_are_refused_by_name(self):
        for path, base in (("/v1/chat/completions", {"messages": CHAT}), ("/v1/completions", {"prompt": "a"})):
            status, body, _ = self.post(path, {**base, "max_tokns": 5})
            sc.assert_error(status, body, 400, param="max_tokns")
            self.assertIn("max_tokns", body["error"]["message"])
            self.assertIn("Unrecognized", body["error"]["message"])
        status, body, _ = self.post("/v1/chat/completions",
                                    {"messages": [{"role": "user", "content": "x", "colour": "red"}]})
        sc.assert_error(status, body, 400, param="messages[0].colour")

    def test_unsupported_parameters_are_refused_by_name(self):
        for field, value in (("n", 2), ("audio", {"voice": "alloy", "format": "mp3"}), ("modalities", ["audio"]),
                             ("store", True), ("prediction", {"type": "content", "content": "x"}),
                             ("functions", [{"name": "f"}])):
            status, body, _ = self.post("/v1/chat/completions", {"messages": CHAT, field: value})
            sc.assert_error(status, body, 400, param=field)
        status, body, _ = self.post("/v1/completions", {"prompt": "a", "echo": True})
        sc.assert_error(status, body, 400, param="echo")

    def test_fields_clients_send_by_default_are_accepted(self):
        r = self.ok("/v1/chat/completions", {
            "messages": CHAT, "model": os.path.basename(fixtures.tiny(sc.FIXTURES, 1)), "n": 1, "user": "u-1",
            "seed": 3, "stop": ["zzz"], "max_completion_tokens": 4, "parallel_tool_calls": True,
            "store": False, "temperature": 0.7, "top_p": 0.9, "frequency_penalty": 0, "presence_penalty": 0,
            "logprobs": False, "stream": False})
        self.assertEqual(r["usage"]["completion_tokens"] <= 4, True, r)
        # max_completion_tokens is honoured, not dropped: 3 tokens unless the model stops first.
        r = self.ok("/v1/chat/completions", {"messages": CHAT, "max_completion_tokens": 3, "seed": 1})
        self.assertTrue(r["usage"]["completion_tokens"] == 3 or r["choices"][0]["finish_reason"] == "stop", r)
        status, events, _ = sc.stream(self.server, "/v1/chat/completions",
                                      {"messages": CHAT, "max_tokens": 3, "stream_options": {"include_usage": True}})
        self.assertEqual(status, 200)
        self.assertIn("usage", __import__("json").loads(events[-2]))


class PenaltyTest(ApiCase):
    """logit_bias, presence_penalty and frequency_penalty act on the logits."""

    def tokens(self, body):
        r = self.ok("/v1/completions", {"prompt": "The quick brown fox", "logprobs": 0, **body})
        return r["choices"][0]["logprobs"]["tokens"], r

    def test_strong_logit_bias_forces_a_token(self):
        for token_id in (300, 517):
            tokens, r = self.tokens({"max_tokens": 12, "seed": token_id, "logit_bias": {str(token_id): 100}})
            self.assertEqual(len(tokens), 12, r)
            self.assertEqual(len(set(tokens)), 1, r)
        # The two forced tokens differ, so the bias chose them, not the model.
        a, _ = self.tokens({"max_tokens": 2, "logit_bias": {"300": 100}})
        b, _ = self.tokens({"max_tokens": 2, "logit_bias": {"517": 100}})
        self.assertNotEqual(a[0], b[0])

    def test_logit_bias_limits_the_choice_and_is_checked(self):
        t300, _ = self.tokens({"max_tokens": 1, "logit_bias": {"300": 100}})
        t517, _ = self.tokens({"max_tokens": 1, "logit_bias": {"517": 100}})
        both, r = self.tokens({"max_tokens": 30, "seed": 4, "logit_bias": {"300": 100, "517": 100}})
        self.assertEqual(set(both), {t300[0], t517[0]}, r)
        # -100 on one of the two leaves only the other.
        one, r = self.tokens({"max_tokens": 10, "logit_bias": {"300": -100, "517": 100}})
        self.assertEqual(set(one), {t517[0]}, r)
        status, body, _ = self.post("/v1/completions", {"prompt": "a", "logit_bias": {"99999999": 1}})
        sc.assert_error(status, body, 400, param="logit_bias.99999999")

    def test_frequency_penalty_breaks_greedy_repetition(self):
        body = {"max_tokens": 60, "temperature": 0}
        plain, _ = self.tokens(body)
        penalised, _ = self.tokens({**body, "frequency_penalty": 2.0, "presence_penalty": 2.0})
        most = collections.Counter(plain).most_common(1)[0][1]
        most_penalised = collections.Counter(penalised).most_common(1)[0][1]
        self.assertGreater(most, 2, f"the greedy output does not repeat: {plain}")
        self.assertNotEqual(plain, penalised)
        self.assertLess(most_penalised, most, f"{plain} vs {penalised}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--fixtures", help="folder made by tests/fixtures.py (default: made under --workdir)")
    args, rest = ap.parse_known_args()
    sc.ENCLAVE, sc.WORK = os.path.abspath(args.enclave), os.path.abspath(args.workdir)
    shutil.rmtree(sc.WORK, ignore_errors=True)
    os.makedirs(sc.WORK)
    sc.FIXTURES = fixtures.find_or_make(sc.ENCLAVE, args.fixtures, sc.WORK)
    sc.write_keys(os.path.join(sc.WORK, "keys.json"))
    result = unittest.main(argv=[sys.argv[0], "-v", *rest], exit=False).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
