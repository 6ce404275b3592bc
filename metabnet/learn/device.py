"""Which torch device a `--device` value means, without importing torch for the exact solver's
commands: `score --model solver` and `knockout --model solver` run where torch is not installed."""


def resolve_device(device: str) -> str:
    """"auto" -> "cuda" when a GPU is visible, else "cpu" (also when torch is missing); any
    other name as given."""
    if device != "auto":
        return device
    try:
        import torch
    except ImportError:
        return "cpu"
    return "cuda" if torch.cuda.is_available() else "cpu"


def gpu_name() -> str | None:
    """The visible GPU's name, or None (no GPU, or no torch)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def synchronize(device: str) -> None:
    """Wait for the device's queued work (around a timer); nothing to wait for on the CPU."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def compile_model(model):
    """torch.compile(model); inductor's compile workers read text files, hence UTF-8 mode."""
    import os

    import torch

    os.environ.setdefault("PYTHONUTF8", "1")
    return torch.compile(model)
