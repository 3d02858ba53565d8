"""Enclave's Jinja engine against Python's jinja2, byte for byte.

Every template in tests/data/jinja/ (written by the team to exercise the
constructs published chat templates use) is rendered over many conversations
(with and without a system message, multi-turn, tools and tool calls,
Korean text, add_generation_prompt on and off, keyword arguments) by
jinja_render (src/jinja/tools) and by jinja2 set up as transformers sets it
up (tests/jinja_reference.py), with the clock pinned; the outputs must be
identical, and a template error must be an error in both. Task-file
templates are compared the same way under lm-evaluation-harness's settings.

    python3 jinja_reference_test.py --enclave ENCLAVE --workdir DIR --jinja-render PATH [Class]
"""

import copy
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import jinja_reference  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "jinja")
JINJA_RENDER = None
WORKDIR = None
NOW = "2024-07-26T14:05:09"  # jinja_reference.PINNED_NOW

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "도시의 현재 날씨를 알려 줍니다 (current weather).",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "도시 이름, e.g. 서울"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                },
                "required": ["city"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "search_docs",
            "description": "Search internal documents <with markup> & \"quotes\".",
            "parameters": {
                "type": "object",
                "properties": {"query": {"type": "string"}, "limit": {"type": "integer", "default": 5}},
                "required": ["query"],
            },
        },
    },
]

SYSTEM = {"role": "system", "content": "  You are a careful assistant. 한국어로 답하세요.  \n"}
U1 = {"role": "user", "content": "서울 날씨 어때요?"}
A1 = {"role": "assistant", "content": "<think>\nThe user asks about weather.\n</think>\n\n맑고 따뜻합니다."}
U2 = {"role": "user", "content": "And tomorrow? Answer in English, with \"quotes\" & <tags>."}
A2 = {"role": "assistant", "content": "Tomorrow looks rainy.\n\nBring an umbrella. "}
CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "서울", "unit": "celsius"}}},
        {"type": "function", "function": {"name": "search_docs", "arguments": "{\"query\": \"umbrella policy\"}"}},
    ],
}
TOOL1 = {"role": "tool", "content": "{\"temperature\": 21.5, \"sky\": \"맑음\"}", "tool_call_id": "call_1"}
TOOL2 = {"role": "tool", "content": "No documents found.", "tool_call_id": "call_2"}
A3 = {"role": "assistant", "content": "It is 21.5°C and clear in Seoul.", "reasoning_content": "Tool said clear."}

CONVERSATIONS = {
    "single": [U1],
    "system_single": [SYSTEM, U1],
    "multi": [U1, A1, U2],
    "system_multi": [SYSTEM, U1, A1, U2, A2],
    "ends_assistant": [U1, A1],
    "tools_flow": [SYSTEM, U1, CALL, TOOL1, TOOL2, A3],
    "tools_pending": [U1, CALL, TOOL1],
    "empty_content": [{"role": "user", "content": ""}, {"role": "assistant", "content": "   "}],
    "whitespace": [{"role": "user", "content": "\n\n  spaced\tout \n"}, {"role": "assistant", "content": "\nok\n"}],
    "content_parts": [
        {"role": "system", "content": [{"type": "text", "text": "Describe images briefly."}]},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": " 이 사진은 무엇인가요? "}]},
        {"role": "assistant", "content": [{"type": "text", "text": "A cat."}]},
        {"role": "user", "content": "Thanks!"},
    ],
    "null_content": [U1, {"role": "assistant", "content": None, "tool_calls": CALL["tool_calls"]}, TOOL1],
}


def run_engine(template_path, context, flags):
    ctx_path = os.path.join(WORKDIR, "context.json")
    with open(ctx_path, "w", encoding="utf-8") as f:
        json.dump(context, f, ensure_ascii=False)
    p = subprocess.run([JINJA_RENDER, *flags, template_path, ctx_path], capture_output=True, timeout=60)
    if p.returncode != 0:
        return None, p.stderr.decode("utf-8", "replace").strip()
    return p.stdout.decode("utf-8"), None


def reference(render, *args):
    try:
        return render(*args), None
    except Exception as e:  # jinja2's TemplateError, or a Python error inside the render
        return None, f"{type(e).__name__}: {e}"


class ReferenceCase(unittest.TestCase):
    def compare(self, name, template_path, context, want, want_error, flags):
        got, got_error = run_engine(template_path, context, flags)
        if want_error is not None or got_error is not None:
            self.assertIsNotNone(want_error, f"{name}: jinja_render failed, jinja2 did not: {got_error}")
            self.assertIsNotNone(got_error, f"{name}: jinja2 failed ({want_error}), jinja_render rendered {got!r}")
            return
        if got != want:
            at = next((k for k in range(min(len(got), len(want))) if got[k] != want[k]), min(len(got), len(want)))
            self.fail(
                f"{name}: outputs differ at character {at} (lengths {len(got)} vs {len(want)})\n"
                f"  jinja2:       {want[max(0, at - 60):at + 60]!r}\n"
                f"  jinja_render: {got[max(0, at - 60):at + 60]!r}"
            )


