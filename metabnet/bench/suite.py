"""`metabnet bench`: generation, exact solving, model inference and scaling, measured in one run
on the same networks, beside the paper's pipeline and the tools users would pick instead.

Sections (each a function returning rows; `run` writes bench.json, bench.md and PNGs):
- gen: networks/s to HDF5 end to end (`metabnet.gen.dataset.run`), by family, size, kinetics,
  method and threads, against the paper-style Python + networkx generator (metabnet.bench.paper_reference);
- solve: per-network time (median and p99) of metabnet's solver and of numpy, scipy, solve_ivp
  (LSODA, BDF), libRoadRunner and COPASI on the same networks with an equilibrium, and how
  many answers agree with metabnet's (relative L1 below 1e-6);
- infer: single-network latency and batched throughput of the shipped model and of every other
  architecture (graph, seq2seq, ...), with the accuracy they reach on those networks, beside
  the exact solver's networks/s;
- scale: cost per network against size (32 to 10,000 inner nodes), with the fitted exponent.

Timers wrap warmed-up calls (compiled kernels loaded, one untimed call first) and synchronise
the GPU; figures are medians over repeats where a call is short."""
from __future__ import annotations

import math
import os
import platform
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numba
import numpy as np

from metabnet.bench import SECTIONS
from metabnet.bench import references as ref
from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.driver import generate
from metabnet.metrics import rel_l1
from metabnet.network import Kinetics
from metabnet.solve import solve

AGREE = 1e-6  # relative L1 to metabnet's answer below which a tool counts as agreeing


@dataclass
class Settings:
    quick: bool = False
    scale: float = 1.0  # multiplies every network count (tests use a tiny one)
    device: str = "cpu"
    model: str = "default"  # the checkpoint of the infer and scale sections (default: the shipped one)

    def count(self, full: int, quick: int) -> int:
        return max(2, int((quick if self.quick else full) * self.scale))


def cpu_name() -> str:
    """The CPU model (from /proc/cpuinfo where there is one)."""
    cpu = platform.processor() or platform.machine()
    if Path("/proc/cpuinfo").exists():
        cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                    if ln.startswith("model name")), cpu)
    return cpu


