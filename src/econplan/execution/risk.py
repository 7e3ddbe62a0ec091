"""What a shortfall puts at risk downstream, through the plan's own flows.

The nodes are (product, region) pairs of one plan year. A shortfall takes a fraction ``f`` of
a node's supply (production, shipments in and imports). The plan gives no rule for who goes
short, so every use of the node loses the same fraction (proportional rationing): each process
using it, each shipment out of the region. A process has fixed input coefficients (Leontief:
no substitution within the year), so it runs only as far as its scarcest input allows: it
loses the largest fraction lost of any of its inputs, and that fraction of each output. In
matrices, with ``S`` the supply of each node, ``Out[n, k]`` node n's output from
process-region k, ``Uses[n, k]`` 1 where k uses n, and ``Ship[n, n']`` the plan's shipments
of a product between regions::

    phi_k = max_n Uses[n, k] f_n
    f = f0 where the shortfall is, elsewhere diag(1/S) (Out phi + Ship' f)

``f0`` is the shortfall's own fraction, and its node stays there (the shortfall reported
already holds what its own inputs cost it). Each node's fraction is a supply-weighted mean of
its sources' (at most 1 where its whole supply is affected), so losses never grow beyond the
largest shortfall: through a cycle (coal for power, power for coal) they spread but do not
compound, as they would if the losses through several inputs were added. The least solution
is found by monotone iteration from ``f0`` (cut at 1), each step two sparse products, so the
cost is the plan's number of flows: 10^5 products take about a second.

The share of a target at risk is the production lost in the nodes it counts over what the plan
says it will be: ``lost_n = sum_k Out[n, k] phi_k`` with ``phi`` the processes'
fractions of activity lost, and the shortfall itself at its own node.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
import scipy.sparse as sp

from econplan.hierarchy import descendants
from econplan.model.economy import Economy
from econplan.plan import Plan


@dataclass(frozen=True)
class FlowGraph:
    """One year's plan as sparse flows between (product, region) nodes and processes."""

    nodes: pd.MultiIndex
    """(product, region), sorted."""
    supply: np.ndarray
    production: np.ndarray
    outputs: sp.csr_matrix
    """nodes x process-regions: what each process-region makes of each node."""
    uses: sp.csr_matrix
    """nodes x process-regions: 1 where the process-region takes the node in."""
    shipped: sp.csr_matrix
    """nodes x nodes: fraction of the origin node's supply shipped to the destination."""

    def propagate(self, start: np.ndarray, tol: float = 1e-10, rounds: int = 500) -> np.ndarray:
        """Fractions of each node's supply lost (nodes x shocks) from the fractions ``start``.

        Monotone iteration of ``f <- min(1, f0 + G f)`` from ``f0``: it rises to the least
        fixed point, so it stops when a round adds less than ``tol`` anywhere.
        """
        inverse = np.divide(1.0, self.supply, out=np.zeros_like(self.supply), where=self.supply > 0)
        lost = np.asarray(start, dtype=float)
        for _ in range(rounds):
            activity = self.activity_lost(lost)
            gained = self.outputs @ activity + self.shipped.T @ lost
            # the shortfall's own node stays at the shortfall: what was reported already
            # holds whatever its own inputs cost it
            following = np.where(start > 0, start, np.minimum(1.0, inverse[:, None] * gained))
            step = float(np.max(np.abs(following - lost))) if following.size else 0.0
            lost = following
            if step < tol:
                break
        return lost

    def activity_lost(self, lost: np.ndarray) -> np.ndarray:
        """Fraction of each process-region's activity lost (process-regions x shocks): that
        of its scarcest input, since fixed coefficients let it run only as far as that one
        allows (Leontief). All shocks at once: each process's inputs gathered from ``lost``
        and reduced by maximum over its row of the sparse uses."""
        taken = self.taken
        shocks = lost.shape[1]
        result = np.zeros((taken.shape[0], shocks))
        if taken.nnz == 0 or shocks == 0:
            return result
        gathered = lost[taken.indices, :]
        filled = np.flatnonzero(np.diff(taken.indptr) > 0)  # rows with at least one input
        result[filled] = np.maximum.reduceat(gathered, taken.indptr[filled], axis=0)
        return result

    @cached_property
    def taken(self) -> sp.csr_matrix:
        """Process-regions x nodes: the inputs of each process-region, row by row."""
        taken = sp.csr_matrix(self.uses.T)
        taken.sort_indices()
        return taken

    def production_lost(self, lost: np.ndarray, start_amount: np.ndarray) -> np.ndarray:
        """Production lost at each node (nodes x shocks): downstream processes' lost output,
        and at the source the shortfall itself, at most the node's production."""
        activity = self.activity_lost(lost)
        downstream = self.outputs @ activity
        lost = np.where(start_amount > 0, start_amount, downstream)
        return np.asarray(np.minimum(self.production[:, None], lost))


