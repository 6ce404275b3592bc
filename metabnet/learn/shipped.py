"""The model shipped inside the package (metabnet/learn/models/default.pt) and how `--model` picks one.

`--model` of score, knockout, eval and info takes a checkpoint of `metabnet train` (model.pt
or checkpoint.pt), `default` (the shipped model, the default), or - for score and knockout -
`solver` (the exact solver alone, no model).  The shipped checkpoint holds weights and configs
only (read with torch.load(weights_only=True)) plus a "shipped" record: the command that
trained it, the version, commit and machine (benchmarks/ship_model.py writes it)."""
from __future__ import annotations

from pathlib import Path

from metabnet.learn.archs import ARCHS

DEFAULT = Path(__file__).parent / "models" / "default.pt"


def model_path(spec: str | None) -> Path | None:
    """The checkpoint file `spec` names; None for `solver` (or None)."""
    if spec in (None, "solver"):
        return None
    path = DEFAULT if spec == "default" else Path(spec)
    if not path.is_file():
        what = "the shipped model is missing (reinstall metabnet)" if spec == "default" else "no such checkpoint"
        raise FileNotFoundError(f"{path}: {what}")
    return path


def describe(ckpt: dict, path: Path) -> str:
    """A few lines on what a checkpoint is and how it was trained."""
    c, state = ckpt["model_config"], ckpt.get("state", {})
    mix = ckpt.get("data_mixture") or [ckpt.get("data_config", {})]
    values = lambda key: ",".join(dict.fromkeys(str(m.get(key)) for m in mix))  # noqa: E731
    n_params = sum(v.numel() for v in ckpt["model"].values())
    lines = ["metabnet/learn/models/default.pt (the shipped default)" if Path(path) == DEFAULT else str(path),
             f"model: {c['arch']}, task {c['task']}, width {c['d_model']}, {n_params:,} parameters"
             + ARCHS[c["arch"]].describe(c),
             f"trained: {state.get('step', '?')} steps, {state.get('examples', 0):,} networks, "
             f"{state.get('elapsed', 0) / 60:.0f} min",
             f"data: families {values('family')}; sizes {values('size')}; kinetics {values('kinetics')}; "
             f"weights {values('weights')}"]
    shipped = ckpt.get("shipped")
    if shipped:
        lines += [f"version {shipped['version']}, commit {shipped['commit']}, {shipped['date']}",
                  f"machine: {shipped['machine']}", f"command: {shipped['command']}"]
        if shipped.get("kinetics"):
            lines.append(f"answers {' and '.join(shipped['kinetics'])} kinetics; score and knockout give "
                         f"the others to the exact solver")
    return "\n".join(lines)
