"""Generation throughput: metabnet's Numba pipeline vs a paper-style Python + networkx generator.

Both make S-size `erdos` networks with integer rates 1-99, the paper's redemption (p=0.4)
and quantitative labels (equilibrium by a dense solve).  metabnet's figure is end to end:
generation, labels, equilibria, compression and HDF5 shards on disk, after a warm-up that
compiles the kernels.  The reference labels networks in memory (no file), one graph at a
time, on one process and on as many processes as metabnet has threads.

    python benchmarks/gen_throughput.py --count 1000000 --ref-count 4000
"""
import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numba

sys.path.insert(0, str(Path(__file__).parent))
from metabnet import paper_reference  # noqa: E402

from metabnet.dataset import Plan, run  # noqa: E402
from metabnet.generate import GenConfig, generate  # noqa: E402


def metabnet_rate(count: int, out: Path) -> dict:
    cfg = GenConfig(family="erdos", size="S", weights="integer", balance="redeem")
    generate(cfg, 64)  # compile (or load the cache) outside the timer
    t0 = time.perf_counter()
    summary = run(Plan(out, cfg, count, seed=0), progress=False)
    seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.glob("*.h5"))
    return {"networks": count, "seconds": round(seconds, 2), "networks_per_s": round(count / seconds),
            "share_unique": summary["share_unique"], "bytes_per_network": round(size / count, 1)}


def reference_rate(count: int, procs: int) -> float:
    if procs == 1:
        return paper_reference.throughput(count, seed=0)
    t0 = time.perf_counter()
    with ProcessPoolExecutor(procs) as pool:
        list(pool.map(paper_reference.generate, [count // procs] * procs, range(procs)))
    return count / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=1_000_000, help="metabnet networks (written to HDF5)")
    ap.add_argument("--ref-count", type=int, default=4000, help="reference networks")
    ap.add_argument("--out", type=Path, help="directory for the shards (default: a temporary one)")
    ap.add_argument("--json", type=Path, help="write the results here too")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp()) if args.out is None else args.out
    try:
        ours = metabnet_rate(args.count, tmp / "shards")
    finally:
        if args.out is None:
            shutil.rmtree(tmp, ignore_errors=True)
    threads = numba.get_num_threads()
    ref1 = reference_rate(args.ref_count, 1)
    refn = reference_rate(args.ref_count, threads) if threads > 1 else ref1
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}",
              "python": platform.python_version(), "numba_threads": threads, "metabnet": ours,
              "reference_1_process_per_s": round(ref1), f"reference_{threads}_processes_per_s": round(refn),
              "speedup_vs_1_process": round(ours["networks_per_s"] / ref1, 1),
              f"speedup_vs_{threads}_processes": round(ours["networks_per_s"] / refn, 1)}
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
