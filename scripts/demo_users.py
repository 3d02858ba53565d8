#!/usr/bin/env python3
"""Simulated users of the demo's closed loop (scripts/demo.sh, part 5).

Each user asks the served model one question (a chat request, greedy, as the
skills suite scores) and reviews the answer the way a person with the right
answer at hand would: a right answer gets a thumbs-up (rating 1), a wrong one
a thumbs-down (rating -1), each with the right answer as the correction,
posted to /v1/feedback. `feedback export` turns the corrections into SFT
records.

  demo_users.py questions TASKS.jsonl --exclude TRAIN.jsonl --per-kind N --out USERS.jsonl
  demo_users.py ask PORT QUESTIONS.jsonl --label before --out before.json [--feedback]
  demo_users.py wait-ready PORT
  demo_users.py wait-reload PORT [--count N] [--timeout S]
  demo_users.py check before.json after.json --max-before X --min-after Y --min-gain Z

QUESTIONS.jsonl holds skill documents as `enclave train tasks` writes them
({"prompt": [user], "chosen": [assistant], "skill", "language"}; chat
records {"messages": [user, assistant]} also do): the user's turn is the
question, the assistant's the right answer. `check` exits 1 when a
figure falls outside the range the README states.
"""
import argparse
import concurrent.futures
import json
import sys
import time
import urllib.error
import urllib.request


def fail(message):
    print(f"demo_users.py: {message}", file=sys.stderr)
    sys.exit(1)


def call(base, path, body=None, timeout=300):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read().decode()
    except urllib.error.HTTPError as e:
        fail(f"{path}: HTTP {e.code}: {e.read().decode(errors='replace')}")
    except OSError as e:
        fail(f"{path}: {e}")
    return text if path == "/metrics" else json.loads(text)


def read_jsonl(path):
    records = []
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, 1):
            if line.strip():
                try:
                    records.append((line_no, json.loads(line)))
                except ValueError as e:
                    fail(f"{path}:{line_no}: {e}")
    return records


def question_of(path, line_no, record):
    """(question, right answer) of a skill document or a chat record."""
    try:
        if "messages" in record:
            user, answer = record["messages"][0], record["messages"][1]
        else:
            user, answer = record["prompt"][0], record["chosen"][0]
        if user["role"] != "user" or answer["role"] != "assistant":
            raise ValueError("expected a user turn and an assistant turn")
        return user["content"], answer["content"]
    except (ValueError, KeyError, IndexError, TypeError) as e:
        fail(f"{path}:{line_no}: expected {{prompt, chosen}} or {{messages}}: {e}")


def load_questions(path):
    questions = []
    for line_no, record in read_jsonl(path):
        question, answer = question_of(path, line_no, record)
        questions.append({"question": question, "answer": answer,
                          "skill": f"{record.get('skill', '?')}_{record.get('language', '?')}"})
    if not questions:
        fail(f"{path}: no questions")
    return questions


def questions(args):
    """Picks the users' questions: per skill kind at most --per-kind skill
    documents whose prompt no training file given in --exclude holds, so the
    model has never seen them (the training data holds most small sums, so
    arithmetic has fewer)."""
    seen = set()
    for path in args.exclude:
        for line_no, record in read_jsonl(path):
            if isinstance(record.get("text"), str):  # pretraining text: one task a line
                seen.update(record["text"].splitlines())
            else:
                seen.add(question_of(path, line_no, record)[0])
    picked, per_kind = [], {}
    for line_no, record in read_jsonl(args.tasks):
        question, _ = question_of(args.tasks, line_no, record)
        kind = (record.get("skill"), record.get("language"))
        if args.kinds and f"{kind[0]}_{kind[1]}" not in args.kinds.split(","):
            continue
        if question in seen or per_kind.get(kind, 0) >= args.per_kind:
            continue
        per_kind[kind] = per_kind.get(kind, 0) + 1
        picked.append(record)
    if not picked:
        fail(f"{args.tasks}: every question is in the training data")
    with open(args.out, "w", encoding="utf-8") as f:
        for record in picked:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    counts = ", ".join(f"{skill}_{language} {n}" for (skill, language), n in sorted(per_kind.items()))
    print(f"{len(picked)} questions never trained on ({counts}) -> {args.out}")


