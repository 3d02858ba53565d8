#!/usr/bin/env python3
"""Black-box tests of what `enclave serve` does with the OpenAI request
parameters it accepts: unknown and unsupported fields are refused with 400
naming them; presence/frequency penalties and logit_bias change what is
generated; response_format json_object / json_schema replies always parse
and validate; tool calls come back in OpenAI's shape (Hermes format here,
Llama JSON in openai_conformance), forced by tool_choice or held to a
strict tool's schema. The tiny random models of tests/fixtures.py make the
output meaningless, so every check is about what the parameters force.

Usage: serve_api_test.py --enclave BUILD/src/cli/enclave --workdir DIR [--fixtures DIR] [ClassName ...]
"""
import argparse
import collections
import json
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fixtures  # noqa: E402
import serve_cli_test as sc  # noqa: E402  (Server, request, stream, assert_error)

CHAT = [{"role": "user", "content": "Tell me about the fox."}]


class ApiCase(sc.ServeCase):
    """One keyed server over the seed-1 tiny model per class (no workspace;
    ServeCase's run prints the server's output after a failure)."""

    @classmethod
    def setUpClass(cls):
        cls.server = sc.Server("--model", fixtures.tiny(sc.FIXTURES, 1), "--api-keys",
                               os.path.join(sc.WORK, "keys.json"), "--no-request-log", "--ctx", "1024",
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
        self.assertIn("usage", json.loads(events[-2]))


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


def validate(value, schema, path="$"):
    """Checks value against the JSON Schema subset the server constrains to;
    raises AssertionError naming the path. Independent of the server's own code."""
    if "const" in schema:
        assert value == schema["const"], f"{path}: {value!r} != const {schema['const']!r}"
        return
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
        return
    if "anyOf" in schema:
        errors = []
        for alt in schema["anyOf"]:
            try:
                return validate(value, alt, path)
            except AssertionError as e:
                errors.append(str(e))
        raise AssertionError(f"{path}: no anyOf branch matches: {errors}")
    kind = schema.get("type")
    checks = {"string": lambda v: isinstance(v, str), "boolean": lambda v: isinstance(v, bool),
              "null": lambda v: v is None, "object": lambda v: isinstance(v, dict),
              "array": lambda v: isinstance(v, list),
              "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
              "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)}
    if kind:
        assert checks[kind](value), f"{path}: {value!r} is not {kind}"
    if isinstance(value, str):
        assert schema.get("minLength", 0) <= len(value) <= schema.get("maxLength", 1 << 30), f"{path}: length"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        assert value >= schema.get("minimum", float("-inf")), f"{path}: {value} < minimum"
        assert value <= schema.get("maximum", float("inf")), f"{path}: {value} > maximum"
    if isinstance(value, list):
        assert schema.get("minItems", 0) <= len(value) <= schema.get("maxItems", 1 << 30), f"{path}: items"
        for i, item in enumerate(value):
            validate(item, schema.get("items", {}), f"{path}[{i}]")
    if isinstance(value, dict):
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            assert name in value, f"{path}: required '{name}' missing"
        for name, item in value.items():
            if props and schema.get("additionalProperties") is False:
                assert name in props, f"{path}: unexpected property '{name}'"
            if name in props:
                validate(item, props[name], f"{path}.{name}")


PERSON = {"type": "object", "additionalProperties": False, "required": ["name", "age", "ok"], "properties": {
    "name": {"type": "string", "minLength": 1, "maxLength": 12},
    "age": {"type": "integer", "minimum": 0, "maximum": 150},
    "ok": {"type": "boolean"},
    "tags": {"type": "array", "items": {"enum": ["red", "green", "blue"]}, "maxItems": 3},
    "score": {"anyOf": [{"type": "number", "minimum": -1, "maximum": 1}, {"type": "null"}]},
    "address": {"type": "object", "required": ["city"], "additionalProperties": False,
                "properties": {"city": {"type": "string", "maxLength": 8}, "zip": {"const": "04524"}}}}}


class JsonOutputTest(ApiCase):
    """response_format: every reply of a random model is valid JSON under the schema."""

    def chat(self, response_format, seed, max_tokens=300, stream=False):
        body = {"messages": CHAT, "max_tokens": max_tokens, "seed": seed, "response_format": response_format}
        if not stream:
            r = self.ok("/v1/chat/completions", body)
            return r["choices"][0]["message"]["content"], r["choices"][0]["finish_reason"]
        status, events, raw = sc.stream(self.server, "/v1/chat/completions", body)
        self.assertEqual(status, 200, raw)
        text, finish = "", None
        for e in events[:-1]:
            choice = json.loads(e)["choices"][0]
            text += choice["delta"].get("content") or ""
            finish = choice["finish_reason"] or finish
        return text, finish

    def test_json_schema_replies_parse_and_validate(self):
        fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON, "strict": True}}
        for seed in range(8):
            text, finish = self.chat(fmt, seed, stream=seed % 2 == 1)
            self.assertEqual(finish, "stop", f"seed {seed}: {text!r}")
            validate(json.loads(text), PERSON)

    def test_json_object_replies_are_objects(self):
        stopped = 0
        for seed in range(6):
            text, finish = self.chat({"type": "json_object"}, seed, max_tokens=400)
            if finish == "stop":
                stopped += 1
                self.assertIsInstance(json.loads(text), dict, text)
            else:
                self.assertEqual(finish, "length")
                self.assertTrue(text.lstrip().startswith("{"), text)
        self.assertGreater(stopped, 0, "no json_object reply closed within 400 tokens")

    def test_scalar_and_array_roots(self):
        for schema in ({"type": "array", "items": {"type": "integer", "minimum": -5, "maximum": 5},
                        "minItems": 1, "maxItems": 4},
                       {"enum": ["yes", "no", 42, None]},
                       {"type": "string", "maxLength": 5}):
            fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
            for seed in range(3):
                text, finish = self.chat(fmt, seed)
                self.assertEqual(finish, "stop", text)
                validate(json.loads(text), schema)

    def test_nested_models_with_refs(self):
        # As the openai Python client's parse() sends a pydantic model with a nested one.
        schema = {"$defs": {"Item": {"type": "object", "title": "Item", "additionalProperties": False,
                                     "properties": {"name": {"type": "string", "maxLength": 6, "title": "Name"},
                                                    "qty": {"type": "integer", "minimum": 1, "maximum": 9}},
                                     "required": ["name", "qty"]}},
                  "type": "object", "title": "Order", "additionalProperties": False, "required": ["items"],
                  "properties": {"items": {"type": "array", "items": {"$ref": "#/$defs/Item"}, "maxItems": 2}}}
        fmt = {"type": "json_schema", "json_schema": {"name": "Order", "schema": schema, "strict": True}}
        resolved = json.loads(json.dumps(schema).replace('{"$ref": "#/$defs/Item"}', json.dumps(schema["$defs"]["Item"])))
        for seed in range(4):
            text, finish = self.chat(fmt, seed)
            self.assertEqual(finish, "stop", text)
            validate(json.loads(text), resolved)

    def test_budget_ends_with_length(self):
        fmt = {"type": "json_schema", "json_schema": {"name": "long", "schema": {
            "type": "object", "required": ["text"], "properties": {"text": {"type": "string", "minLength": 200}}}}}
        text, finish = self.chat(fmt, 1, max_tokens=5)
        self.assertEqual(finish, "length")
        self.assertTrue(text.lstrip().startswith("{"), text)

    def test_unsupported_schemas_are_refused_by_keyword(self):
        for schema, param in (({"type": "string", "pattern": "^a"}, "response_format.json_schema.schema.pattern"),
                              ({"type": "object", "properties": {"a": {"$ref": "#/x"}}},
                               "response_format.json_schema.schema.properties.a.$ref"),
                              ({"type": "integer", "minimum": 5, "maximum": 1},
                               "response_format.json_schema.schema.minimum")):
            status, body, _ = self.post("/v1/chat/completions", {"messages": CHAT, "response_format": {
                "type": "json_schema", "json_schema": {"name": "x", "schema": schema}}})
            sc.assert_error(status, body, 400, param=param)
        status, body, _ = self.post("/v1/chat/completions", {"messages": CHAT, "response_format": {"type": "yaml"}})
        sc.assert_error(status, body, 400, param="response_format.type")