def flow_graph(economy: Economy, plan: Plan, year: int) -> FlowGraph:
    """The flows of ``plan`` in ``year``: activity times input and output coefficients, the
    plan's shipments and imports."""
    activity = plan.activity
    act = activity[(activity["year"] == year) & (activity["activity"] > 0)]
    act = act.sort_values(["process", "region"]).reset_index(drop=True)
    process = economy.process_ids.get_indexer(pd.Index(act["process"]))
    level = act["activity"].to_numpy(dtype=float)
    regions = pd.Index(sorted(economy.region_ids), dtype=object)
    products = economy.product_ids
    region_of = regions.get_indexer(pd.Index(act["region"]))

    def node_matrix(coefficients: sp.csr_matrix) -> sp.coo_matrix:
        coo = sp.coo_matrix(coefficients[:, process])
        return sp.coo_matrix(
            (
                coo.data * level[coo.col],
                (coo.row * len(regions) + region_of[coo.col], coo.col),
            ),
            shape=(len(products) * len(regions), len(act)),
        )

    made = node_matrix(economy.outputs(year)).tocsr()
    taken = node_matrix(economy.inputs(year)).tocsr()
    uses = sp.csr_matrix((np.ones(taken.nnz), taken.indices, taken.indptr), shape=taken.shape)
    uses.data[taken.data <= 0] = 0.0
    uses.eliminate_zeros()
    production = np.asarray(made.sum(axis=1)).ravel()
    size = len(products) * len(regions)

    def node(product: pd.Series, region: pd.Series) -> np.ndarray:
        return np.asarray(
            products.get_indexer(pd.Index(product)) * len(regions)
            + regions.get_indexer(pd.Index(region))
        )

    ship = plan.shipments
    ship = ship[(ship["year"] == year) & (ship["amount"] > 0)]
    origin = node(ship["product"], ship["origin"])
    destination = node(ship["product"], ship["destination"])
    amount = ship["amount"].to_numpy(dtype=float)
    trade = plan.trade
    trade = trade[(trade["year"] == year) & (trade["imports"] > 0)]
    imports = np.bincount(
        node(trade["product"], trade["region"]),
        weights=trade["imports"].to_numpy(dtype=float),
        minlength=size,
    )
    supply = production + imports + np.bincount(destination, weights=amount, minlength=size)
    from_supply = np.divide(
        amount, supply[origin], out=np.zeros_like(amount), where=supply[origin] > 0
    )
    shipped = sp.csr_matrix((from_supply, (origin, destination)), shape=(size, size))
    nodes = pd.MultiIndex.from_product([products, regions], names=["product", "region"])
    return FlowGraph(nodes, supply, production, made, uses, shipped)


@dataclass(frozen=True)
class Shortfall:
    """A product short by ``amount`` in a region (None: the nation, spread over the regions
    that make it in proportion to what they make)."""

    key: str
    product: str
    region: str | None
    amount: float


def at_risk(
    economy: Economy,
    plan: Plan,
    year: int,
    shortfalls: list[Shortfall],
    top: int = 10,
    graph: FlowGraph | None = None,
) -> pd.DataFrame:
    """Targets and products put at risk by each shortfall, ranked by the share at risk.

    One row per (shortfall, target) with a share above zero and per (shortfall, product,
    region) among the ``top`` products hit hardest: ``key, rank, kind, id, product, region,
    planned, at_risk, share``.
    """
    columns = ["key", "rank", "kind", "id", "product", "region", "planned", "at_risk", "share"]
    if not shortfalls:
        return pd.DataFrame(columns=columns)
    graph = graph or flow_graph(economy, plan, year)
    start, start_amount = _start(graph, shortfalls)
    lost = graph.propagate(start)
    lost_output = graph.production_lost(lost, start_amount)
    keys = np.array([s.key for s in shortfalls], dtype=object)
    frames = [
        _targets_hit(economy, plan, year, graph, lost_output, keys),
        _products_hit(graph, lost, keys, top),
    ]
    frame = pd.concat([f for f in frames if len(f)], ignore_index=True)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    frame = frame.sort_values(["key", "kind", "share", "id"], ascending=[True, False, False, True])
    frame["rank"] = frame.groupby(["key", "kind"]).cumcount() + 1
    return frame[columns].reset_index(drop=True)


def _start(graph: FlowGraph, shortfalls: list[Shortfall]) -> tuple[np.ndarray, np.ndarray]:
    """Starting fractions and amounts (nodes x shortfalls) of each shortfall."""
    products = graph.nodes.get_level_values("product")
    regions = graph.nodes.get_level_values("region")
    fraction = np.zeros((len(graph.nodes), len(shortfalls)))
    amount = np.zeros_like(fraction)
    for j, short in enumerate(shortfalls):
        where = products == short.product
        if short.region is not None:
            where &= regions == short.region
        made = np.where(where, graph.production, 0.0)
        total = made.sum()
        if total <= 0:
            continue
        amount[:, j] = made / total * short.amount
        fraction[:, j] = np.divide(
            amount[:, j], graph.supply, out=np.zeros(len(made)), where=graph.supply > 0
        )
    return np.minimum(fraction, 1.0), amount


