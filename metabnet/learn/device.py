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


# Dense bf16 peaks (TFLOP/s, SXM parts, the vendors' datasheets) for model FLOP utilisation;
# matched against the GPU's name.  A device not listed has no MFU figure.
PEAK_BF16_TFLOPS = {"H100": 989.0, "H200": 989.0, "A100": 312.0}


def peak_flops(device: str) -> float | None:
    """The dense bf16 peak (FLOP/s) of `device` (a CUDA device: bf16 autocast), or None where
    unknown or not a GPU."""
    name = gpu_name() if str(device).startswith("cuda") else None
    return next((v * 1e12 for k, v in PEAK_BF16_TFLOPS.items() if k in name), None) if name else None
