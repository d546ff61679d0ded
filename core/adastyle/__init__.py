"""AdaStyle: arbitrary style transfer (AdaIN) for GIMP, Krita and the browser."""
from __future__ import annotations

__version__ = "0.1.0"
__all__ = ["Stylizer", "__version__"]


def __getattr__(name: str):
    # Lazy so that `import adastyle` (e.g. for the client or the CLI's --help) does not import torch.
    if name == "Stylizer":
        from adastyle.engine import Stylizer

        return Stylizer
    raise AttributeError(name)