class ChatTemplateTest(ReferenceCase):
    """The chat templates over every conversation, with and without tools and a generation prompt."""

    def test_chat_templates(self):
        templates = sorted(f for f in os.listdir(DATA) if f.startswith("chat_") and f.endswith(".jinja"))
        self.assertGreaterEqual(len(templates), 4)
        n = 0
        for name in templates:
            path = os.path.join(DATA, name)
            with open(path, encoding="utf-8") as f:
                source = f.read()
            for conv_name, messages in CONVERSATIONS.items():
                for tools in (None, TOOLS):
                    for gen in (False, True):
                        for extra in ({}, {"enable_thinking": False}):
                            kwargs = {"bos_token": "<s>", "eos_token": "</s>", **extra}
                            msgs = copy.deepcopy(messages)
                            want, err = reference(
                                lambda: jinja_reference.render_like_transformers(
                                    source, msgs, tools=tools, add_generation_prompt=gen, **kwargs
                                )
                            )
                            context = {
                                "messages": messages,
                                "tools": tools,
                                "documents": None,
                                "add_generation_prompt": gen,
                                **kwargs,
                            }
                            label = f"{name} / {conv_name} / tools={tools is not None} / gen={gen} / {extra}"
                            with self.subTest(label):
                                self.compare(label, path, context, want, err, ["--chat", "--now", NOW])
                            n += 1
        print(f"{n} chat renders compared", file=sys.stderr)

    def test_raise_exception_and_generation_spans(self):
        path = os.path.join(DATA, "chat_basic.jinja")
        # Two user turns in a row: the template raises, in both engines.
        context = {"messages": [U1, U2], "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": False}
        got, err = run_engine(path, context, ["--chat"])
        self.assertIsNone(got)
        self.assertEqual(err, "Turns must alternate user/assistant/user/assistant")
        # Generation spans cover exactly the assistant replies.
        path = os.path.join(DATA, "chat_lines.jinja")
        context = {"messages": [U1, A2], "eos_token": "</s>", "add_generation_prompt": False}
        out, err = run_engine(path, context, ["--chat", "--json"])
        self.assertIsNone(err)
        doc = json.loads(out)
        text = doc["text"].encode("utf-8")
        spans = [text[b:e].decode("utf-8") for b, e in doc["generation_spans"]]
        self.assertEqual(spans, [A2["content"] + "</s>\n"])


class ConstructsTest(ReferenceCase):
    """constructs.jinja under transformers' settings and under jinja2's defaults."""

    def test_constructs(self):
        path = os.path.join(DATA, "constructs.jinja")
        with open(path, encoding="utf-8") as f:
            source = f.read()
        for flag in (True, False, None):
            context = {} if flag is None else {"flag": flag}
            want, err = reference(jinja_reference.render_chat_context, source, context)
            with self.subTest(f"chat flag={flag}"):
                self.compare(f"constructs chat flag={flag}", path, context, want, err, ["--chat", "--now", NOW])
        # Plain jinja2 has no loop controls: both refuse the template.
        want, err = reference(jinja_reference.render_plain, source, {"flag": True})
        self.compare("constructs plain", path, {"flag": True}, want, err, [])


class TaskTemplateTest(ReferenceCase):
    """lm-evaluation-harness task templates (StrictUndefined, trailing newline kept)."""

    DOCS = [
        {"question": "수도는 어디입니까?", "choices": ["서울", "부산", "인천", "대구"], "answer": 0, "ctx": "Geography"},
        {"question": "2 + 2 = ?", "choices": ["3", "4"], "answer": 1, "ctx": ""},
        {"question": "Which is \"largest\"?\n(pick one)", "choices": ["a", "b", "c"], "answer": 2, "ctx": "Sizes & <shapes>"},
    ]

    def test_task_templates(self):
        templates = sorted(f for f in os.listdir(DATA) if f.startswith("task_") and f.endswith(".jinja"))
        self.assertGreaterEqual(len(templates), 1)
        for name in templates:
            path = os.path.join(DATA, name)
            with open(path, encoding="utf-8") as f:
                source = f.read()
            for k, doc in enumerate(self.DOCS):
                want, err = reference(jinja_reference.render_lm_eval, source, doc)
                with self.subTest(f"{name} doc {k}"):
                    self.compare(f"{name} doc {k}", path, doc, want, err, ["--lm-eval"])
            # A field the document lacks is an error under StrictUndefined.
            doc = {"question": "q"}
            want, err = reference(jinja_reference.render_lm_eval, source, doc)
            self.compare(f"{name} missing field", path, doc, want, err, ["--lm-eval"])
            self.assertIsNotNone(err)


def main():
    global JINJA_RENDER, WORKDIR
    argv = sys.argv[1:]
    if "--jinja-render" not in argv or argv.index("--jinja-render") + 1 >= len(argv):
        sys.exit("jinja_reference_test: --jinja-render PATH is required")
    k = argv.index("--jinja-render")
    JINJA_RENDER = os.path.abspath(argv[k + 1])
    del sys.argv[k + 1 : k + 3]
    if not os.access(JINJA_RENDER, os.X_OK):
        sys.exit(f"jinja_reference_test: jinja_render not found or not executable: {JINJA_RENDER}")
    args, rest = harness.parse(__doc__, "jinja_reference_test")
    WORKDIR = args.workdir
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