TOOLS = [{"type": "function", "function": {
    "name": "lookup", "description": "Find a word",
    "parameters": {"type": "object", "additionalProperties": False, "required": ["word"],
                   "properties": {"word": {"type": "string", "minLength": 1, "maxLength": 8},
                                  "limit": {"type": "integer", "minimum": 1, "maximum": 5}}}}},
         {"type": "function", "function": {"name": "ping", "parameters": {"type": "object", "properties": {},
                                                                          "additionalProperties": False}}}]


# A chatml template that writes tools, calls and results the Hermes way
# (written for this test; the server runs it as the model's own template).
HERMES_TEMPLATE = """{%- if tools %}<|im_start|>system
{% if messages[0].role == 'system' %}{{ messages[0].content }}

{% endif %}# Tools
<tools>
{% for t in tools %}{{ t | tojson }}
{% endfor %}</tools>
Call a function as <tool_call>{"name": NAME, "arguments": ARGS}</tool_call>.<|im_end|>
{% endif %}
{%- for m in messages %}
{%- if m.role == 'system' and tools %}
{%- elif m.role == 'tool' %}<|im_start|>user
<tool_response>
{{ m.content }}
</tool_response><|im_end|>
{% elif m.role == 'assistant' and m.tool_calls %}<|im_start|>assistant
{% if m.content %}{{ m.content }}
{% endif %}{% for c in m.tool_calls %}<tool_call>
{{ {"name": c.function.name, "arguments": c.function.arguments} | tojson }}
</tool_call>{% endfor %}<|im_end|>
{% else %}<|im_start|>{{ m.role }}
{{ m.content }}<|im_end|>
{% endif %}
{%- endfor %}
{%- if add_generation_prompt %}<|im_start|>assistant
{% endif %}"""


