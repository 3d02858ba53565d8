"""The training step of bench/train_bench.cpp as a plain PyTorch loop, for a
ratio measured in the same run: the same Llama model (tests/reference/hf_llama.py,
HF's modeling_llama in plain PyTorch), batch shape, next-token loss, gradient
clipping at 1.0 and torch.optim.AdamW. Prints training tokens/s after warm-up.

    /usr/bin/python3 bench/train_reference.py --model DIR --batch 8 --seq 256 --steps 4 --warmup 2 --threads 2 \
        [--precision f32|bf16-autocast]
"""

import argparse
import contextlib
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import hf_llama  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--precision", choices=["f32", "bf16-autocast"], default="f32")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = hf_llama.load_model(args.model, torch.float32)
    model.train()
    for param in model.parameters():
        param.requires_grad_(True)
    vocab = model.config.vocab_size
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.0)
    ids = torch.randint(0, vocab, (args.batch, args.seq))
    autocast = (torch.autocast("cpu", dtype=torch.bfloat16) if args.precision == "bf16-autocast"
                else contextlib.nullcontext())
    start = None
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            start = time.perf_counter()
        with autocast:
            # ForCausalLM.forward is the no-grad scoring path; train through its parts.
            logits = model.lm_head(model.model(ids))
        loss = torch.nn.functional.cross_entropy(logits[:, :-1].float().reshape(-1, logits.shape[-1]),
                                                 ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    seconds = time.perf_counter() - start
    print(f"{args.batch * args.seq * args.steps / seconds:.1f}")


if __name__ == "__main__":
    main()
