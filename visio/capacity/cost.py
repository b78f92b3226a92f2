"""The monthly cost of a stack's node pools, from the per-node prices of its `visio:capacity.prices`.

No price is assumed: a pool without a price is reported as unpriced, and so is the total.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.config.model import Prices


@dataclass(frozen=True)
class Cost:
    currency: str
    source: str
    per_pool: dict[str, float]  # pool -> monthly cost of its nodes
    unpriced: tuple[str, ...]  # pools sized but without a price

    @property
    def total(self) -> float | None:
        return None if self.unpriced else sum(self.per_pool.values())


def monthly(pools: dict[str, int], prices: Prices | None) -> Cost | None:
    if prices is None:
        return None
    per_pool = {pool: n * prices.monthlyPerNode[pool] for pool, n in pools.items() if pool in prices.monthlyPerNode}
    unpriced = tuple(pool for pool in pools if pool not in prices.monthlyPerNode)
    return Cost(prices.currency, prices.source, per_pool, unpriced)
