#!/usr/bin/env bash
# End-to-end demo on the embedded defaults, about eight minutes on 2 cores:
#   1. the engine: create a tiny model, inspect it, tokenize, score, generate;
#   2. the learning demonstration (scripts/learning_demo.sh): pretrain, SFT
#      and DPO on synthetic skill tasks, every step a run in the store;
#   3. a quality gate: the SFT model against its pretrained base on general
#      English text (bits per byte) and on the skills suite the learning
#      demo scores; production if it passes, else staging;
#   4. serving: the aligned model behind the OpenAI API, a request, the
#      metrics and the request log; feedback turned into a dataset.
#   5. the closed loop: the model served from its alias answers simulated
#      users (scripts/demo_users.py), whose reviewed answers come back as
#      feedback; a pipeline fires on it, retrains, gates and moves the alias;
#      the server reloads and the same users get more right answers. The
#      before/after figures are checked against the README's ranges.
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
step "Chat through the model's chat template" \
  "$enclave" generate --model "$work/tiny" --chat --prompt "Say hello." --max-tokens 16 --temperature 0 --dtype f32

printf '\n######## 2. Training: pretrain, SFT, DPO\n'
LEARN_DIR="$work/learning" bash "$here/learning_demo.sh" "$enclave"
ws=(--workspace "$work/learning/ws")
# The learning demo made the workspace encrypted; its key is beside it.
export ENCLAVE_WORKSPACE_KEY_FILE="$work/learning/workspace.key"

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
  --limit 20 --dtype f32 "${ws[@]}"; then
  stage=production
  step "The gate passed: promote it" "$enclave" models alias skills-chat@1 "$stage" "${ws[@]}"
else
  stage=staging
  echo "(the gate failed: skills-chat@1 is not promoted to production)"
  step "Stage it instead" "$enclave" models alias skills-chat@1 "$stage" "${ws[@]}"
fi

printf '\n######## 4. Serving\n'
port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
adapter=skills-dpo  # by reference: the encrypted workspace decrypts it for the server
echo "\$ enclave serve --model skills-chat:$stage --adapter dpo=$adapter --dtype f32 --port $port"
"$enclave" serve --model "skills-chat:$stage" --adapter "dpo=$adapter" --dtype f32 --port "$port" "${ws[@]}" &
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

printf '\n######## 5. The closed loop: users, feedback, retraining, gate, promotion, hot reload\n'
loop="$work/loop"
mkdir -p "$loop/pipelines"
# The users ask skill questions that no training file holds.
"$enclave" train tasks --out "$loop/tasks" --seed 11 --n-pretrain 0 --n-sft 0 --n-eval 0 \
  --n-dpo 400 --n-dpo-eval 0 >/dev/null
data="$work/learning/data"
# They ask about the skills the SFT model is weakest at.
$py "$here/demo_users.py" questions "$loop/tasks/dpo.jsonl" --per-kind 12 --out "$loop/users.jsonl" \
  --kinds reverse_en,reverse_ko,uppercase_en \
  --exclude "$data/pretrain.jsonl" --exclude "$data/sft.jsonl" --exclude "$data/dpo.jsonl"
sed -e 's/"skills.dpo_prompts"/"users"/' -e 's/"dpo.jsonl"/"users.jsonl"/' \
  "$loop/tasks/dpo_prompts.yaml" > "$loop/users.yaml"
cat > "$loop/suite.yaml" <<'EOF'
# What a retrained model must keep (the skills the users asked about, on the
# suite's held-out items) and what it must fix (the users' questions).
suite: feedback-release
tasks:
  - skills.reverse_en
  - skills.reverse_ko
  - skills.uppercase_en
  - task: users.yaml
EOF
cat > "$loop/gate.yaml" <<'EOF'
rules:
  - "regression(skills.*.exact_match) <= 0.25"
  - "delta(users.exact_match) >= 0.15"
