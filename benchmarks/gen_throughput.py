"""Generation throughput: metabnet's Numba pipeline vs a paper-style Python + networkx generator.

Both make S-size `erdos` networks with integer rates 1-99, the paper's redemption (p=0.4)
and quantitative labels (equilibrium by a dense solve).  metabnet's figure is end to end:
generation, labels, equilibria, compression and HDF5 shards on disk, after a warm-up that
compiles the kernels.  The reference labels networks in memory (no file), one graph at a
time, on one process and on as many processes as metabnet has threads.

    python benchmarks/gen_throughput.py --count 1000000 --ref-count 4000

`--filter gzip` writes the shards with the gzip level 1 filter of metabnet <= 0.1 instead of
Zstandard (metabnet.gen.shard.H5OPTS), for a before/after on one machine; `--kernels-only` also
times the generator alone (labelled networks in memory, no file); `--ref-count 0` skips the
reference.  `--filters` prints, for the largest datasets of 65,536 networks, the CPU time and
bytes per network of each filter (the table in benchmarks/README.md).

    python benchmarks/gen_throughput.py --count 1000000 --filter gzip --kernels-only --ref-count 0
    python benchmarks/gen_throughput.py --filters
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

import h5py
import hdf5plugin
import numba

sys.path.insert(0, str(Path(__file__).parent))
from metabnet.bench import paper_reference  # noqa: E402

from metabnet.gen import shard  # noqa: E402
from metabnet.gen.dataset import Plan, run  # noqa: E402
from metabnet.gen.config import GenConfig  # noqa: E402
from metabnet.gen.driver import generate

FILTERS = {"zstd": shard.H5OPTS, "gzip": {"compression": "gzip", "compression_opts": 1, "shuffle": True},
           "lz4": {**hdf5plugin.LZ4(), "shuffle": True}, "none": {}}
CONFIG = GenConfig(family="erdos", size="S", weights="integer", balance="redeem")


def metabnet_rate(count: int, out: Path, filter: str) -> dict:
    generate(CONFIG, 64)  # compile (or load the cache) outside the timer
    shard.H5OPTS = FILTERS[filter]
    t0 = time.perf_counter()
    summary = run(Plan(out, CONFIG, count, seed=0), progress=False)
    seconds = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.glob("*.h5"))
    return {"networks": count, "filter": filter, "seconds": round(seconds, 2),
            "networks_per_s": round(count / seconds),
            "share_unique": summary["share_unique"], "bytes_per_network": round(size / count, 1)}


def kernels_rate(count: int, batch: int = 16_384) -> float:
    """Labelled networks per second of the generator alone, batches as `gen` makes them."""
    generate(CONFIG, 64)
    t0 = time.perf_counter()
    for start in range(0, count, batch):
        generate(CONFIG, min(batch, count - start), 0, 0, start)
    return round(count / (time.perf_counter() - t0))


def filter_table(count: int = 65_536) -> dict:
    """{dataset: {filter: (CPU us per network, bytes per network)}} for one batch."""
    batch = generate(CONFIG, count, 0, 0, 0)
    table = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("edge_src", "edge_dst", "edge_rate", "x"):
            table[name] = {}
            for fname, opts in FILTERS.items():
                with h5py.File(Path(tmp) / "t.h5", "w") as f:
                    t0 = time.process_time()
                    ds = f.create_dataset(name, data=batch[name], chunks=(1 << 16,), **opts)
                    f.flush()
                    cpu = time.process_time() - t0
                    table[name][fname] = (round(1e6 * cpu / count, 2), round(ds.id.get_storage_size() / count, 1))
    return table


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
    ap.add_argument("--filter", choices=list(FILTERS), default="zstd", help="HDF5 filter of the shards")
    ap.add_argument("--kernels-only", action="store_true", help="also time the generator without files")
    ap.add_argument("--filters", action="store_true", help="only the per-dataset filter table")
    args = ap.parse_args()
    if args.filters:
        print(json.dumps({"load_average": os.getloadavg(), "us_and_bytes_per_network": filter_table()}, indent=2))
        return
    tmp = Path(tempfile.mkdtemp()) if args.out is None else args.out
    try:
        ours = metabnet_rate(args.count, tmp / "shards", args.filter)
    finally:
        if args.out is None:
            shutil.rmtree(tmp, ignore_errors=True)
    threads = numba.get_num_threads()
    result = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.processor() or 'cpu'}",
              "load_average": os.getloadavg(), "python": platform.python_version(), "numba_threads": threads,
              "metabnet": ours}
    if args.kernels_only:
        result["kernels_only_per_s"] = kernels_rate(args.count)
    if args.ref_count:
        ref1 = reference_rate(args.ref_count, 1)
        refn = reference_rate(args.ref_count, threads) if threads > 1 else ref1
        result.update({"reference_1_process_per_s": round(ref1), f"reference_{threads}_processes_per_s": round(refn),
                       "speedup_vs_1_process": round(ours["networks_per_s"] / ref1, 1),
                       f"speedup_vs_{threads}_processes": round(ours["networks_per_s"] / refn, 1)})
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
