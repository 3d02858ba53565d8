#!/usr/bin/env python3
"""Checks the learning demonstration's scores (scripts/learning_demo.sh)
against the ranges the README states, reading the eval runs it recorded.

  demo_check_learning.py ENCLAVE WORKSPACE

The runs, oldest first: `skills skills-base` (exact match after
pretraining), `skills skills-chat` (after SFT, then with the DPO adapter),
`skills.preference skills-chat` (before DPO, then with the adapter). Exits 1
naming every figure outside its range.
"""
import json
import subprocess
import sys

# (what, run name, which of the runs so named (0: first), low, high). The
# ranges hold on Intel with AMX and AMD without (f32 throughout); keep them in
# step with README.md.
RANGES = [
    ("exact match after pretraining", "skills skills-base", 0, 0.0, 0.1),
    ("exact match after SFT", "skills skills-chat", 0, 0.4, 0.85),
    ("preference accuracy before DPO", "skills.preference skills-chat", 0, 0.0, 0.25),
    ("preference accuracy after DPO", "skills.preference skills-chat", 1, 0.35, 1.0),
]


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    enclave, workspace = sys.argv[1:]
    out = subprocess.run([enclave, "runs", "list", "--kind", "eval", "--limit", "0", "--json",
                          "--workspace", workspace], check=True, capture_output=True, text=True)
    runs = sorted(json.loads(out.stdout), key=lambda r: r["id"])
    problems = []
    for what, name, index, low, high in RANGES:
        named = [r for r in runs if r["name"] == name and r["status"] == "finished"]
        if len(named) <= index:
            problems.append(f"{what}: no run named '{name}' (#{index + 1}) in {workspace}")
            continue
        score = named[index]["metrics"].get("suite/score")
        if score is None:
            problems.append(f"{what}: run {named[index]['id']} has no suite/score")
            continue
        ok = low <= score <= high
        print(f"  {what:32s} {score:.2f}  range [{low:.2f}, {high:.2f}]  "
              f"{'ok' if ok else 'OUT OF RANGE'}  (run {named[index]['id']})")
        if not ok:
            problems.append(f"{what}: {score:.2f} outside [{low}, {high}]")
    if problems:
        print("learning demo check failed:\n  " + "\n  ".join(problems), file=sys.stderr)
        sys.exit(1)
    print("learning demo check: every score within its stated range")


if __name__ == "__main__":
    main()