EOF
cat > "$loop/pipelines/feedback-retrain.yaml" <<EOF
# Fires when enough new feedback has arrived: exports it, fine-tunes the
# served model on the reviewed answers (the corrections' SFT records), gates
# the candidate against the model it would replace, and moves the alias the
# server watches.
name: feedback-retrain
params: {steps: 60}
stages:
  export:
    cmd: enclave feedback export --out feedback
    outs: [dataset:feedback]
    cache: false
  train:
    cmd: enclave train sft --model skills-chat:$stage --data \${stages.export.outs.feedback}:sft --out skills-chat --max-steps \${steps} --batch-size 8 --lr 2e-4 --warmup-steps 5 --precision f32 --threads 2 --seed 1 --log-every 20
    deps: [dataset:feedback, model:skills-chat:$stage]
    outs: [model:skills-chat]
  gate:
    cmd: sh -c 'enclave eval gate --model \${stages.train.outs.skills-chat} --baseline skills-chat:$stage --suite ../suite.yaml --rules ../gate.yaml --dtype f32 --threads 2 > ../gate.txt'
    deps: [model:skills-chat, ../suite.yaml, ../gate.yaml, ../users.yaml, ../users.jsonl]
    outs: [../gate.txt]
  promote:
    cmd: enclave models alias \${stages.train.outs.skills-chat} $stage
    deps: [../gate.txt]
on:
  feedback: {new: 30}
EOF
step "A pipeline that retrains on feedback" cat "$loop/pipelines/feedback-retrain.yaml"
step "The watcher's first look records how much feedback there is" \
  "$enclave" pipeline watch --dir "$loop/pipelines" --once "${ws[@]}"

port=$($py -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "\$ enclave serve --model skills-chat:$stage --watch-seconds 1 --dtype f32 --port $port --ui"
# --ui: the dashboard on the same port; its sign-in URL is in the server's log.
"$enclave" serve --model "skills-chat:$stage" --watch-seconds 1 --dtype f32 --threads 2 --port "$port" \
  --ui "${ws[@]}" 2> >(tee "$loop/serve.log" >&2) &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
$py "$here/demo_users.py" wait-ready "$port"
step "Users ask; each answer is reviewed: thumbs-up, or thumbs-down with the right answer" \
  $py "$here/demo_users.py" ask "$port" "$loop/users.jsonl" --label before --out "$loop/before.json" --feedback
step "The feedback trigger fires: export, train, gate, promote" \
  "$enclave" pipeline watch --dir "$loop/pipelines" --once "${ws[@]}"
step "The gate's verdict" cat "$loop/gate.txt"
"$enclave" pipeline history feedback-retrain --json "${ws[@]}" | $py -c '
import json, sys
r = max(json.load(sys.stdin), key=lambda r: r["run"])
if r["status"] != "succeeded":
    sys.exit("demo: pipeline run %s %s: %s" % (r["run"], r["status"], r.get("message", "")))'
step "The server notices the alias moved and reloads" $py "$here/demo_users.py" wait-reload "$port"
step "The same users ask the same questions" \
  $py "$here/demo_users.py" ask "$port" "$loop/users.jsonl" --label after --out "$loop/after.json"
step "Before and after, checked against the ranges the README states" \
  $py "$here/demo_users.py" check "$loop/before.json" "$loop/after.json" \
  --max-before 0.8 --min-after 0.85 --min-gain 0.2
step "The pipeline's runs" "$enclave" pipeline history feedback-retrain "${ws[@]}"
step "From the served model back to the feedback that made it" \
  "$enclave" lineage "skills-chat:$stage" --up "${ws[@]}"

printf '\ndemo finished: models, runs and data in the workspace %s\n' "$work/learning/ws"
# The dashboard stays up while the demo's server runs: on a terminal until
# Enter or $ENCLAVE_DEMO_UI_SECONDS (default 300) pass, elsewhere for
# $ENCLAVE_DEMO_UI_SECONDS (default 0), so an unattended run never waits.
dashboard=$(sed -n 's/.*dashboard at //p' "$loop/serve.log" | tail -n 1)
printf 'dashboard: %s\n' "$dashboard"
if [[ -t 0 ]]; then
  read -r -t "${ENCLAVE_DEMO_UI_SECONDS:-300}" \
    -p "the dashboard is up while the server runs; press Enter to stop it " _ || true
elif [[ ${ENCLAVE_DEMO_UI_SECONDS:-0} != 0 ]]; then
  sleep "$ENCLAVE_DEMO_UI_SECONDS"
fi
kill "$server"; wait "$server" 2>/dev/null || true
trap - EXIT
