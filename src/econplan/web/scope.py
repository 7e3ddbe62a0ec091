"""What a scoped user (a regional planner, an enterprise) may see of an economy: the facilities
and regions within its scope, and frames cut down to them. The rule itself is
:meth:`econplan.execution.access.User.require_facilities`; this applies it to whole tables."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from econplan.execution.access import READ, User
from econplan.model.economy import Economy


def region_chains(economy: Economy) -> dict[str, frozenset[str]]:
    """Each region and every region containing it."""
    regions = economy.tables["regions"]
    parent = dict(zip(regions["id"].astype(str), regions["parent"], strict=True))
    chains: dict[str, frozenset[str]] = {}
    for region in parent:
        chain: list[str] = []
        at: object = region
        while isinstance(at, str) and at not in chain:
            chain.append(at)
            at = parent.get(at)
        chains[region] = frozenset(chain)
    return chains


def facility_regions(economy: Economy) -> dict[str, frozenset[str]]:
    """Each facility's region and every region containing it (the map the store's access
    rule takes)."""
    chains = region_chains(economy)
    facilities = economy.tables["facilities"]
    return {
        str(f): chains.get(str(r), frozenset({str(r)}))
        for f, r in zip(facilities["id"], facilities["region"], strict=True)
    }


@dataclass(frozen=True)
class Scope:
    """A user's view of one economy."""

    user: User
    economy: Economy

    @property
    def whole(self) -> bool:
        return self.user.unscoped_for(READ)

    @cached_property
    def facilities(self) -> frozenset[str]:
        """The facilities the user may see (every one for an unscoped user)."""
        regions = facility_regions(self.economy)
        if self.whole:
            return frozenset(regions)
        return frozenset(
            f
            for f, chain in regions.items()
            if f in self.user.facilities or chain & self.user.regions
        )

    @cached_property
    def regions(self) -> frozenset[str]:
        """The regions the user may see: its own and those inside them."""
        chains = region_chains(self.economy)
        if self.whole:
            return frozenset(chains)
        return frozenset(r for r, chain in chains.items() if chain & self.user.regions)

    def sees_facility(self, facility: str) -> bool:
        return self.whole or facility in self.facilities

    def sees_region(self, region: str) -> bool:
        return self.whole or region in self.regions

    def rows(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The rows of a frame with a ``facility`` column (or a monitoring frame, with
        ``level`` and ``id``) that the user may see."""
        if self.whole or frame.empty:
            return frame
        if "level" in frame.columns and "id" in frame.columns:
            key = "series" if "series" in frame.columns else "id"
            level = frame["level"]
            keep = ((level == "facility") & frame[key].isin(self.facilities)) | (
                (level == "region") & frame[key].isin(self.regions)
            )
            return frame[keep]
        return frame[frame["facility"].isin(self.facilities)]
