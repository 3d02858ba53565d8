#!/usr/bin/python3
"""Real scale: a Llama-3.2-1B-shaped model (random bf16 weights, the
published Llama 3.2 tokenizer, vocabulary 128256) written by `enclave model
init --config`, and measured with it in one run:

  - generate: prefill and decode tokens/s and peak RSS, in bf16 and f32;
  - serve --max-concurrency 8 --ctx 4096: time to ready, and peak RSS after
    8 concurrent streams against weights + KV pool (target: within 15%);
  - the inter-token latency p99 of short streams while long prompts arrive,
    with whole prefill and with chunked prefill.

Bounded: a 2k-token prefill takes tens of seconds on 2 cores. Run:
    bench/real_scale.py --enclave build/src/cli/enclave [--work DIR]
        [--long-tokens 2048] [--layers 16] [--threads N]
`--layers` below 16 shrinks the model for a quick look (the table says so).
"""

import argparse
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "tests", "published_tokenizers", "node_modules", "@lenml",
                         "tokenizer-llama3_2", "models")

# Llama-3.2-1B's config.json (as published), weights random.
LLAMA_3_2_1B = {
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048,
    "intermediate_size": 8192, "num_hidden_layers": 16, "num_attention_heads": 32,
    "num_key_value_heads": 8, "head_dim": 64, "hidden_act": "silu", "rms_norm_eps": 1e-5,
    "vocab_size": 128256, "max_position_embeddings": 131072, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "tie_word_embeddings": True, "bos_token_id": 128000, "eos_token_id": 128001,
    "torch_dtype": "bfloat16", "attention_bias": False, "mlp_bias": False,
}


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def child_peak(cmd, env=None):
    """Runs cmd to its end, returning (stderr, peak RSS MiB from wait4, seconds)."""
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    err = p.stderr.read()
    _, status, usage = os.wait4(p.pid, 0)
    seconds = time.monotonic() - start
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"real_scale: {' '.join(cmd)} failed:\n{err}")
    return err, usage.ru_maxrss / 1024, seconds


def parse_rates(stderr):
    """generate's last line: 'prompt: N tokens, X tokens/s | generation: M tokens, Y tokens/s'."""
    for line in reversed(stderr.splitlines()):
        if line.startswith("prompt:"):
            parts = line.split("|")
            prefill = float(parts[0].split(",")[1].split()[0])
            decode = float(parts[1].split(",")[1].split()[0])
            return prefill, decode
    sys.exit(f"real_scale: no rates in generate's output:\n{stderr}")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MODEL = "llama-1b"  # the folder's name, which serve uses as the model id


def stream(port, prompt, max_tokens, times, errors):
    """One streamed completion; appends each chunk's arrival time to times."""
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        body = json.dumps({"model": MODEL, "prompt": prompt, "max_tokens": max_tokens, "stream": True,
                           "temperature": 0})
        c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
        r = c.getresponse()
        if r.status != 200:
            errors.append(f"{r.status}: {r.read()[:200]!r}")
            return
        buf = b""
        while True:
            chunk = r.read1(65536)
            if not chunk:
                break
            buf += chunk
            while b"\n\n" in buf:
                event, buf = buf.split(b"\n\n", 1)
                if event.startswith(b"data: ") and event != b"data: [DONE]":
                    times.append(time.monotonic())
    except OSError as e:
        errors.append(str(e))


def p99(values):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, int(round(0.99 * (len(v) - 1))))]


class Server:
    def __init__(self, enclave, model, dtype, extra, threads):
        self.port = free_port()
        cmd = [enclave, "serve", "--model", model, "--port", str(self.port), "--dtype", dtype,
               "--max-concurrency", "8", "--ctx", "4096", "--no-request-log", *extra]
        if threads:
            cmd += ["--threads", str(threads)]
        self.start = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.ready_seconds = self.wait_ready()

    def wait_ready(self):
        while time.monotonic() - self.start < 600:
            if self.proc.poll() is not None:
                sys.exit(f"real_scale: serve exited:\n{self.proc.stderr.read()}")
            try:
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/health")
                if c.getresponse().status == 200:
                    return time.monotonic() - self.start
            except OSError:
                pass
            time.sleep(0.2)
        sys.exit("real_scale: serve not ready in 600 s")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=60)


