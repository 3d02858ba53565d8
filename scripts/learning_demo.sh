#!/usr/bin/env bash
# Learning demonstration on synthetic skill tasks that Enclave generates itself
# (reverse, uppercase, count letters, simple arithmetic; English and Korean):
#   1. pretrain a tiny randomly initialised model on solved tasks written as text,
#   2. SFT it on chat records: exact match on the held-out `skills` eval
#      suite rises from ~0,
#   3. DPO (LoRA) on the SFT model's own mistakes paired with the right
#      answers: preference accuracy on held-out pairs rises from ~0.
# Every score is `enclave eval run`, the scoring path of quality gates.
# Every step is a run in the workspace store, with lineage from the final
# adapter back to the random model and the data. About five minutes on 2
# cores: training runs in bf16 autocast (fp32 weights, bf16 matrix products)
# on CPUs with AMX or AVX512-BF16, where train_bench measures it at several
# times the fp32 speed, and in f32 elsewhere (LEARN_PRECISION=f32 or
# bf16-autocast to choose). Scoring runs in f32.
# How a CPU rounds bf16 products moves the scores a little, so the last step
# checks them against the ranges the README states (measured on Intel with
# AMX and AMD without) and fails the demo outside them.
# Usage: scripts/learning_demo.sh [path/to/enclave]
set -euo pipefail
enclave=${1:-build/src/cli/enclave}
work=${LEARN_DIR:-out/learning}
here=$(cd "$(dirname "$0")" && pwd)
threads=${LEARN_THREADS:-2}
rm -rf "$work"
mkdir -p "$work"
ws=(--workspace "$work/ws")

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; "${@:2}"; }

# The workspace is encrypted at rest (databases, objects, run logs); its key
# is kept outside it, and every command below finds it in the environment.
export ENCLAVE_WORKSPACE_KEY_FILE="$work/workspace.key"
step "A key for the workspace, outside it (32 random bytes, mode 0600)" \
  "$enclave" store keygen --out "$ENCLAVE_WORKSPACE_KEY_FILE"
step "An encrypted workspace for the runs" "$enclave" init --encrypt "$work/ws"
step "A tiny Llama model with random weights" \
  "$enclave" model init --preset tiny --out "$work/tiny" --seed 1
step "Register it" "$enclave" models register tiny "$work/tiny" "${ws[@]}"
step "Generate the skill tasks (the items of the skills eval suite are held out: never trained on)" \
  "$enclave" train tasks --out "$work/data" --seed 7 --n-pretrain 6000 --n-sft 4000 --n-eval 140 --n-dpo 1200 --n-dpo-eval 140
head -c 300 "$work/data/sft_eval.jsonl"; echo

# bf16 autocast where the CPU computes bf16 natively (AMX or AVX512_BF16);
# elsewhere (AMD without AVX-512, older Intel) bf16 products are emulated and
# slower than f32, so those machines train in f32.
if [ -z "${LEARN_PRECISION:-}" ]; then
  if grep -qwE 'amx_bf16|avx512_bf16' /proc/cpuinfo; then LEARN_PRECISION=bf16-autocast; else LEARN_PRECISION=f32; fi
fi
echo "training precision: $LEARN_PRECISION"
common=(--threads "$threads" --precision "$LEARN_PRECISION" --log-every 50 "${ws[@]}")
# Every score below is `enclave eval run`, the path quality gates use: the
# skills suite is exact match on the held-out items through the chat template.
evaluate=(eval run --dtype f32 --threads "$threads" "${ws[@]}")
step "Pretrain on the tasks as plain text" \
  "$enclave" train pretrain --model tiny --data "$work/data/pretrain.jsonl" --out skills-base \
  --max-length 256 --batch-size 16 --epochs 3 --lr 3e-3 --warmup-steps 20 "${common[@]}"
step "Exact match after pretraining (chat format not learned yet)" \
  "$enclave" "${evaluate[@]}" --model skills-base --suite skills

step "SFT on chat records (loss on the answers only)" \
  "$enclave" train sft --model skills-base --data "$work/data/sft.jsonl" --eval-data "$work/data/sft_eval.jsonl" \
  --out skills-chat --batch-size 16 --max-steps 2000 --lr 1e-3 --warmup-steps 30 --eval-every 500 "${common[@]}"
step "Exact match after SFT; its wrong answers become held-out preference pairs (chosen: the
   right answer, rejected: the model's)" \
  "$enclave" "${evaluate[@]}" --model skills-chat --suite skills --mistakes "$work/data/mistakes_eval.jsonl"
step "... and on the DPO prompts (train tasks wrote them as a task file): the pairs to train on" \
  "$enclave" "${evaluate[@]}" --model skills-chat --suite "$work/data/dpo_prompts.yaml" \
  --mistakes "$work/data/mistakes.jsonl"
# Preference accuracy: how often the model gives the right answer a higher
# log-likelihood than its own wrong one (a two-choice task over the pairs).
cat > "$work/data/preference.yaml" <<'EOF'
task: skills.preference
dataset: mistakes_eval.jsonl
output_type: multiple_choice
chat_template: true
doc_to_text: "{{prompt[0].content}}"
doc_to_choice: ["{{chosen[0].content}}", "{{rejected[0].content}}"]
doc_to_target: 0
metric_list: [acc]
EOF
step "Preference accuracy before DPO on the held-out pairs (the model prefers its own answers)" \
  "$enclave" "${evaluate[@]}" --model skills-chat --suite "$work/data/preference.yaml"
step "DPO with a LoRA adapter (reference: the SFT model, adapters off)" \
  "$enclave" train dpo --model skills-chat --data "$work/data/mistakes.jsonl" \
  --eval-data "$work/data/mistakes_eval.jsonl" --out skills-dpo --lora --lora-r 16 --lr 1e-3 --beta 0.5 \
  --batch-size 16 --epochs 8 "${common[@]}"
# By reference: an encrypted workspace decrypts it for each command.
adapter=skills-dpo
step "Preference accuracy after DPO on the held-out pairs (the adapter applied unmerged)" \
  "$enclave" "${evaluate[@]}" --model skills-chat --adapter "$adapter" --suite "$work/data/preference.yaml"
step "Exact match with the DPO adapter" \
  "$enclave" "${evaluate[@]}" --model skills-chat --adapter "$adapter" --suite skills
step "Where did the adapter come from?" "$enclave" lineage skills-dpo --up "${ws[@]}"
step "The scores above, checked against the ranges the README states" \
  /usr/bin/python3 "$here/demo_check_learning.py" "$enclave" "$work/ws"
printf '\nlearning demo finished: workspace %s\n' "$work/ws"
