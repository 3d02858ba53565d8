#!/usr/bin/python3
"""A SentencePiece BPE vocabulary through GGUF and back.

A torch-free tool trains a tokenizer.model (Llama 2 layout: byte fallback,
dummy prefix, control and user-defined symbols); a model whose only
tokenizer file it is (as the original Llama 2 and Mistral releases ship)
is exported as GGUF with a "llama" vocabulary (the model's own pieces,
scores and types, add_space_prefix) and imported again, which writes a
tokenizer.json in transformers' LlamaConverter (legacy) form. The imported
model must tokenize like libsentencepiece itself (text right after a
user-defined symbol excepted, where transformers' form adds a "▁").
"""
import argparse
import json
import pathlib
import shutil
import subprocess
import sys

TEXTS = ["Hello world 123, 한국어 텍스트 🙂 <|im_start|>user",
         "The quick brown fox jumps over the lazy dog near the river bank.",
         "  leading and trailing spaces  ", "def f(x):\n    return x * 2  # 12345",
         "서버가 아침에 다시 시작되었다. ☃ 龘 <tool>", "<|im_start|>assistant\nok<|im_end|>"]
CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 640, "hidden_size": 64,
          "intermediate_size": 128, "num_hidden_layers": 1, "num_attention_heads": 4, "num_key_value_heads": 2,
          "max_position_embeddings": 256, "bos_token_id": 1, "eos_token_id": 2}


def run(enclave, *args):
    p = subprocess.run([enclave, *map(str, args)], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"enclave {' '.join(map(str, args))} failed (rc {p.returncode}): {p.stderr}")
    return p.stdout


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--fixture", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    work = pathlib.Path(args.workdir)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    made = subprocess.run([args.fixture, str(work / "sp"), TEXTS[0]], capture_output=True, text=True)
    if made.returncode != 0:
        sys.exit(f"fixture failed: {made.stderr}")
    (work / "config.json").write_text(json.dumps(CONFIG))
    run(args.enclave, "model", "init", "--config", work / "config.json", "--out", work / "model",
        "--tokenizer", work / "sp")
    if (work / "model" / "tokenizer.json").exists():
        sys.exit("the model should hold tokenizer.model only")
    gguf = work / "m.gguf"
    run(args.enclave, "model", "export", "--model", work / "model", "--type", "f32", "--out", gguf)
    run(args.enclave, "model", "import", gguf, "--out", work / "back")
    if not (work / "back" / "tokenizer.json").exists():
        sys.exit("import wrote no tokenizer.json")
    for text in TEXTS:
        want, got = (json.loads(run(args.enclave, "tokenize", "--model", work / d, "--text", text, "--json"))["tokens"]
                     for d in ("model", "back"))
        if got != want:
            sys.exit(f"ids differ for {text!r}:\n  tokenizer.model: {want}\n  through GGUF:    {got}")
    print(f"{len(TEXTS)} texts: the GGUF round trip tokenizes as libsentencepiece does")


if __name__ == "__main__":
    main()
