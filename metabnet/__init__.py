"""metabnet: labelled metabolic networks and a Transformer that predicts their equilibria."""
from metabnet.network import Network, NetworkError

__version__ = "0.1.0"
__all__ = ["Network", "NetworkError", "__version__"]
