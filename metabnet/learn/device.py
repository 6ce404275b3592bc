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
