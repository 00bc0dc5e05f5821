"""The modified BG/NBD model (Batislam, Denizel & Filiztekin 2007).

Same story as the BG/NBD, except that a customer may also drop out right after the first
(time-0) purchase, so customers without repeat purchases are not certainly alive. With
``p ~ Beta(a, b)``, the probability of being active after ``x`` repeat purchases is
``E[(1-p)**(x+1)] = B(a, b+x+1)/B(a, b)`` and of dropping out after the last one
``E[p (1-p)**x] = B(a+1, b+x)/B(a, b)``; the likelihood is

``L = G(r+x) alpha**r / G(r) * [B(a, b+x+1)/B(a,b) (alpha+T)**-(r+x)
      + B(a+1, b+x)/B(a,b) (alpha+t_x)**-(r+x)]``  (Batislam et al. 2007, eq. 4).

The expectations follow as for the BG/NBD with ``E[(1-p)/p] = b/(a-1)``:
``E[X(t)] = b/(a-1) [1 - (alpha/(alpha+t))**r 2F1(r, b+1; a+b; t/(alpha+t))]`` and
``E[Y(t)|x,t_x,T] = (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))**(r+x)
2F1(r+x, b+x+1; a+b+x; t/(alpha+T+t))] P(alive)``, with
``P(alive) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))**(r+x))``.
"""

from __future__ import annotations

from typing import ClassVar

from guanxi.analytics.btyd.bgnbd import BetaGeoModel


class ModifiedBetaGeoModel(BetaGeoModel):
    """MBG/NBD: BG/NBD with a possible dropout at time 0. Parameters ``r, alpha, a, b``."""

    model_name: ClassVar[str] = "mbgnbd"
    _shift: ClassVar[int] = 1
