#!/usr/bin/env python3
"""Issue 4's offline workload through Hugging Face transformers `generate()` with static batches.

The same workload as `vllm bench throughput --num-prompts 64 --input-len 128 --output-len 128`: 64 prompts of 128
random token ids (ids drawn from [min(1000, vocab/2), vocab), as vLLM's random dataset and ours do), 128 new tokens
each with EOS ignored (min_new_tokens = max_new_tokens), greedy. The prompts are cut into static batches of 8, 16, 32
and 64 and each batch runs one `generate()` call; the figure is all output tokens over the wall time of all batches.
Every (dtype, batch size) pair is measured once; the best output tokens/s is reported.

  tools/bench-transformers.py                      # sets up its venv on first use (torch==2.13.0+cpu, transformers)
  tools/bench-transformers.py --model DIR --dtypes float32,bfloat16 --batch-sizes 8,16,32,64 --output-json FILE

The model defaults to the bf16 Hugging Face folder of ../shared/anchors/vllm-cpu (`vllm-cpu model`). The venv lives in
$SWIFT_VLLM_CACHE/venv-transformers (default ~/.cache/swift-vllm).
"""
import argparse
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.environ.get("SWIFT_VLLM_CACHE", os.path.expanduser("~/.cache/swift-vllm"))
VENV = os.path.join(CACHE, "venv-transformers")
PACKAGES = ["torch==2.13.0+cpu", "transformers", "safetensors"]


def ensure_venv():
    """Re-executes this script inside its own venv, creating it first if needed."""
    python = os.path.join(VENV, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(VENV):
        return
    if not os.path.exists(os.path.join(VENV, ".ready")):
        print(f"setting up {VENV} ({' '.join(PACKAGES)})", file=sys.stderr)
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
        subprocess.check_call([python, "-m", "pip", "install", "-q"] + PACKAGES)
        open(os.path.join(VENV, ".ready"), "w").close()
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def default_model():
    anchor = os.path.join(HERE, "..", "..", "shared", "anchors", "vllm-cpu")
    for candidate in [os.environ.get("VLLM_CPU_ANCHOR", ""), anchor, "/work/shared/anchors/vllm-cpu"]:
        if candidate and os.path.exists(candidate):
            return subprocess.check_output([candidate, "model"], text=True).strip()
    return os.path.join(os.environ.get("ANCHORS", os.path.expanduser("~/.cache/swift-vllm-anchors")), "smollm2-hf")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="Hugging Face model folder (default: the vllm-cpu anchor's bf16 folder)")
    parser.add_argument("--num-prompts", type=int, default=64)
    parser.add_argument("--input-len", type=int, default=128)
    parser.add_argument("--output-len", type=int, default=128)
    parser.add_argument("--batch-sizes", default="8,16,32,64")
    parser.add_argument("--dtypes", default="float32,bfloat16", help="comma-separated torch dtypes to load the model in")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output-json")
    args = parser.parse_args()
    ensure_venv()

    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    transformers.utils.logging.disable_progress_bar()

    torch.set_num_threads(args.threads)
    model_dir = args.model or default_model()
    if not os.path.exists(os.path.join(model_dir, "config.json")):
        sys.exit(f"no Hugging Face model at {model_dir} (run ../shared/anchors/vllm-cpu setup)")
    generator = torch.Generator().manual_seed(args.seed)
    results = []
    for dtype_name in args.dtypes.split(","):
        dtype = getattr(torch, dtype_name)
        model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype).eval()
        vocab = model.config.vocab_size
        low = min(1000, vocab // 2)
        prompts = torch.randint(low, vocab, (args.num_prompts, args.input_len), generator=generator)
        kwargs = dict(max_new_tokens=args.output_len, min_new_tokens=args.output_len, do_sample=False,
                      pad_token_id=model.config.eos_token_id if model.config.eos_token_id is not None else 0)
        with torch.inference_mode():
            model.generate(prompts[:2, :16], attention_mask=torch.ones(2, 16, dtype=torch.long),
                           **{**kwargs, "max_new_tokens": 4, "min_new_tokens": 4})  # warm-up
            for batch in [int(b) for b in args.batch_sizes.split(",")]:
                start, output_tokens = time.perf_counter(), 0
                for i in range(0, args.num_prompts, batch):
                    ids = prompts[i:i + batch]
                    out = model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)
                    output_tokens += (out.shape[1] - ids.shape[1]) * ids.shape[0]
                elapsed = time.perf_counter() - start
                row = {"dtype": dtype_name, "batch_size": batch, "elapsed_time": elapsed, "num_requests": args.num_prompts,
                       "output_tokens": output_tokens, "output_tokens_per_second": output_tokens / elapsed,
                       "requests_per_second": args.num_prompts / elapsed,
                       "tokens_per_second": (output_tokens + args.num_prompts * args.input_len) / elapsed}
                results.append(row)
                print(f"{dtype_name:>9} batch {batch:>3}: {row['output_tokens_per_second']:.1f} output tokens/s "
                      f"({elapsed:.1f} s)", flush=True)
        del model
    best = max(results, key=lambda r: r["output_tokens_per_second"])
    print(f"best: {best['dtype']} batch {best['batch_size']}: {best['output_tokens_per_second']:.1f} output tokens/s")
    summary = {"model": model_dir, "torch": torch.__version__, "transformers": transformers.__version__,
               "threads": args.threads, "num_prompts": args.num_prompts, "input_len": args.input_len,
               "output_len": args.output_len, "results": results, "best": best}
    if args.output_json:
        with open(args.output_json, "w") as f:
            json.dump(summary, f, indent=2)


if __name__ == "__main__":
    main()