class HermesToolTest(ApiCase):
    """Tool calls in the Hermes/Qwen format: the seed-2 tiny model given a
    chatml template (the conversation is rendered with <|im_start|> turns and
    a "# Tools" system block; calls come back between <tool_call> tags)."""

    @classmethod
    def setUpClass(cls):
        model = os.path.join(sc.WORK, "tiny-chatml")
        shutil.rmtree(model, ignore_errors=True)
        shutil.copytree(fixtures.tiny(sc.FIXTURES, 2), model)
        config_path = os.path.join(model, "tokenizer_config.json")
        with open(config_path) as f:
            config = json.load(f)
        config["chat_template"] = HERMES_TEMPLATE
        with open(config_path, "w") as f:
            json.dump(config, f)
        cls.server = sc.Server("--model", model, "--api-keys", os.path.join(sc.WORK, "keys.json"),
                               "--no-request-log", "--ctx", "1024")

    def call(self, seed, stream=False, **extra):
        body = {"messages": CHAT, "tools": TOOLS, "tool_choice": "required", "seed": seed, "max_tokens": 200, **extra}
        if not stream:
            r = self.ok("/v1/chat/completions", body)
            return r["choices"][0]
        status, events, raw = sc.stream(self.server, "/v1/chat/completions", body)
        self.assertEqual(status, 200, raw)
        return [json.loads(e) for e in events[:-1]]

    def check_args(self, name, arguments):
        args = json.loads(arguments)
        if name == "lookup":
            validate(args, TOOLS[0]["function"]["parameters"])
        else:
            self.assertEqual(name, "ping")
            self.assertIsInstance(args, dict)

    def test_required_tool_choice_gives_a_valid_call(self):
        for seed in range(5):
            choice = self.call(seed)
            self.assertEqual(choice["finish_reason"], "tool_calls", choice)
            message = choice["message"]
            self.assertIsNone(message["content"], message)
            self.assertEqual(len(message["tool_calls"]), 1, message)
            call = message["tool_calls"][0]
            self.assertTrue(call["id"].startswith("call_"), call)
            self.assertEqual(call["type"], "function")
            self.check_args(call["function"]["name"], call["function"]["arguments"])
        named = self.call(7, tool_choice={"type": "function", "function": {"name": "lookup"}})
        self.assertEqual(named["message"]["tool_calls"][0]["function"]["name"], "lookup")

    def test_streamed_call_deltas(self):
        whole = self.call(3)["message"]["tool_calls"][0]
        chunks = self.call(3, stream=True)
        deltas = [d for c in chunks if c["choices"] for d in c["choices"][0]["delta"].get("tool_calls", [])]
        self.assertEqual(deltas[0]["index"], 0)
        self.assertTrue(deltas[0]["id"].startswith("call_"))
        self.assertEqual(deltas[0]["type"], "function")
        self.assertEqual(deltas[0]["function"]["name"], whole["function"]["name"])
        self.assertEqual("".join(d["function"].get("arguments", "") for d in deltas), whole["function"]["arguments"])
        content = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
        self.assertEqual(content, "")
        self.assertEqual(chunks[-1]["choices"][0]["finish_reason"], "tool_calls")

    def test_tool_results_reach_the_prompt(self):
        convo = CHAT + [{"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_9", "type": "function", "function": {"name": "ping", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "call_9", "content": "pong"}]
        with_result = self.ok("/v1/chat/completions", {"messages": convo, "tools": TOOLS, "max_tokens": 4})
        without = self.ok("/v1/chat/completions", {"messages": CHAT, "tools": TOOLS, "max_tokens": 4})
        # The call and its result are part of the prompt.
        self.assertGreater(with_result["usage"]["prompt_tokens"], without["usage"]["prompt_tokens"] + 10)
        plain = self.ok("/v1/chat/completions", {"messages": CHAT, "max_tokens": 4})
        # The tool definitions are part of the prompt when tools are given.
        self.assertGreater(without["usage"]["prompt_tokens"], plain["usage"]["prompt_tokens"] + 50)


class StrictToolTest(ApiCase):
    """tool_choice auto with a strict tool (llama3 template, Llama JSON calls):
    prose stays free, but a reply that begins a call is held to the tool's
    schema. logit_bias on "{" makes every reply begin one."""

    def brace_id(self):
        with open(os.path.join(fixtures.tiny(sc.FIXTURES, 1), "tokenizer.json")) as f:
            return json.load(f)["model"]["vocab"]["{"]

    def test_a_begun_call_follows_the_strict_schema(self):
        tools = [{"type": "function", "function": {**TOOLS[0]["function"], "strict": True}}]
        for seed in range(4):
            r = self.ok("/v1/chat/completions", {"messages": CHAT, "tools": tools, "seed": seed, "max_tokens": 200,
                                                 "logit_bias": {str(self.brace_id()): 100}})
            choice = r["choices"][0]
            self.assertEqual(choice["finish_reason"], "tool_calls", choice)
            call = choice["message"]["tool_calls"][0]
            self.assertEqual(call["function"]["name"], "lookup")
            validate(json.loads(call["function"]["arguments"]), TOOLS[0]["function"]["parameters"])

    def test_prose_is_left_alone(self):
        tools = [{"type": "function", "function": {**TOOLS[0]["function"], "strict": True}}]
        with_tools = self.ok("/v1/chat/completions", {"messages": CHAT, "tools": tools, "seed": 1, "max_tokens": 12,
                                                      "temperature": 0})
        self.assertEqual(with_tools["choices"][0]["finish_reason"], "length", with_tools)
        self.assertIsInstance(with_tools["choices"][0]["message"]["content"], str)


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
