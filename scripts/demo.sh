#!/usr/bin/env bash
# End-to-end demo on the embedded defaults: create a tiny model, inspect it,
# tokenize, score and generate. Usage: scripts/demo.sh [path/to/enclave]
set -euo pipefail
enclave=${1:-build/src/cli/enclave}
work=${DEMO_DIR:-out/demo}
rm -rf "$work"
mkdir -p "$(dirname "$work")"

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

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
printf '\ndemo finished: model in %s\n' "$work"
