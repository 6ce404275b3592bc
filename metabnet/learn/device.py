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
    """The first GPU's name; None without one (or without torch)."""
    try:
        import torch
    except ImportError:
        return None
    return torch.cuda.get_device_name(0) if torch.cuda.is_available() else None


def synchronize(device: str) -> None:
    """Wait for the GPU's queued work (for timers); nothing on the CPU."""
    if device == "cuda":
        import torch

        torch.cuda.synchronize()


def compile_model(model):
    """torch.compile(model)."""
    import torch

    return torch.compile(model)