def ask(args):
    base = f"http://127.0.0.1:{args.port}"
    questions = load_questions(args.questions)
    # The first model listed is the base the server loaded; "root" names its
    # registry version, the one a hot reload replaces.
    served = call(base, "/v1/models")["data"][0]
    model_id, version = served["id"], served.get("root") or served["id"]

    def one(q):
        r = call(base, "/v1/chat/completions",
                 {"model": model_id, "temperature": 0, "max_tokens": 24,
                  "messages": [{"role": "user", "content": q["question"]}]})
        said = r["choices"][0]["message"]["content"].strip()
        return {**q, "id": r["id"], "said": said, "right": said == q["answer"]}

    # A few users at a time: the server batches their requests together.
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(one, questions))
    if args.feedback:
        # One reviewer goes through the answers in turn. The verdict carries the
        # reference answer either way, so the export holds an SFT record for
        # every reviewed question: the confirmed answers keep what the model
        # knows while the corrections teach what it got wrong.
        for a in answers:
            verdict = {"rating": 1 if a["right"] else -1, "correction": a["answer"]}
            call(base, "/v1/feedback", {"id": a["id"], **verdict})
    n_right = sum(a["right"] for a in answers)
    print(f"{args.label}: {len(answers)} users asked {model_id} (serving {version}): "
          f"{n_right} right, {len(answers) - n_right} wrong "
          f"(accuracy {n_right / len(answers):.2f})")
    by_skill = {}
    for a in answers:
        by_skill.setdefault(a["skill"], []).append(a["right"])
    print("  per skill: " + ", ".join(f"{k} {sum(v)}/{len(v)}" for k, v in sorted(by_skill.items())))
    for a in [a for a in answers if not a["right"]][:3]:
        print(f"  e.g. {a['question']!r}: answered {a['said']!r}, right: {a['answer']!r}")
    if args.feedback:
        print(f"  feedback posted: {n_right} thumbs-up (answer confirmed), "
              f"{len(answers) - n_right} thumbs-down with the right answer")
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump({"label": args.label, "served": version, "right": n_right,
                   "total": len(answers), "answers": answers}, f, ensure_ascii=False, indent=1)


def reloads(base):
    for line in call(base, "/metrics").splitlines():
        if line.startswith('enclave_model_reloads_total{result="ok"}'):
            return int(float(line.split()[-1]))
    fail("/metrics: no enclave_model_reloads_total{result=\"ok\"} line")


def wait_ready(args):
    base = f"http://127.0.0.1:{args.port}"
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/health", timeout=1).read()
            return
        except OSError:
            time.sleep(0.2)
    fail(f"the server on port {args.port} did not answer /health within {args.timeout:g}s")


def wait_reload(args):
    base = f"http://127.0.0.1:{args.port}"
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if reloads(base) >= args.count:
            models = [m["id"] for m in call(base, "/v1/models")["data"]]
            print(f"the server reloaded (reloads: {reloads(base)}); GET /v1/models: {models}")
            return
        time.sleep(0.5)
    fail(f"the server did not reload within {args.timeout:g}s")


def check(args):
    def load(path):
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
        return r["right"] / r["total"], r

    before, b = load(args.before)
    after, a = load(args.after)
    # The same users, the same questions: only the model behind the alias changed.
    if [x["question"] for x in b["answers"]] != [x["question"] for x in a["answers"]]:
        fail(f"{args.before} and {args.after} hold different questions")
    fixed = sum(1 for x, y in zip(b["answers"], a["answers"]) if not x["right"] and y["right"])
    broken = sum(1 for x, y in zip(b["answers"], a["answers"]) if x["right"] and not y["right"])
    print(f"before: {b['right']}/{b['total']} right ({before:.2f}) from {b['served']}")
    print(f"after:  {a['right']}/{a['total']} right ({after:.2f}) from {a['served']}")
    print(f"        {fixed} wrong answers fixed, {broken} right answers lost")
    problems = []
    if before > args.max_before:
        problems.append(f"before {before:.2f} > {args.max_before} (the users should find mistakes)")
    if after < args.min_after:
        problems.append(f"after {after:.2f} < {args.min_after}")
    if after - before < args.min_gain:
        problems.append(f"gain {after - before:.2f} < {args.min_gain}")
    if problems:
        fail("outside the ranges the README states: " + "; ".join(problems))
    print(f"check: within the stated ranges (before <= {args.max_before}, "
          f"after >= {args.min_after}, gain >= {args.min_gain})")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("questions")
    p.add_argument("tasks", help="skill documents (train tasks' dpo.jsonl)")
    p.add_argument("--exclude", action="append", default=[], help="training JSONL to avoid")
    p.add_argument("--per-kind", type=int, required=True)
    p.add_argument("--kinds", default="", help="only these kinds (reverse_en,uppercase_en,...)")
    p.add_argument("--out", required=True)
    p.set_defaults(fn=questions)
    p = sub.add_parser("ask")
    p.add_argument("port", type=int)
    p.add_argument("questions")
    p.add_argument("--label", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--feedback", action="store_true")
    p.set_defaults(fn=ask)
    p = sub.add_parser("wait-ready")
    p.add_argument("port", type=int)
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(fn=wait_ready)
    p = sub.add_parser("wait-reload")
    p.add_argument("port", type=int)
    p.add_argument("--count", type=int, default=1, help="successful reloads to wait for")
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(fn=wait_reload)
    p = sub.add_parser("check")
    p.add_argument("before")
    p.add_argument("after")
    p.add_argument("--max-before", type=float, required=True)
    p.add_argument("--min-after", type=float, required=True)
    p.add_argument("--min-gain", type=float, required=True)
    p.set_defaults(fn=check)
    args = parser.parse_args()
    args.fn(args)


if __name__ == "__main__":
    main()
