"""What :mod:`farrington` (``algo.farrington``) and :mod:`farrington_flexible` share, by module:

* :mod:`farrington_reference` — reference-week selection, by index (``t - freq*i + (-w..w)``) or,
  for dated series, by date as R ``surveillance`` does it, and the ``blocks()`` layout of
  ``farringtonFlexible``;
* :mod:`farrington_fit` — the stacked ("long") problem set, the quasi-Poisson fit with
  Anscombe-residual reweighting, the trend test and the 5-cases-in-4-weeks rule;
* :mod:`r_quantiles` — R-compatible discrete quantiles and upper tails (``qnbinom``, ``qpois``);
* here — the power transformations and the parameters read from R-named mappings.

References
----------
Farrington CP, Andrews NJ, Beale AD, Catchpole MA (1996). A statistical algorithm for the early
detection of outbreaks of infectious disease. J R Stat Soc A 159:547-563.
Noufaily A, Enki DG, Farrington P, Garthwaite P, Andrews N, Charlett A (2013). An improved
algorithm for outbreak detection in multiple surveillance systems. Stat Med 32:1206-1222.
Salmon M, Schumacher D, Hoehle M (2016). Monitoring count time series in R: aberration detection
in public health surveillance. J Stat Softw 70(10).
"""
from __future__ import annotations

from typing import Any, Collection, Mapping, TypeVar

import numpy as np

__all__ = ["EPS", "POWERS", "params_from_mapping"]

EPS = float(np.finfo(float).eps)
POWERS = {"2/3": 2.0 / 3.0, "1/2": 0.5, "none": 1.0}   # powertrans -> exponent

_P = TypeVar("_P")


def params_from_mapping(cls: type[_P], params: Mapping[str, Any], *, key: str,
                        ignored: Collection[str]) -> _P:
    """The params dataclass ``cls`` from R-named ``params``: a name that is neither a field nor in
    ``ignored`` raises ``ValueError("<key>.params.unknown: [...]")``; ``limit54`` becomes a float pair.
    Each algorithm then checks its own values."""
    known = set(cls.__dataclass_fields__)  # type: ignore[attr-defined]
    unknown = set(params) - known - set(ignored)
    if unknown:
        raise ValueError(f"{key}.params.unknown: {sorted(unknown)}")
    kw = {k: v for k, v in params.items() if k in known}
    if "limit54" in kw:
        kw["limit54"] = tuple(float(x) for x in kw["limit54"])
    return cls(**kw)
