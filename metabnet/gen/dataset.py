"""A directory of shards: plan, generate (locally or as Dask tasks), resume, summarise."""
from __future__ import annotations

import fcntl
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from metabnet.fileio import write_text
from metabnet.gen.config import GenConfig
from metabnet.gen.driver import generate
from metabnet.kernels import generator as kg
from metabnet.progress import progress_bar
from metabnet.gen.shard import COMPRESSION, ShardError, ShardWriter, open_shard, shard_stats

MANIFEST = "metabnet.json"  # the run's Plan.manifest(), beside its shards
LOCK = ".metabnet.lock"  # held (fcntl.flock) by the gen writing into the folder
BATCH_BYTES = 256 << 20  # the kernels' padded rows of one batch, at most (S networks: 16,384 use 128 MiB)


@dataclass(frozen=True)
class Plan:
    out: Path
    config: GenConfig
    count: int
    seed: int = 0
    shard_size: int = 100_000
    batch_size: int = 16_384
    compression: str = "zstd"  # metabnet.gen.shard.COMPRESSION; not in the manifest: any reader reads any mix

    def __post_init__(self):  # refused before anything is written (the seed is one 64-bit word)
        if self.compression not in COMPRESSION:
            raise ValueError(f"unknown compression {self.compression!r} (choose from {', '.join(COMPRESSION)})")
        if not 0 <= self.seed < 2**64:
            raise ValueError(f"--seed must be an integer from 0 to 2^64 - 1, got {self.seed}")
        if self.count < 0 or self.shard_size < 1 or self.batch_size < 1:
            raise ValueError("count must not be negative, shard size and batch size at least 1")

    def shards(self) -> list[tuple[int, int]]:
        """(shard index, networks) pairs; network i of shard s uses stream (seed, s, i)."""
        full, rest = divmod(self.count, self.shard_size)
        return [(s, self.shard_size) for s in range(full)] + ([(full, rest)] if rest else [])

    def batch(self) -> int:
        """Networks per batch: batch_size, fewer when the padded rows of large networks (16 bytes
        per edge slot and 8 per node, kernels.generator.generate) would pass BATCH_BYTES."""
        row = 16 * kg.capacity(self.config.vector()) + 8 * self.config.node_range[1]
        return max(1, min(self.batch_size, BATCH_BYTES // row))

    def path(self, shard: int) -> Path:
        return self.out / f"shard-{shard:05d}.h5"

    def manifest(self) -> dict:
        return {"config": json.loads(self.config.to_json()), "seed": self.seed,
                "count": self.count, "shard_size": self.shard_size}


def looks_like_manifest(obj) -> bool:
    """Whether a parsed JSON value is a manifest (`Plan.manifest`) rather than a network."""
    return isinstance(obj, dict) and {"config", "seed", "count", "shard_size"} <= obj.keys() and "n" not in obj


def write_shard(plan: Plan, shard: int, count: int, on_batch=None, h5opts=None) -> str:
    """Generate one shard into place (a Dask task, or a local step); returns its path.

    The next batch is generated on a worker thread (the kernels release the GIL) while
    this one is compressed and written.  `h5opts`: the filters (default: the plan's compression)."""
    w = ShardWriter(plan.path(shard), plan.config, plan.seed, shard, 0,
                    COMPRESSION[plan.compression] if h5opts is None else h5opts)
    size = plan.batch()
    starts = range(0, count, size)
    make = lambda s: generate(plan.config, min(size, count - s), plan.seed, shard, s)  # noqa: E731
    try:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(make, starts[0]) if starts else None
            for j in range(len(starts)):
                batch = pending.result()
                pending = pool.submit(make, starts[j + 1]) if j + 1 < len(starts) else None
                w.append(batch)
                if on_batch:
                    on_batch(len(batch))
        w.close()
    except BaseException:
        w.abort()
        raise
    return str(plan.path(shard))


@contextmanager
def _locked(out: Path):
    """Hold an exclusive lock on the folder `out` (created) for a run: a second `gen` into
    it is refused instead of overwriting the first one's temporary files.  The lock is an
    fcntl.flock on `.metabnet.lock`, released by the system when the process dies."""
    out.mkdir(parents=True, exist_ok=True)
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise ValueError(f"{out} is in use by another metabnet gen (pid {pid})") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


def _check_manifest(plan: Plan) -> bool:
    """False when the folder has no manifest; refuse one that describes another run."""
    mpath = plan.out / MANIFEST
    if not mpath.exists():
        return False
    try:
        have = json.loads(mpath.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{mpath}: unreadable manifest ({' '.join(str(e).split())}); "
                         "delete it and rerun to rebuild it from the shards") from None
    if have != plan.manifest():
        raise ValueError(f"{plan.out}: holds shards of another run ({mpath} differs); "
                         "use a new --out directory")
    return True


def _write_manifest(plan: Plan):
    write_text(plan.out / MANIFEST, json.dumps(plan.manifest(), indent=2) + "\n")


def _complete_shards(plan: Plan) -> set[int]:
    """Indices of the plan's shards already whole in the folder.  A whole shard of another
    run (its config, seed or size differ: a manifest deleted, then another --seed) is refused,
    never kept; a file that is not a whole shard is left to be rewritten."""
    planned = dict(plan.shards())
    done = set()
    for path in sorted(plan.out.glob("shard-*.h5")):
        try:
            index = int(path.stem.split("-", 1)[1])
            with open_shard(path) as shard:
                a = shard.attrs
                have = (shard.config, int(a["seed"]), int(a["shard"]), int(a["start"]), shard.count)
        except (ShardError, ValueError):
            continue
        want = (plan.config, plan.seed, index, 0, planned.get(index))
        if have != want:
            what = ", ".join(f"{k} {h} (this run: {w})" for k, h, w in zip(
                ("config", "seed", "shard", "start", "count"), have, want) if h != w and k != "config")
            if have[0] != want[0]:
                diff = sorted(k for k, v in asdict(have[0]).items() if asdict(want[0])[k] != v)
                what = ", ".join([f"config differs in {', '.join(diff)}"] + ([what] if what else []))
            raise ValueError(f"{path}: a shard of another run ({what}); use a new --out directory")
        done.add(index)
    return done


def run(plan: Plan, scheduler: str | None = None, progress: bool = True) -> dict:
    """Write every missing shard of the plan; return the summary of the whole directory.
    The folder is locked for the run (a second `gen` into it is refused)."""
    with _locked(plan.out):
        return _run(plan, scheduler, progress)


def _run(plan: Plan, scheduler: str | None, progress: bool) -> dict:
    manifest = _check_manifest(plan)
    complete = _complete_shards(plan)  # checked before a missing manifest is written anew
    if not manifest:
        _write_manifest(plan)
    todo = [(s, k) for s, k in plan.shards() if s not in complete]
    skipped = len(plan.shards()) - len(todo)
    total = sum(k for _, k in todo)
    t0 = time.perf_counter()
    with progress_bar(total=total, unit="net", unit_scale=True, enabled=progress,
                      desc=f"gen {plan.config.family} {plan.config.size}") as bar:
        if scheduler:
            from distributed import Client, as_completed

            with Client(scheduler) as client:
                futures = {client.submit(write_shard, plan, s, k, pure=False): k for s, k in todo}
                for fut in as_completed(futures):
                    fut.result()
                    bar.update(futures[fut])
        else:
            for s, k in todo:
                write_shard(plan, s, k, on_batch=bar.update)
    seconds = time.perf_counter() - t0
    summary = summarize([plan.path(s) for s, _ in plan.shards()])
    summary.update(written_shards=len(todo), skipped_shards=skipped, generated=total,
                   seconds=round(seconds, 3),
                   networks_per_s=round(total / seconds, 1) if total and seconds > 0 else None)
    return summary


def summarize(paths) -> dict:
    """Class balance and node/edge statistics over shards, reading only the per-network arrays."""
    parts = []
    for p in paths:
        with open_shard(p) as shard:
            parts.append(shard.per_network())
    out = shard_stats({k: np.concatenate([p[k] for p in parts]) for k in parts[0]})
    out["shards"] = len(parts)
    return out


def unfinished(paths) -> list[str]:
    """One warning line for each shard folder among `paths` (or under them) whose manifest
    promises shards that are not all there: a `metabnet gen` still running, or stopped before
    the end.  Reading such a folder reads the complete shards only."""
    lines = []
    for p in map(Path, [paths] if isinstance(paths, (str, os.PathLike)) else paths):
        for m in sorted(p.rglob(MANIFEST)) if p.is_dir() else []:
            try:
                obj = json.loads(m.read_text(encoding="utf-8"))
                count, size = int(obj["count"]), int(obj["shard_size"])
            except (OSError, ValueError, TypeError, KeyError):
                continue  # not a manifest this check can read; the shards speak for themselves
            if count < 1 or size < 1:
                continue
            promised = -(-count // size)
            missing = sum(not (m.parent / f"shard-{s:05d}.h5").is_file() for s in range(min(promised, 1 << 20)))
            if missing:
                lines.append(f"{m.parent}: unfinished: its manifest promises {promised:,} shards "
                             f"({count:,} networks) and {missing:,} are missing (a `metabnet gen` still "
                             f"running or stopped; rerun it to finish); reading the "
                             f"{promised - missing:,} complete ones")
    return lines
