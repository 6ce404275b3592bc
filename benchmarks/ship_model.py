"""Make a trained run the model shipped inside the package (metabnet/learn/models/default.pt).

    python benchmarks/ship_model.py runs/default/model.pt --command "bash benchmarks/train_default.sh"

Keeps weights and configs only (what `metabnet train` writes to model.pt, loadable with
torch.load(weights_only=True)) and adds a "shipped" record: the command, metabnet's version,
the git commit, the date and the machine it was trained on.  --iters-extra changes how many
iterations the flux model's tied step runs at inference (the weights stay as trained);
--kinetics limits what score and knockout let it answer (the rest goes to the exact solver)."""
import argparse
import datetime
import os
import platform
import subprocess
from pathlib import Path

import torch

import metabnet
from metabnet.bench.suite import cpu_name
from metabnet.fileio import atomic_write
from metabnet.learn.shipped import DEFAULT


def machine() -> str:
    return f"{cpu_name()}, {os.cpu_count()} cores, {platform.system()}, Python {platform.python_version()}, torch {torch.__version__}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", type=Path, help="model.pt of a `metabnet train` run")
    ap.add_argument("--command", required=True, help="the command that trained it")
    ap.add_argument("--iters-extra", type=int, help="flux: inference iterations n + this")
    ap.add_argument("--iters-max", type=int, help="flux: at most this many iterations (the size limit)")
    ap.add_argument("--kinetics", help="comma-separated: the kinetics `score` and `knockout` let the model "
                    "answer (others go to the exact solver; default: all it was trained on)")
    ap.add_argument("--out", type=Path, default=DEFAULT)
    a = ap.parse_args()
    ckpt = torch.load(a.model, map_location="cpu", weights_only=True)
    ckpt["model"] = {k: v.float().contiguous() for k, v in ckpt["model"].items()}
    trained_iters = ckpt["model_config"].get("iters_extra")
    for key in ("iters_extra", "iters_max"):
        if getattr(a, key) is not None:
            ckpt["model_config"][key] = getattr(a, key)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    ckpt["shipped"] = {"version": metabnet.__version__, "commit": commit or "unknown",
                       "date": datetime.date.today().isoformat(), "machine": machine(), "command": a.command,
                       "trained_iters_extra": trained_iters}
    if a.kinetics:
        ckpt["shipped"]["kinetics"] = a.kinetics.split(",")
    with atomic_write(a.out, "wb") as f:  # never a half-written checkpoint under the final name
        torch.save(ckpt, f)
    print(f"{a.out}: {a.out.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
