"""metabnet: labelled metabolic networks and a Transformer that predicts their equilibria.

The notebook API (metabnet.score.api) is here too: read_networks, solve_networks,
score_networks, knockouts, to_frame, concentrations, plot_knockouts.  They are imported on
first use (PEP 562), so `import metabnet` stays light: no numba, torch, h5py or scipy."""
from metabnet.network import Network, NetworkError

__version__ = "0.1.0"
API = ("read_networks", "solve_networks", "score_networks", "knockouts", "to_frame", "concentrations",
       "plot_knockouts")
__all__ = ["Network", "NetworkError", "__version__", *API]


def __getattr__(name: str):
    if name in API:
        from metabnet.score import api

        return getattr(api, name)
    raise AttributeError(f"module 'metabnet' has no attribute {name!r}")


def __dir__():
    return sorted({*globals(), *API})
