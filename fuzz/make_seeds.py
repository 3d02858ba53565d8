#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets: fuzz/corpus/<target>/seed-*.

Each seed is a small valid input (a few KB at most) that reaches deep into
its parser, so that libFuzzer's mutations start from structure rather than
noise. Files are built here from the published formats (safetensors, GGUF,
ZIP/OOXML, tokenizer.json), not with Enclave's writers. Re-running rewrites
the seed-* files only; regress-* files (crashes found and fixed) are kept.

    /usr/bin/python3 fuzz/make_seeds.py   (the tests' Python: it borrows a table from tests/)
"""

import io
import json
import os
import struct
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from cli_test import bytes_to_unicode  # noqa: E402  (GPT-2's byte table)


def put(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, "seed-" + name), "wb") as f:
        f.write(data)


# --- safetensors: 8-byte header length, JSON header, data ---
def safetensors(tensors, metadata=None):
    header, data = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(8 + len(text)) % 8)
    return struct.pack("<Q", len(text)) + text + data


def seeds_safetensors():
    put("safetensors", "two-tensors", safetensors(
        [("model.embed.weight", "F32", [2, 3], struct.pack("<6f", *range(6))),
         ("model.norm.weight", "BF16", [3], b"\x80\x3f" * 3),
         ("lm_head.bias", "I64", [], struct.pack("<q", 7))],
        {"format": "pt"}))
    put("safetensors", "empty-dims", safetensors(
        [("a", "F16", [0, 4], b""), ("b", "U8", [4], b"abcd"), ("c", "BOOL", [1, 1], b"\x01")]))
    put("safetensors", "no-tensors", safetensors([], {"k": "v"}))


# --- tokenizer.json ---
def added(tokens, start):
    return [{"id": start + i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i, t in enumerate(tokens)]


def seeds_tokenizer():
    chars = bytes_to_unicode()
    vocab = {chars[b]: b for b in range(256)}
    merges = ["Ġ t", "h e", "Ġt he", "l l", "e ll", "H ell", "Hell o", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"]
    for m in merges:
        vocab.setdefault(m.replace(" ", ""), len(vocab))
    n = len(vocab)
    bpe = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
           "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
           "vocab": vocab, "merges": merges}
    llama3 = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added(["<|begin_of_text|>", "<|end_of_text|>", "<|im_start|>", "<s>", "</s>"], n),
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
             "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [n],
                                                                    "tokens": ["<|begin_of_text|>"]}}},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": bpe}
    put("tokenizer", "byte-level.json", json.dumps(llama3, ensure_ascii=False))
    gpt2 = dict(llama3, pre_tokenizer={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                                       "use_regex": True},
                post_processor={"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": False,
                                "use_regex": True},
                normalizer={"type": "Sequence", "normalizers": [{"type": "NFC"}]})
    put("tokenizer", "gpt2.json", json.dumps(gpt2, ensure_ascii=False))

    # SentencePiece-style BPE (Llama 2, Mistral): byte fallback, "▁" for spaces.
    sp_vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        sp_vocab[f"<0x{b:02X}>"] = len(sp_vocab)
    sp_merges = ["▁ t", "h e", "▁t he", "l l", "e ll", "▁ H", "▁H ell", "▁Hell o", "▁ w", "o r", "▁w or", "l d",
                 "▁wor ld", "에 요", "안 녕"]
    for piece in ["▁", "t", "h", "e", "l", "o", "H", "w", "r", "d", "에", "요", "안", "녕"]:
        sp_vocab.setdefault(piece, len(sp_vocab))
    for m in sp_merges:
        sp_vocab.setdefault(m.replace(" ", ""), len(sp_vocab))
    llama2 = {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": added(["<unk>", "<s>", "</s>"], 0),
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "Prepend", "prepend": "▁"},
                                                           {"type": "Replace", "pattern": {"String": " "},
                                                            "content": "▁"}]},
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing",
                           "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                      {"Sequence": {"id": "A", "type_id": 0}}],
                           "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                           "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": True, "byte_fallback": True, "ignore_merges": False,
                  "vocab": sp_vocab, "merges": sp_merges}}
    put("tokenizer", "sentencepiece-bpe.json", json.dumps(llama2, ensure_ascii=False))
    metaspace = dict(llama2, normalizer=None,
                     pre_tokenizer={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False},
                     decoder={"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False})
    put("tokenizer", "metaspace.json", json.dumps(metaspace, ensure_ascii=False))


# --- JSON and JSONL records ---
def seeds_json():
    put("json", "config.json", json.dumps({
        "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "rope_scaling": {"rope_type": "llama3", "factor": 8.0},
        "eos_token_id": [1, 2], "tie_word_embeddings": False, "rms_norm_eps": 1e-5, "name": "caf\u00e9 \ud55c"},
        ensure_ascii=False))
    put("json", "records.jsonl", "\n".join(json.dumps(r, ensure_ascii=False) for r in [
        {"text": "A plain document.", "id": "d1", "meta": {"source": "x", "body": "nested"}},
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                      {"role": "assistant", "content": "Hello!"}]},
        {"prompt": "2+2=", "completion": "4"},
        {"prompt": [{"role": "user", "content": "Pick"}], "chosen": [{"role": "assistant", "content": "A"}],
         "rejected": [{"role": "assistant", "content": "B"}]},
        {"prompt": "Q", "chosen": "yes", "rejected": "no", "extra": [1, 2.5, None, True]},
        {"text": "\ud55c\uad6d\uc5b4 \u6587\u5b57 \\u00e9 \"quoted\""},
    ]) + "\n")
    put("json", "edge.json", '{"a": [1, -0.0, 1e308, -1E-5, "\\ud83d\\ude00", {"b": null}], "c": true}')


# --- YAML configs ---
def seeds_yaml():
    put("yaml", "train.yaml", """\
model: models/tiny
data: corpus@2
out: tiny-sft
eval_data: held-out.jsonl
max_steps: 20
batch_size: 4
lr: 3.0e-4
lr_scheduler: cosine
warmup_steps: 2
weight_decay: 0.01
lora: true
lora_r: 8
lora_alpha: 16
lora_target_modules: [q_proj, v_proj]
precision: bf16
save_every: 10
resume: latest
seed: 7
""")
    put("yaml", "recipe.yaml", """\
output: corpus
threads: 2
steps:
  - ingest: {paths: [docs/], field: text}
  - normalize
  - filter: {min_words: 20, keep_rejected: true, script_min: {hangul: 0.3}}
  - dedup: {threshold: 0.8}
  - pii: {mode: redact}
  - split: {train: 0.9, validation: 0.05, test: 0.05}
  - format: {to: text}
""")
    put("yaml", "pipeline.yaml", """\
name: nightly
description: "data, train, eval"
params:
  steps: 10
  base: &base {lr: 3e-4}
stages:
  export:
    cmd: enclave feedback export --out feedback
    outs: [dataset:feedback]
    cache: {max_age: 7d}
  train:
    cmd: enclave train sft --data ${stages.export.outs.feedback} --max-steps ${steps} --lr ${lr}
    deps: [dataset:feedback, model:base:production, data/extra.jsonl]
    params: *base
    outs: [model:assistant, report.json]
    approval: required
on:
  feedback: {new: 200}
  schedule: ["0 3 * * 1-5"]
  pipeline: [{name: upstream, status: any}]
  monitor: {metric: p99_latency, window: 1h, above: 2.5}
""")


# --- DOCX: a ZIP with word/document.xml, and the XML alone ---
DOCX_XML = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>
<w:p><w:pPr><w:pStyle w:val="Title"/></w:pPr><w:r><w:t>Report</w:t></w:r></w:p>
<w:p><w:pPr><w:pStyle w:val="Heading2"/></w:pPr><w:r><w:t>Scope</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">Plain text, </w:t></w:r><w:r><w:tab/><w:t>tabbed</w:t><w:br/><w:t>&amp; broken.</w:t></w:r></w:p>
<w:p><w:pPr><w:numPr><w:ilvl w:val="0"/><w:numId w:val="1"/></w:numPr></w:pPr><w:r><w:t>a list item</w:t></w:r></w:p>
<w:tbl><w:tr><w:tc><w:p><w:r><w:t>k</w:t></w:r></w:p></w:tc><w:tc><w:p><w:r><w:t>v</w:t></w:r></w:p></w:tc></w:tr>
<w:tr><w:tc><w:p><w:r><w:t>\ud55c</w:t></w:r></w:p><w:tbl><w:tr><w:tc><w:p><w:r><w:t>in</w:t></w:r></w:p></w:tc></w:tr></w:tbl></w:tc><w:tc/></w:tr></w:tbl>
<w:sdt><w:sdtContent><w:p><w:hyperlink><w:r><w:t>linked</w:t></w:r></w:hyperlink></w:p></w:sdtContent></w:sdt>
</w:body></w:document>
"""


def seeds_docx():
    put("docx", "document.xml", DOCX_XML)
    for name, method in (("stored.docx", zipfile.ZIP_STORED), ("deflated.docx", zipfile.ZIP_DEFLATED)):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as z:
            z.writestr(zipfile.ZipInfo("[Content_Types].xml", (2024, 1, 1, 0, 0, 0)),
                       '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
            z.writestr(zipfile.ZipInfo("word/document.xml", (2024, 1, 1, 0, 0, 0)), DOCX_XML)
        put("docx", name, buf.getvalue())


# --- HWP 5.0 and HWPX: the fixtures of tests/hwp_fixtures (npm cfb and
# jszip, read back by hwp.js and hwpxjs there), when node and the packages
# are installed (scripts/install-deps.sh) ---
def seeds_hwp():
    import subprocess
    import tempfile
    script = os.path.join(HERE, "..", "tests", "hwp_fixtures", "make_fixtures.mjs")
    with tempfile.TemporaryDirectory() as out:
        try:
            subprocess.run(["node", script, out], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as e:
            print(f"make_seeds: hwp seeds not rewritten (node or tests/hwp_fixtures packages: {e})",
                  file=sys.stderr)
            return
        for name in ("report.hwp", "plain.hwp", "report.hwpx"):
            with open(os.path.join(out, name), "rb") as f:
                put("hwp", name, f.read())


# --- PDF hand-off: what the poppler child sends back (data/pdf_reader.cpp) ---
def pdf_words(pages):
    out = b""
    for width, height, words in pages:
        out += b"P" + struct.pack("<ddI", width, height, len(words))
        for text, x0, y0, x1, y1, space in words:
            raw = text.encode()
            out += struct.pack("<I", len(raw)) + raw + struct.pack("<ddddB", x0, y0, x1, y1, space)
    return out + b"E"


def seeds_pdf():
    def line(y, words, x=72):
        out = []
        for w in words:
            out.append((w, x, y, x + 6 * len(w), y + 10, 1))
            x += 6 * len(w) + 4
        return out
    page1 = (612.0, 792.0, line(40, ["Annual", "Report"]) + line(100, ["The", "first", "para-"]) +
             line(112, ["graph", "continues."]) + line(140, ["Name", "Value"]) + line(152, ["alpha", "1"]) +
             line(164, ["beta", "2"]) + line(760, ["Page", "1"]))
    page2 = (612.0, 792.0, line(40, ["Annual", "Report"]) + line(100, ["\ud55c\uad6d\uc5b4", "text"], x=300) +
             line(760, ["Page", "2"]))
    put("pdf", "two-pages.bin", pdf_words([page1, page2]))
    put("pdf", "empty-page.bin", pdf_words([(0.0, 0.0, [])]))


# --- OpenAI request bodies ---
def seeds_openai_request():
    put("openai_request", "completion.json", json.dumps({
        "model": "tiny", "prompt": "Once upon", "max_tokens": 16, "temperature": 0.7, "top_p": 0.9,
        "stop": ["\n", "END"], "seed": 3, "stream": True, "stream_options": {"include_usage": True},
        "logprobs": 2, "presence_penalty": 0.5, "frequency_penalty": 0.1, "logit_bias": {"5": -100, "7": 3},
        "user": "u1"}))
    put("openai_request", "chat-tools.json", json.dumps({
        "model": "tiny", "messages": [
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Seoul?"}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Seoul\"}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "12C"}],
        "tools": [{"type": "function", "function": {
            "name": "weather", "description": "Current weather", "strict": True,
            "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 20}},
                           "required": ["city"], "additionalProperties": False}}}],
        "tool_choice": "auto", "parallel_tool_calls": False, "max_completion_tokens": 32,
        "logprobs": True, "top_logprobs": 3}))
    put("openai_request", "chat-schema.json", json.dumps({
        "messages": [{"role": "user", "content": "JSON please"}],
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "strict": True, "schema": {
            "type": "object", "properties": {
                "n": {"type": "integer", "minimum": 0, "maximum": 9},
                "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "minItems": 1, "maxItems": 3},
                "x": {"anyOf": [{"type": "number"}, {"type": "null"}]},
                "s": {"type": "string", "pattern": "^[a-z]+$"}},
            "required": ["n", "tags"]}}}}))
    put("openai_request", "json-object.json", json.dumps({
        "messages": [{"role": "user", "content": "hi", "name": "bob"}], "response_format": {"type": "json_object"},
        "n": 1, "store": False}))


# --- Jinja templates: first byte = options (jinja_fuzz.cpp) ---
def seeds_jinja():
    chatml = ("{%- if tools %}{{- '<|im_start|>system\\n' }}{%- for tool in tools %}{{- tool | tojson }}"
              "{%- endfor %}{{- '<|im_end|>\\n' }}{%- endif %}"
              "{%- for message in messages %}{%- if message.role == 'assistant' and message.tool_calls %}"
              "{{- '<|im_start|>assistant\\n' }}{% generation %}{%- for call in message.tool_calls %}"
              "{{- '<tool_call>' + (call.function | tojson) + '</tool_call>' }}{%- endfor %}{% endgeneration %}"
              "{%- else %}{{- '<|im_start|>' + message.role + '\\n' + (message.content or '') | trim + '<|im_end|>\\n' }}"
              "{%- endif %}{%- endfor %}{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}")
    put("jinja", "chatml.jinja", b"\xff" + chatml.encode())
    llama = ("{{- bos_token }}{%- set date = strftime_now('%d %b %Y') %}{%- for m in messages %}"
             "{%- if loop.first and m.role != 'system' %}{{ raise_exception('system first') }}{% endif %}"
             "{{- '<|start_header_id|>' ~ m.role ~ '<|end_header_id|>\\n\\n' ~ m.content | default('', true) ~ '<|eot_id|>' }}"
             "{%- if loop.index > 3 %}{% break %}{% endif %}{%- endfor %}"
             "{%- macro f(x, n=2) %}{{ x * n }}{% if n > 0 %}{{ f(x, n - 1) }}{% endif %}{% endmacro %}{{ f('ab') }}"
             "{{ messages | map(attribute='role') | join(',') | upper }}{{ '%05.2f|%s' % (3.14159, 'x') }}"
             "{{ {'a': 1, 'b': [1, 2]} | dictsort | list }}{{ range(3) | sum }}{{ 'x,y' .split(',') }}")
    put("jinja", "llama3.jinja", bytes([16 | 1 | 2]) + llama.encode())
    lm_eval = ("Question: {{ doc.question | trim }}\\n{% for c in doc.choices %}{{ 'ABCD'[loop.index0] }}. {{ c }}\n"
               "{% endfor %}Answer:{{ doc.answer | string | regex_replace('[0-9]', 'N') }}"
               "{% set ns = namespace(t=0) %}{% for i in range(5) %}{% set ns.t = ns.t + i %}{% endfor %}{{ ns.t }}"
               "{{ doc.score | round(1) }}{% if doc.missing is defined %}x{% elif doc.score is number %}y{% endif %}"
               "{% filter title %}hello world{% endfilter %}{% raw %}{{ raw }}{% endraw %}{# comment #}")
    put("jinja", "lm-eval.jinja", bytes([4 | 8 | 32]) + lm_eval.encode())


# --- GGUF: a one-layer llama with a byte-level BPE vocabulary ---
GGUF_U32, GGUF_F32, GGUF_BOOL, GGUF_STRING, GGUF_ARRAY, GGUF_I32 = 4, 6, 7, 8, 9, 5


def gguf_string(s):
    raw = s.encode()
    return struct.pack("<Q", len(raw)) + raw


def gguf_value(vtype, value):
    if vtype == GGUF_STRING:
        return gguf_string(value)
    if vtype == GGUF_ARRAY:
        etype, items = value
        return struct.pack("<IQ", etype, len(items)) + b"".join(gguf_value(etype, v) for v in items)
    return struct.pack({GGUF_U32: "<I", GGUF_I32: "<i", GGUF_F32: "<f", GGUF_BOOL: "<B"}[vtype], value)


def q4_0_rows(rows, cols, seed):
    out = b""
    for r in range(rows):
        for _ in range(cols // 32):
            out += struct.pack("<e", 0.01 * (1 + (r + seed) % 5))
            out += bytes(((r * 7 + i * 3 + seed) % 256) for i in range(16))
    return out


def gguf_file(meta, tensors, alignment=32):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta))
    for key, vtype, value in meta:
        out += gguf_string(key) + struct.pack("<I", vtype) + gguf_value(vtype, value)
    data, infos = b"", b""
    for name, gtype, ne, raw in tensors:
        infos += gguf_string(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", d) for d in ne)
        infos += struct.pack("<IQ", gtype, len(data))
        data += raw + b"\0" * (-len(raw) % alignment)
    out += infos
    out += b"\0" * (-len(out) % alignment)
    return out + data


def seeds_gguf():
    hidden, ff, vocab = 32, 32, 8
    tokens = ["a", "b", "c", "ab", "Ġ", "abc", "<|begin_of_text|>", "<|end_of_text|>"]
    meta = [("general.architecture", GGUF_STRING, "llama"), ("general.name", GGUF_STRING, "fuzz-seed"),
            ("llama.block_count", GGUF_U32, 1), ("llama.context_length", GGUF_U32, 64),
            ("llama.embedding_length", GGUF_U32, hidden), ("llama.feed_forward_length", GGUF_U32, ff),
            ("llama.attention.head_count", GGUF_U32, 2), ("llama.attention.head_count_kv", GGUF_U32, 2),
            ("llama.rope.freq_base", GGUF_F32, 10000.0), ("llama.attention.layer_norm_rms_epsilon", GGUF_F32, 1e-5),
            ("general.alignment", GGUF_U32, 32),
            ("tokenizer.ggml.model", GGUF_STRING, "gpt2"), ("tokenizer.ggml.pre", GGUF_STRING, "llama-bpe"),
            ("tokenizer.ggml.tokens", GGUF_ARRAY, (GGUF_STRING, tokens)),
            ("tokenizer.ggml.token_type", GGUF_ARRAY, (GGUF_I32, [1, 1, 1, 1, 1, 1, 3, 3])),
            ("tokenizer.ggml.merges", GGUF_ARRAY, (GGUF_STRING, ["a b", "ab c"])),
            ("tokenizer.ggml.bos_token_id", GGUF_U32, 6), ("tokenizer.ggml.eos_token_id", GGUF_U32, 7),
            ("tokenizer.ggml.add_bos_token", GGUF_BOOL, 1),
            ("tokenizer.chat_template", GGUF_STRING, "{% for m in messages %}{{ m.content }}{% endfor %}")]
    norm = struct.pack(f"<{hidden}f", *([1.0] * hidden))
    tensors = [("token_embd.weight", 2, [hidden, vocab], q4_0_rows(vocab, hidden, 1)),
               ("output_norm.weight", 0, [hidden], norm),
               ("blk.0.attn_norm.weight", 0, [hidden], norm),
               ("blk.0.ffn_norm.weight", 1, [hidden], struct.pack(f"<{hidden}e", *([1.0] * hidden)))]
    for i, name in enumerate(["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]):
        tensors.append((f"blk.0.{name}.weight", 2, [hidden, hidden], q4_0_rows(hidden, hidden, i)))
    put("gguf", "llama-q4_0.gguf", gguf_file(meta, tensors))
    put("gguf", "metadata-only.gguf", gguf_file(
        [("general.architecture", GGUF_STRING, "qwen2"), ("a.f32s", GGUF_ARRAY, (GGUF_F32, [1.5, -2.0])),
         ("a.bool", GGUF_BOOL, 0), ("a.i32", GGUF_I32, -3)],
        [("t", 8, [32], struct.pack("<e", 0.5) + bytes(range(32))),
         ("u", 30, [2, 2], b"\x80\x3f" * 4)]))


if __name__ == "__main__":
    seeds_safetensors()
    seeds_tokenizer()
    seeds_json()
    seeds_yaml()
    seeds_docx()
    seeds_hwp()
    seeds_pdf()
    seeds_openai_request()
    seeds_jinja()
    seeds_gguf()
