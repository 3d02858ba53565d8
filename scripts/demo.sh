#!/usr/bin/env bash
# End-to-end demo on the embedded defaults, a few minutes on 2 cores:
#   1. the engine: create a tiny model, inspect it, tokenize, score, generate;
#   2. the learning demonstration (scripts/learning_demo.sh): pretrain, SFT
#      and DPO on synthetic skill tasks, every step a run in the store;
#   3. a quality gate: the SFT model against its pretrained base on general
#      English text (bits per byte) and on the skills suite the learning
#      demo scores; production if it passes, else staging;
#   4. serving: the aligned model behind the OpenAI API, a request, the
#      metrics and the request log; feedback turned into a dataset.
# Usage: scripts/demo.sh [path/to/enclave]
set -euo pipefail
enclave=$(realpath "${1:-build/src/cli/enclave}")
work=${DEMO_DIR:-out/demo}
here=$(cd "$(dirname "$0")" && pwd)
py=/usr/bin/python3
rm -rf "$work"
mkdir -p "$work"
work=$(realpath "$work")

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

printf '\n######## 1. The engine\n'
step "Create a tiny Llama model (random weights, byte-level BPE tokenizer)" \
  "$enclave" model init --preset tiny --out "$work/tiny" --seed 1
step "Inspect it" "$enclave" model inspect "$work/tiny"
step "Tokenize English, Korean and emoji" \
  "$enclave" tokenize --model "$work/tiny" --text "Hello, 한국어 world 👍"
step "Score a sentence (log P of each token given the ones before)" \
  "$enclave" score --model "$work/tiny" --text "The air gap keeps data inside."
step "Generate (seeded sampling; an untrained model babbles)" \
  "$enclave" generate --model "$work/tiny" --prompt "Once upon a time" --max-tokens 24 --seed 7 --temperature 0.8
step "Chat through the model's chat template, in bf16" \
  "$enclave" generate --model "$work/tiny" --chat --prompt "Say hello." --max-tokens 16 --temperature 0 --dtype bf16

printf '\n######## 2. Training: pretrain, SFT, DPO\n'
LEARN_DIR="$work/learning" bash "$here/learning_demo.sh" "$enclave"
ws=(--workspace "$work/learning/ws")

printf '\n######## 3. Quality gate\n'
cat > "$work/release.yaml" <<'EOF'
# The forgetting check (general English text) and the skills the demo trains,
# scored exactly as the learning demo's `eval run --suite skills` scores them.
suite: release
tasks:
  - general.text_en
  - skills.reverse_en
  - skills.reverse_ko
  - skills.uppercase_en
  - skills.count_en
  - skills.count_ko
  - skills.arithmetic_en
  - skills.arithmetic_ko
EOF
cat > "$work/gate.yaml" <<'EOF'
# The SFT model may not lose more than 0.5 bits per byte on general text
# against the model it was trained from, and may not answer any skill worse.
rules:
  - "regression(general.text_en.bits_per_byte) <= 0.5"
  - "delta(skills.*.exact_match) >= 0"
EOF
# The gate decides: production only when every rule holds; otherwise the
# candidate goes to staging, and the serving tour below runs it from there.
if step "Gate the SFT model against its pretrained base" \
  "$enclave" eval gate --model skills-chat --baseline skills-base --suite "$work/release.yaml" --rules "$work/gate.yaml" \
  --limit 20 "${ws[@]}"; then
  stage=production
  step "The gate passed: promote it" "$enclave" models alias skills-chat@1 "$stage" "${ws[@]}"
else
  stage=staging
  echo "(the gate failed: skills-chat@1 is not promoted to production)"
  step "Stage it instead" "$enclave" models alias skills-chat@1 "$stage" "${ws[@]}"
fi

printf '\n######## 4. Serving\n'
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
adapter=$("$enclave" models path skills-dpo "${ws[@]}")
echo "\$ enclave serve --model skills-chat:$stage --adapter dpo=$adapter --port $port"
"$enclave" serve --model "skills-chat:$stage" --adapter "dpo=$adapter" --port "$port" "${ws[@]}" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
$py - "$port" <<'EOF'
import json, sys, time, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/health", timeout=1); break
    except OSError:
        time.sleep(0.2)
def post(path, body):
    req = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=120))
print("GET /v1/models:", [m["id"] for m in json.load(urllib.request.urlopen(base + "/v1/models"))["data"]])
for model in ("skills-chat", "dpo"):
    r = post("/v1/chat/completions", {"model": model, "temperature": 0, "max_tokens": 24,
                                      "messages": [{"role": "user", "content": "Reverse: c a t"}]})
    print(f"POST /v1/chat/completions model={model}: {r['choices'][0]['message']['content']!r} usage={r['usage']}")
    # A reviewer's verdict; a correction becomes an SFT record on export.
    verdict = {"rating": 1} if model == "dpo" else {"rating": -1, "correction": "t a c"}
    post("/v1/feedback", {"id": r["id"], **verdict})
metrics = urllib.request.urlopen(base + "/metrics").read().decode()
print("GET /metrics (excerpt):")
print("\n".join(l for l in metrics.splitlines() if l.startswith("enclave_requests_total") or l.startswith("enclave_prompt_tokens") or l.startswith("enclave_completion_tokens")))
EOF
kill "$server"; wait "$server" 2>/dev/null || true
trap - EXIT
step "The request log (PII-redacted before storage)" "$enclave" monitor requests "${ws[@]}"
step "Feedback becomes training data" "$enclave" feedback export --out feedback "${ws[@]}"

printf '\ndemo finished: models, runs and data in the workspace %s\n' "$work/learning/ws"