def machine() -> dict:
    import importlib.metadata as md

    cpu = cpu_name()
    versions = {}
    for pkg in ("metabnet", "numpy", "numba", "scipy", "h5py", "torch", "networkx", "libroadrunner", "copasi-basico"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    from metabnet.learn.device import gpu_name

    return {"cpu": cpu, "cores": os.cpu_count(), "numba_threads": numba.config.NUMBA_NUM_THREADS, "gpu": gpu_name(),
            "python": platform.python_version(), "versions": versions}


def _networks(cfg: GenConfig, count: int, seed: int, exists: bool = True):
    """`count` networks of `cfg` (with an equilibrium when `exists`), as Network objects."""
    out, shard = [], 0
    while len(out) < count and shard < 50:
        b = generate(cfg, max(count, 64), seed=seed, shard=shard)
        idx = np.flatnonzero(b["exists_unique"]) if exists else np.arange(len(b))
        out += [b.network(int(i), name=f"{cfg.family}-{shard}-{i}") for i in idx]
        shard += 1
    return out[:count]


# ---- gen ---------------------------------------------------------------------------------
def bench_gen(s: Settings) -> list[dict]:
    from metabnet.gen.dataset import Plan, run

    rows = []
    threads_all = numba.config.NUMBA_NUM_THREADS
    ref_rate = None
    try:
        from metabnet.bench import paper_reference

        k = s.count(4000, 300)
        t = time.perf_counter()
        paper_reference.generate(k, seed=0)
        ref_rate = k / (time.perf_counter() - t)
        rows.append({"pipeline": "paper-style Python + networkx", "family": "erdos", "size": "S",
                     "kinetics": Kinetics.LINEAR, "method": "direct", "threads": 1, "networks": k, "per_s": ref_rate})
    except ImportError:
        rows.append({"pipeline": "paper-style Python + networkx", "missing": 'networkx (pip install -e ".[bench]")'})
    plan = [("erdos", "S", Kinetics.LINEAR, "direct", t, 200_000, 20_000) for t in sorted({1, threads_all})]
    plan += [("erdos", "S", Kinetics.LINEAR, "ode", threads_all, 5_000, 500),
             ("erdos", "S", Kinetics.MM, "direct", threads_all, 50_000, 500),
             ("erdos", "S", Kinetics.MM, "ode", threads_all, 2_000, 200)]
    plan += [("erdos", size, Kinetics.LINEAR, "direct", threads_all, 50_000, 5_000) for size in ("M", "L")]
    plan += [(f, "S", Kinetics.LINEAR, "direct", threads_all, 50_000, 5_000) for f in FAMILIES if f != "erdos"]
    if not s.quick:
        plan += [(f, size, kin, "direct", threads_all, 20_000, 0) for f in FAMILIES for size in ("M", "L")
                 for kin in (Kinetics.LINEAR,) if f != "erdos"]
        plan += [(f, "S", Kinetics.MM, "direct", threads_all, 50_000, 0) for f in FAMILIES if f != "erdos"]
    tmp = Path(tempfile.mkdtemp(prefix="metabnet-bench-"))
    try:
        for i, (family, size, kin, method, threads, full, quick) in enumerate(plan):
            cfg = GenConfig(family=family, size=size, kinetics=kin, method=method,
                            intake_scale=0.05 if kin == Kinetics.MM else 1.0)
            count = s.count(full, quick)
            numba.set_num_threads(threads)
            generate(cfg, 16)  # compiled kernels loaded outside the timer
            t = time.perf_counter()
            summary = run(Plan(tmp / f"g{i}", cfg, count, seed=i), progress=False)
            rate = count / (time.perf_counter() - t)
            rows.append({"pipeline": "metabnet gen", "family": family, "size": size, "kinetics": kin, "method": method,
                         "threads": threads, "networks": count, "per_s": rate,
                         "share_unique": summary["share_unique"],
                         "vs_paper": rate / ref_rate if ref_rate else None})
            shutil.rmtree(tmp / f"g{i}", ignore_errors=True)
    finally:
        numba.set_num_threads(threads_all)
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


# ---- solve -------------------------------------------------------------------------------
BATCH_REPEATS = 5  # a batched call of 1,000 S networks takes ~20 ms: the best of 5 is quoted
SCALE_REPEATS = 3  # scale: the best of 3 calls (after a warm-up) per size


def best_of(fn, repeats: int, warm_up: bool = False):
    """(least seconds of `repeats` calls of fn, its last result); with `warm_up`, after one
    untimed call."""
    if warm_up:
        fn()
    best, out = math.inf, None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _time_each(fn, nets, loads=None):
    """Per-network seconds of fn(net) (fn(loaded, net) with `loads`), answers, and load seconds."""
    times, xs, load_times = [], [], []
    for k, net in enumerate(nets):
        arg = None
        if loads:
            t = time.perf_counter()
            arg = loads(net)
            load_times.append(time.perf_counter() - t)
        call = (lambda: fn(arg, net)) if loads else (lambda: fn(net))
        if k == 0:
            call()  # warm-up: compiled code, caches
        t = time.perf_counter()
        try:
            x = call()
        except Exception as e:  # noqa: BLE001 - a tool that fails is reported as failing, not fatal
            x = e
        times.append(time.perf_counter() - t)
        xs.append(x)
    return times, xs, load_times


HEAVY_MIN = 30  # networks at least for a slow tool (integrators, SBML simulators): a median and a spread


def same_network_ratio(tool_s, metabnet_s) -> dict:
    """A tool's time against metabnet's on the same networks (metabnet_s[i] is metabnet's
    time on the network of tool_s[i]): the ratio of the medians, and the quartiles of the
    per-network ratios as its spread."""
    t, b = np.asarray(tool_s, float), np.asarray(metabnet_s[:len(tool_s)], float)
    per = t / b
    return {"vs_metabnet": float(np.median(t) / np.median(b)),
            "ratio_q25": float(np.percentile(per, 25)), "ratio_q75": float(np.percentile(per, 75))}


def bench_solve(s: Settings) -> list[dict]:
    rows = []
    heavy = max(s.count(100, HEAVY_MIN), min(HEAVY_MIN, s.count(1000, 200)))  # for the slow tools
    for kin in (Kinetics.LINEAR, Kinetics.MM):
        nets = _networks(GenConfig(kinetics=kin, intake_scale=0.05 if kin == Kinetics.MM else 1.0),
                         s.count(1000, 200), seed=77)
        times, exact, _ = _time_each(lambda net: np.array(solve(net)["x"]), nets)
        tools = [("metabnet solve (direct)", lambda net: np.array(solve(net)["x"]), None, len(nets))]
        tools += [("metabnet solve --method ode", lambda net: np.array(solve(net, "ode")["x"]), None, len(nets))]
        if kin == Kinetics.LINEAR:
            tools += [("numpy.linalg.solve (dense LU)", ref.numpy_solve, None, len(nets)),
                      ("scipy spsolve (SuperLU)", ref.scipy_spsolve, None, len(nets))]
        else:  # the Newton-type comparator
            tools += [("scipy.optimize.root (hybr, analytic J, x0 = 0)", ref.scipy_root, None, len(nets))]
        tools += [("scipy solve_ivp LSODA", lambda net: ref.solve_ivp(net, "LSODA"), None, heavy),
                  ("scipy solve_ivp BDF", lambda net: ref.solve_ivp(net, "BDF"), None, heavy),
                  ("libRoadRunner steadyState", ref.roadrunner_steady_state, ref.roadrunner_load, heavy),
                  ("COPASI steady state (basico)", ref.copasi_steady_state, ref.copasi_load, heavy)]
        base = None  # metabnet's per-network times: every ratio is taken on the same networks
        for name, fn, loads, k in tools:
            try:
                if loads:
                    loads(nets[0])  # a missing package shows here
                t, xs, lt = _time_each(fn, nets[:k], loads)
            except ref.Missing as e:
                rows.append({"kinetics": kin, "tool": name, "missing": str(e)})
                continue
            ok = [not isinstance(x, Exception) and rel_l1(exact[i], x) < AGREE for i, x in enumerate(xs)]
            base = t if base is None else base
            rows.append({"kinetics": kin, "tool": name, "networks": len(t), "median_us": float(np.median(t)) * 1e6,
                         "q25_us": float(np.percentile(t, 25)) * 1e6, "q75_us": float(np.percentile(t, 75)) * 1e6,
                         "p99_us": float(np.percentile(t, 99)) * 1e6, "per_s": len(t) / sum(t),
                         "agree": int(sum(ok)), "load_ms": float(np.median(lt)) * 1e3 if lt else None,
                         "metabnet_median_us": float(np.median(base[:len(t)])) * 1e6,
                         **same_network_ratio(t, base)})
        if kin == Kinetics.LINEAR:  # batched: one call for all networks (numpy: stacked padded matrices)
            n_max = max(net.n for net in nets)
            mats = np.zeros((len(nets), n_max, n_max))
            rhs = np.zeros((len(nets), n_max))
            for i, net in enumerate(nets):
                LT, phi = ref.laplacian(net, sparse=False)
                mats[i] = np.eye(n_max)
                mats[i, :net.n, :net.n], rhs[i, :net.n] = LT, phi
            dt, xs = best_of(lambda: np.linalg.solve(mats, rhs[..., None])[..., 0], BATCH_REPEATS)
            ok = sum(rel_l1(exact[i], xs[i, :net.n]) < AGREE for i, net in enumerate(nets))
            rows.append({"kinetics": kin, "tool": "numpy.linalg.solve, batched (padded, matrices built outside)",
                         "networks": len(nets), "per_s": len(nets) / dt, "agree": int(ok), "batched": True})
            dt, b = best_of(lambda: generate(GenConfig(), len(nets), seed=78), BATCH_REPEATS)
            rows.append({"kinetics": kin, "tool": "metabnet kernels, batched (generation + labels + x, in memory)",
                         "networks": len(nets), "per_s": len(nets) / dt, "agree": None, "batched": True,
                         "note": f"{int(b['exists_unique'].sum())} with an equilibrium"})
    return rows


# ---- infer -------------------------------------------------------------------------------
def _models(s: Settings):
    """(name, model, checkpoint, trained) for the shipped model and every other architecture of
    metabnet.learn.archs.ARCHS at its default size (untrained unless checkpoints are shipped:
    speed only); an architecture that decodes token by token is timed on the existence task."""
    from metabnet.learn.archs import ARCHS
    from metabnet.learn.model import ModelConfig, build, init_weights
    from metabnet.learn.predict import load_model
    from metabnet.learn.shipped import model_path

    model, ckpt = load_model(model_path(s.model), s.device)
    out = [(f"{model.config.arch} (shipped)", model, ckpt, True)]
    for a in ARCHS.values():
        if a.name == model.config.arch:
            continue
        c = ModelConfig(arch=a.name, task="quali" if a.decodes else "quanti", d_model=a.default_width,
                        **({"n_enc": a.default_layers} if a.default_layers else {}))
        m = init_weights(build(c)).to(s.device).eval()
        out.append((f"{a.name} (untrained, speed only)", m, {"model_config": c.to_dict(), "weighted": True,
                                                           "data_mixture": [GenConfig().__dict__]}, False))
    return out


def bench_infer(s: Settings) -> list[dict]:
    from metabnet.batch import take
    from metabnet.learn.archs import ARCHS
    from metabnet.learn.device import compile_model
    from metabnet.learn.device import synchronize
    from metabnet.learn.evaluate import evaluate_predictions
    from metabnet.learn.predict import predict
    from metabnet.solve import networks_batch

    nets = _networks(GenConfig(), s.count(1024, 256), seed=91, exists=False)
    data = networks_batch(nets, family="erdos")
    t = time.perf_counter()
    for net in nets:
        solve(net)
    solver_rate = len(nets) / (time.perf_counter() - t)
    rows = [{"model": "exact solver (metabnet solve, one by one)", "per_s": solver_rate, "accuracy": 1.0}]
    for name, model, ckpt, trained in _models(s):
        arch = ARCHS[model.config.arch]
        slow = arch.decodes  # decodes token by token: an eighth of the networks
        single = max(2, s.count(100, 20) // (8 if slow else 1))
        part = take(data, np.arange(max(2, len(data) // (8 if slow else 1))))
        for compiled in ((False, True) if not s.quick else (False,)):
            m = model
            if compiled and arch.no_cpu_compile and s.device == "cpu":
                rows.append({"model": name, "compiled": True, "missing": f"not on CPU: {arch.no_cpu_compile}"})
                continue
            if compiled:
                try:
                    m = compile_model(model)
                except Exception as e:  # noqa: BLE001
                    rows.append({"model": name, "compiled": True, "missing": f"torch.compile: {e}"})
                    continue
            w = ckpt.get("weighted", True)
            try:
                predict(m, take(data, np.arange(4)), s.device, weighted=w)  # warm-up (and compile)
                lat = []
                for i in range(single):
                    one = take(data, np.array([i]))
                    synchronize(s.device)
                    t = time.perf_counter()
                    predict(m, one, s.device, weighted=w)
                    synchronize(s.device)
                    lat.append(time.perf_counter() - t)
                synchronize(s.device)
                t = time.perf_counter()
                rep, _, _ = evaluate_predictions(m, ckpt, part, s.device, batch_size=256)
                synchronize(s.device)
                dt = time.perf_counter() - t
            except Exception as e:  # noqa: BLE001 - e.g. no C compiler for torch.compile on CPU
                rows.append({"model": name, "compiled": compiled, "missing": str(e).splitlines()[0][:200]})
                continue
            o = rep["overall"]
            rows.append({"model": name, "compiled": compiled, "device": s.device, "p50_ms": float(np.median(lat)) * 1e3,
                         "p99_ms": float(np.percentile(lat, 99)) * 1e3, "per_s": o["count"] / dt,
                         "networks": o["count"], "accuracy": o["accuracy"] if trained else None,
                         "within_0.1": o.get("within_0.1") if trained else None, "vs_solver": o["count"] / dt / solver_rate})
    return rows


# ---- scale -------------------------------------------------------------------------------
def bench_scale(s: Settings) -> list[dict]:
    from metabnet.batch import take
    from metabnet.learn.archs import ARCHS
    from metabnet.learn.device import synchronize
    from metabnet.learn.predict import load_model, predict
    from metabnet.learn.shipped import model_path
    from metabnet.solve import networks_batch

    model, ckpt = load_model(model_path(s.model), s.device)
    sizes = [32, 100, 316, 1000] + ([] if s.quick else [3162, 10_000])
    rows = []
    for n in sizes:
        # an excretion per 8 nodes and half the networks with an equilibrium (with one excretion
        # edge, large random networks almost never have one, and then nothing is solved)
        cfg = GenConfig(size="custom", n_min=n, n_max=n, balance="ratio", excretion=max(1, n // 8),
                        intake=max(1, n // 32))
        k = max(2, int(s.count(64, 16) * min(1.0, 100 / n)))
        row = {"n": n, "networks": k}
        try:
            row["gen_s"] = best_of(lambda: generate(cfg, k, seed=5), SCALE_REPEATS, warm_up=True)[0] / k
        except Exception as e:  # noqa: BLE001 - a size the generator refuses
            row["gen_error"] = str(e).splitlines()[0][:200]
            rows.append(row)
            continue
        b = generate(cfg, k, seed=5)
        row["share_exists"] = float(b["exists_unique"].mean())  # networks without one need no solve
        nets = [b.network(i) for i in range(len(b))]
        try:
            row["solve_s"] = best_of(lambda: [solve(net) for net in nets], SCALE_REPEATS, warm_up=True)[0] / k
        except Exception as e:  # noqa: BLE001 - a size the solver refuses
            row["solve_error"] = str(e).splitlines()[0][:200]
        limit = ARCHS[model.config.arch].size_limit(model.config)
        if limit is None or n <= limit:
            data = networks_batch(nets)
            predict(model, take(data, np.arange(1)), s.device, batch_size=1)  # warm-up
            synchronize(s.device)
            t = time.perf_counter()
            predict(model, data, s.device, batch_size=1)
            synchronize(s.device)
            row["infer_s"] = (time.perf_counter() - t) / k
        else:
            row["infer_error"] = f"beyond the {model.config.arch} model's limit ({limit} nodes)"
        rows.append(row)
    return rows


def exponents(rows: list[dict]) -> dict:
    """Least-squares slope of log(seconds per network) against log(n), per cost."""
    out = {}
    for key in ("gen_s", "solve_s", "infer_s"):
        pts = [(r["n"], r[key]) for r in rows if r.get(key)]
        if len(pts) >= 2:
            x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
            out[key[:-2]] = float(np.polyfit(x, y, 1)[0])
    return out


BENCHES = dict(zip(SECTIONS, (bench_gen, bench_solve, bench_infer, bench_scale)))


def conditions() -> dict:
    """When, where and under what load a report was measured: UTC date, the git commit of the
    source (with "-dirty" when it has uncommitted changes; None outside a checkout), the host
    name and the 1-, 5- and 15-minute load averages (os.getloadavg)."""
    import datetime
    import subprocess

    here = Path(__file__).resolve().parent
    try:
        git = lambda *a: subprocess.run(["git", *a], cwd=here, capture_output=True, text=True,  # noqa: E731
                                        timeout=10, check=True).stdout.strip()
        commit = git("rev-parse", "HEAD") + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        commit = None
    return {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": commit, "host": platform.node(), "load_avg": [round(x, 2) for x in os.getloadavg()]}


def run(only: list[str], s: Settings, echo=print) -> dict:
    report = {"machine": machine(), "settings": s.__dict__, "conditions": conditions(), "sections": {}}
    for name in only:
        t = time.perf_counter()
        rows = BENCHES[name](s)
        report["sections"][name] = {"rows": rows, "seconds": time.perf_counter() - t}
        if name == "scale":
            report["sections"][name]["exponents"] = exponents(rows)
        echo(f"{name}: {len(rows)} rows in {time.perf_counter() - t:.0f} s")
    report["conditions"]["load_avg_after"] = [round(x, 2) for x in os.getloadavg()]
    return report


def _f(v, fmt="{:,.0f}"):
    return "–" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def _range(r: dict, lo: str, hi: str, fmt: str) -> str:
    return f"{fmt.format(r[lo])}–{fmt.format(r[hi])}" if r.get(lo) is not None else "–"


def _table(title: str, header: str, align: str, rows, cells, missing) -> list[str]:
    """Markdown lines of one section: its title, the header cells (" | "-separated), the
    alignment row, then per row `cells(r)` (a list of cells), or `missing(r)` (a whole line,
    when given) for a tool that was not there or failed."""
    lines = [title, f"| {header} |", "|" + "|".join("---:" if c == "r" else "---" for c in align) + "|"]
    for r in rows:
        lines.append(missing(r) if missing and "missing" in r else "| " + " | ".join(cells(r)) + " |")
    return lines


def markdown(rep: dict) -> str:
    m = rep["machine"]
    lines = [f"# metabnet bench{' --quick' if rep['settings']['quick'] else ''}\n",
             f"Machine: {m['cpu']}, {m['cores']} cores, Numba threads {m['numba_threads']}, GPU {m['gpu'] or 'none'}; "
             f"Python {m['python']}; " + ", ".join(f"{k} {v or 'missing'}" for k, v in m["versions"].items()) + "\n",
             _conditions_line(rep["conditions"]) + "\n"]
    sec = rep["sections"]
    if "gen" in sec:
        lines += _table(
            "## Generation (networks/s to HDF5, end to end)\n",
            "pipeline | family | size | kinetics | method | threads | networks | networks/s | × paper-style",
            "lllllrrrr", sec["gen"]["rows"],
            lambda r: [r["pipeline"], r["family"], r["size"], r["kinetics"], r["method"], str(r["threads"]),
                       f"{r['networks']:,}", _f(r["per_s"]), _f(r.get("vs_paper"), "{:,.1f}×")],
            lambda r: f"| {r['pipeline']} | missing: {r['missing']} |||||||| ")
    if "solve" in sec:
        lines += _table(
            "\n## Exact solving (networks with an equilibrium; agree: relative L1 to metabnet's x below 1e-6; "
            "time × metabnet: median over metabnet's median on the same networks, per-network quartiles)\n",
            "kinetics | tool | networks | median µs | IQR µs | p99 µs | networks/s | agree | model load ms "
            "| metabnet median µs (same networks) | time × metabnet | per-network ratio IQR",
            "llrrrrrrrrrr", sec["solve"]["rows"],
            lambda r: [r["kinetics"], r["tool"], f"{r['networks']:,}", _f(r.get("median_us"), "{:,.1f}"),
                       _range(r, "q25_us", "q75_us", "{:,.1f}"),
                       _f(r.get("p99_us"), "{:,.1f}"), _f(r["per_s"]),
                       f"{_f(r.get('agree'), '{:d}')}/{r['networks']}", _f(r.get("load_ms"), "{:,.1f}"),
                       _f(r.get("metabnet_median_us"), "{:,.1f}"), _f(r.get("vs_metabnet"), "{:,.2f}×"),
                       _range(r, "ratio_q25", "ratio_q75", "{:,.2f}")],
            lambda r: f"| {r['kinetics']} | {r['tool']} | missing: {r['missing']} ||||||||||")
    if "infer" in sec:
        acc = lambda r, k: _f(r.get(k), "{:.2%}")  # noqa: E731
        lines += _table(
            "\n## Model inference (erdos S, the same networks; accuracy reached in this run)\n",
            "model | compiled | p50 ms (1 network) | p99 ms | networks/s (batch 256) | accuracy | within 0.1 "
            "| × exact solver",
            "llrrrrrr", sec["infer"]["rows"],
            lambda r: [r["model"], str(r.get("compiled", "–")), _f(r.get("p50_ms"), "{:.2f}"),
                       _f(r.get("p99_ms"), "{:.2f}"), _f(r["per_s"]), acc(r, "accuracy"), acc(r, "within_0.1"),
                       _f(r.get("vs_solver"), "{:.3f}×")],
            lambda r: f"| {r['model']} | {r.get('compiled')} | failed: {r['missing']} ||||||")
    if "scale" in sec:
        cell = lambda r, k: (_f(r[k + "_s"] * 1e3, "{:,.3f}") if r.get(k + "_s")  # noqa: E731
                             else r.get(k + "_error", "–"))
        lines += _table(
            "\n## Scaling (seconds per network against inner nodes n; exponent of the log–log fit)\n",
            "n | networks | with equilibrium | generation ms | exact solve ms | model inference ms",
            "rrrrrr", sec["scale"]["rows"],
            lambda r: [f"{r['n']:,}", str(r["networks"]), _f(r.get("share_exists"), "{:.0%}"), cell(r, "gen"),
                       cell(r, "solve"), cell(r, "infer")],
            None)
        lines.append("\nFitted exponents: " + ", ".join(f"{k} n^{v:.2f}" for k, v in sec["scale"]["exponents"].items()))
    return "\n".join(lines) + "\n"


def _conditions_line(c: dict) -> str:
    load = ", ".join(f"{x:.2f}" for x in c["load_avg"])
    after = f"; after {', '.join(f'{x:.2f}' for x in c['load_avg_after'])}" if c.get("load_avg_after") else ""
    return (f"Measured {c['date']} on {c['host']}, commit {c['commit'] or 'unknown'}; "
            f"load average (1, 5, 15 min) before {load}{after}")


def plot_scale(rep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, ex = rep["sections"]["scale"]["rows"], rep["sections"]["scale"]["exponents"]
    fig, ax = plt.subplots(figsize=(6, 4.2))
    for key, label in (("gen", "generation + labels"), ("solve", "exact solve"), ("infer", "model")):
        pts = [(r["n"], r[key + "_s"]) for r in rows if r.get(key + "_s")]
        if pts:
            ax.loglog(*zip(*pts), "o-", label=f"{label} (n^{ex.get(key, float('nan')):.2f})")
    ax.set(xlabel="inner nodes n", ylabel="seconds per network", title="metabnet bench: scaling")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(rep: dict, out: Path) -> str:
    import json

    from metabnet.fileio import write_text

    out.mkdir(parents=True, exist_ok=True)
    md = markdown(rep)
    write_text(out / "bench.json", json.dumps(rep, indent=1, default=str) + "\n")
    write_text(out / "bench.md", md)
    if "scale" in rep["sections"]:
        plot_scale(rep, out / "scale.png")
    return md