def itl_under_long_prompts(port, long_prompt, n_short=4, short_tokens=48):
    """Short streams decoding while two long prompts arrive: their inter-token
    gaps (p99, max) in ms."""
    times = [[] for _ in range(n_short)]
    errors = []
    threads = [threading.Thread(target=stream, args=(port, "Once upon a time", short_tokens, times[i], errors))
               for i in range(n_short)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # the short streams are decoding
    longs = [threading.Thread(target=stream, args=(port, long_prompt, 4, [], errors)) for _ in range(2)]
    for t in longs:
        t.start()
    for t in threads + longs:
        t.join()
    gaps = [(b - a) * 1000 for ts in times for a, b in zip(ts, ts[1:])]
    return p99(gaps), max(gaps) if gaps else float("nan"), errors


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--work", default=None)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--long-tokens", type=int, default=2048)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--chunk", type=int, default=512, help="serve --prefill-chunk of the chunked run")
    ap.add_argument("--skip-f32", action="store_true", help="f32 copies the weights: 5 GB more")
    args = ap.parse_args()
    if not os.path.isfile(os.path.join(TOKENIZER, "tokenizer.json")):
        sys.exit(f"real_scale: no Llama 3.2 tokenizer at {TOKENIZER} (scripts/install-deps.sh installs it)")
    enclave = os.path.abspath(args.enclave)
    work = args.work or tempfile.mkdtemp(prefix="real-scale-")
    model = os.path.join(work, "llama-1b")
    config = dict(LLAMA_3_2_1B, num_hidden_layers=args.layers)
    rows = []
    if not os.path.isdir(model):
        os.makedirs(work, exist_ok=True)
        with open(os.path.join(work, "config.json"), "w") as f:
            json.dump(config, f)
        _, rss, seconds = child_peak([enclave, "model", "init", "--config", os.path.join(work, "config.json"),
                                      "--out", model, "--dtype", "bf16", "--tokenizer", TOKENIZER])
        rows.append(("model init (bf16 weights)", f"{seconds:.1f} s", f"{rss:.0f} MiB"))
    weights_mib = sum(os.path.getsize(os.path.join(model, f)) for f in os.listdir(model)
                      if f.endswith(".safetensors")) / 2**20
    thread_flags = ["--threads", str(args.threads)] if args.threads else []
    prompt = " ".join(["The quick brown fox jumps over the lazy dog."] * 12)  # ~120 tokens
    for dtype in ["bf16"] + ([] if args.skip_f32 else ["f32"]):
        err, rss, _ = child_peak([enclave, "generate", "--model", model, "--dtype", dtype, "--prompt", prompt,
                                  "--max-tokens", "32", "--ignore-eos", *thread_flags])
        prefill, decode = parse_rates(err)
        rows.append((f"generate {dtype}", f"prefill {prefill:.1f} tok/s, decode {decode:.2f} tok/s",
                     f"{rss:.0f} MiB"))

    # KV pool of --max-concurrency 8 --ctx 4096 in bf16: layers x (K, V) x
    # kv heads x head_dim x positions x slots x 2 bytes.
    kv_mib = config["num_hidden_layers"] * 2 * 8 * 64 * 4096 * 8 * 2 / 2**20
    long_prompt = " ".join(["word"] * args.long_tokens)
    all_errors = []
    for label, extra in (("whole prefill", ["--prefill-chunk", "0"]),
                         (f"chunked prefill ({args.chunk})", ["--prefill-chunk", str(args.chunk)])):
        server = Server(enclave, model, "bf16", extra, args.threads)
        try:
            if extra[1] == "0":
                errors = []
                threads = [threading.Thread(target=stream, args=(server.port, prompt, 32, [], errors))
                           for _ in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                all_errors.extend(map(str, errors))
                hwm = peak_rss_mib(server.proc.pid)
                target = (weights_mib + kv_mib) * 1.15
                rows.append(("serve bf16 time to ready", f"{server.ready_seconds:.1f} s", ""))
                rows.append(("serve bf16 peak RSS, 8 streams",
                             f"{hwm:.0f} MiB against weights {weights_mib:.0f} + KV {kv_mib:.0f} MiB"
                             f" (+15%: {target:.0f}): {'met' if hwm <= target else 'missed'}",
                             f"errors {len(errors)}"))
            p, worst, errors = itl_under_long_prompts(server.port, long_prompt)
            all_errors.extend(map(str, errors))
            rows.append((f"ITL of short streams, {args.long_tokens}-token prompts arriving, {label}",
                         f"p99 {p:.0f} ms, max {worst:.0f} ms", f"errors {len(errors)}"))
        finally:
            server.stop()
    for e in sorted(set(all_errors))[:3]:
        print(f"real_scale: request error {e}", file=sys.stderr)
    shape = "Llama-3.2-1B shape" + ("" if args.layers == 16 else f", {args.layers} of 16 layers")
    print(f"real_scale: {shape}, {os.cpu_count()} cores, work {work}")
    width = max(len(r[0]) for r in rows)
    for name, value, extra in rows:
        print(f"  {name:<{width}}  {value}  {extra}")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