def _targets_hit(
    economy: Economy,
    plan: Plan,
    year: int,
    graph: FlowGraph,
    lost_output: np.ndarray,
    keys: np.ndarray,
) -> pd.DataFrame:
    """Production targets of ``year`` (at least so much) and the share of each at risk."""
    targets = plan.targets
    targets = targets[
        (targets["year"] == year)
        & (targets["measure"] == "production")
        & (targets["sense"] == "at_least")
    ].reset_index(drop=True)
    if targets.empty:
        return pd.DataFrame()
    membership = target_members(economy, targets, graph.nodes)
    lost = np.asarray(membership @ lost_output)
    planned = targets["planned"].to_numpy(dtype=float)
    share = np.divide(lost, planned[:, None], out=np.zeros_like(lost), where=planned[:, None] > 0)
    t, j = np.nonzero(share > 1e-9)
    return pd.DataFrame(
        {
            "key": keys[j],
            "kind": "target",
            "id": targets["id"].to_numpy(dtype=object)[t],
            "product": targets["product"].to_numpy(dtype=object)[t],
            "region": targets["region"].to_numpy(dtype=object)[t],
            "planned": planned[t],
            "at_risk": lost[t, j],
            "share": np.minimum(share[t, j], 1.0),
        }
    )


def _products_hit(graph: FlowGraph, lost: np.ndarray, keys: np.ndarray, top: int) -> pd.DataFrame:
    """The ``top`` nodes with the largest fraction of supply lost, per shortfall."""
    frames = []
    for j in range(lost.shape[1]):
        hit = np.flatnonzero(lost[:, j] > 1e-9)
        order = hit[np.lexsort((hit, -lost[hit, j]))][:top]
        frames.append(
            pd.DataFrame(
                {
                    "key": keys[j],
                    "kind": "product",
                    "id": graph.nodes.get_level_values("product")[order].to_numpy(dtype=object),
                    "product": graph.nodes.get_level_values("product")[order].to_numpy(
                        dtype=object
                    ),
                    "region": graph.nodes.get_level_values("region")[order].to_numpy(dtype=object),
                    "planned": graph.supply[order],
                    "at_risk": lost[order, j] * graph.supply[order],
                    "share": lost[order, j],
                }
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def target_members(economy: Economy, targets: pd.DataFrame, nodes: pd.MultiIndex) -> sp.csr_matrix:
    """targets x nodes (product, region pairs): 1 where the node counts towards the target (its
    product, or a product of its sector or a sector below; its region or one below, or any
    region)."""
    products = economy.product_ids
    sectors = economy.tables["sectors"]
    below_sector = descendants(sectors["id"], sectors["parent"])
    regions = economy.tables["regions"]
    below_region = descendants(regions["id"], regions["parent"])
    node_regions = pd.Index(nodes.levels[1])
    # targets x products
    product_sector = pd.Series(
        np.arange(len(products)), index=economy.tables["products"]["sector"].to_numpy(dtype=object)
    )
    t_rows, p_cols = [], []
    for t, (product, sector) in enumerate(zip(targets["product"], targets["sector"], strict=True)):
        if isinstance(product, str):
            found = products.get_indexer(pd.Index([product]))
        else:
            wanted = below_sector.get(str(sector), ())
            found = product_sector[product_sector.index.isin(wanted)].to_numpy()
        t_rows.append(np.full(len(found), t))
        p_cols.append(found[found >= 0])
    by_product = _indicator(t_rows, p_cols, (len(targets), len(products)))
    # targets x regions
    t_rows, r_cols = [], []
    for t, region in enumerate(targets["region"]):
        if isinstance(region, str):
            found = node_regions.get_indexer(pd.Index(below_region.get(region, (region,))))
        else:
            found = np.arange(len(node_regions))
        t_rows.append(np.full(len(found), t))
        r_cols.append(found[found >= 0])
    by_region = _indicator(t_rows, r_cols, (len(targets), len(node_regions)))
    codes_product = products.get_indexer(nodes.get_level_values(0))
    codes_region = np.asarray(nodes.codes[1])
    return sp.csr_matrix(by_product[:, codes_product].multiply(by_region[:, codes_region]))


def _indicator(
    rows: list[np.ndarray], cols: list[np.ndarray], shape: tuple[int, int]
) -> sp.csr_matrix:
    row = np.concatenate([r[: len(c)] for r, c in zip(rows, cols, strict=True)] or [np.empty(0)])
    col = np.concatenate(cols or [np.empty(0)])
    return sp.csr_matrix((np.ones(len(col)), (row, col)), shape=shape)
