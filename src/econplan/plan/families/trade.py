"""Foreign trade: imports and exports of each product with a price, by region and year;
national caps on each; and foreign exchange, imports paid for by exports and the credit line,
each year."""

from __future__ import annotations

import numpy as np
import pandas as pd

from econplan.model.economy import Economy
from econplan.plan.families.assembly import Assembly, in_force
from econplan.plan.families.checking import Record
from econplan.plan.families.family import Constraint, Family


def trade_in_force(economy: Economy, year: int) -> pd.DataFrame:
    """Trade terms of ``year`` by product: a row for the year replaces the undated row."""
    terms = in_force(economy.tables["trade"], ["product"], year).set_index("product")
    return terms.sort_index()[["import_price", "export_price", "import_cap", "export_cap"]]


def assemble(a: Assembly) -> None:
    """Imports and exports by product, region and year; national caps; foreign exchange:
    imports paid for by exports and the credit line."""
    e = a.economy
    region_ids = e.region_ids.to_numpy(dtype=object)
    fx_rows = a.lp.add_rows(
        "foreign_exchange",
        a.labels(year=a.years),
        upper=e.settings.credit_line,
        unit=e.settings.foreign_currency,
    )
    a.import_columns = []
    for flow, price_column, cap_column, sign in (
        ("imports", "import_price", "import_cap", 1.0),
        ("exports", "export_price", "export_cap", -1.0),
    ):
        parts = []
        for ti, year in enumerate(a.years):
            terms = trade_in_force(e, int(year))
            terms = terms[terms[price_column].notna()]
            p = a.product_positions(terms.index)
            parts.append(
                (
                    ti,
                    np.repeat(p, a.R),
                    np.tile(np.arange(a.R), len(p)),
                    np.repeat(terms[price_column].to_numpy(dtype=float), a.R),
                    terms[cap_column].to_numpy(dtype=float),
                    p,
                )
            )
        labels = pd.concat(
            [
                a.labels(
                    product=e.product_ids.to_numpy(dtype=object)[p],
                    region=region_ids[r],
                    year=a.years[ti],
                )
                for ti, p, r, *_ in parts
            ]
        )
        block = a.lp.add_columns(flow, labels, unit="product unit")
        cap_labels, cap_upper, cap_entries = [], [], []
        offset = block.start
        for ti, p, r, price, caps, products in parts:
            cols = offset + np.arange(len(p))
            offset += len(p)
            a.lp.add(a.balance_row(p, r, ti), cols, sign)
            a.lp.add(np.full(len(p), fx_rows.start + ti), cols, sign * price)
            if flow == "imports":
                a.import_columns.append((cols, price))
            capped = np.flatnonzero(np.isfinite(caps))
            cap_labels.append(
                a.labels(
                    product=e.product_ids.to_numpy(dtype=object)[products[capped]],
                    year=a.years[ti],
                )
            )
            cap_upper.append(caps[capped])
            # the national cap sums the product's columns over regions
            which = np.full(len(products), -1)
            which[capped] = np.arange(len(capped))
            cap_entries.append((which[np.repeat(np.arange(len(products)), a.R)], cols))
        rows = a.lp.add_rows(
            f"{flow}_cap",
            pd.concat(cap_labels),
            upper=np.concatenate(cap_upper),
            unit="product unit",
        )
        offset = rows.start
        for which, cols in cap_entries:
            has = which >= 0
            a.lp.add(offset + which[has], cols[has], 1.0)
            offset += int(which.max() + 1) if has.any() else 0


def check(e: Economy, tables: dict[str, pd.DataFrame], record: Record) -> None:
    """Trade only in products with a price, within the caps; foreign exchange each year."""
    trade = tables["trade"]
    spending = []
    for year in e.years:
        terms = trade_in_force(e, year)
        here = trade[trade["year"] == year]
        total = here.groupby("product")[["imports", "exports"]].sum()
        for flow, price, cap in (
            ("imports", "import_price", "import_cap"),
            ("exports", "export_price", "export_cap"),
        ):
            amount = total[flow]
            amount = amount[amount > 0]
            cap_values = terms[cap].reindex(amount.index)
            priced = terms[price].reindex(amount.index)
            record(
                f"{flow} allowed",
                amount.where(priced.isna(), 0.0),
                amount,
                pd.Series(amount.index + f" {year}", index=amount.index),
            )
            capped = cap_values.notna()
            record(
                f"{flow} cap",
                (amount - cap_values)[capped],
                cap_values[capped],
                pd.Series(amount.index + f" {year}", index=amount.index)[capped],
            )
        paid = float(
            (total["imports"] * terms["import_price"].reindex(total.index).fillna(0.0)).sum()
        )
        earned = float(
            (total["exports"] * terms["export_price"].reindex(total.index).fillna(0.0)).sum()
        )
        spending.append(
            (
                year,
                paid - earned - e.settings.credit_line,
                max(paid, earned, e.settings.credit_line),
            )
        )
    fx = pd.DataFrame(spending, columns=["year", "excess", "size"])
    record("foreign exchange", fx["excess"], fx["size"], fx["year"].astype(str))


FAMILY = Family(
    "trade",
    (
        Constraint(
            "imports_cap",
            ("product", "year"),
            "one more unit allowed in by the import cap",
            "product unit",
            limit=True,
            ranged=True,
            checks=("imports cap", "imports allowed"),
        ),
        Constraint(
            "exports_cap",
            ("product", "year"),
            "one more unit allowed out by the export cap",
            "product unit",
            limit=True,
            ranged=True,
            checks=("exports cap", "exports allowed"),
        ),
        Constraint(
            "foreign_exchange",
            ("year",),
            "one more unit of foreign currency in the year",
            "foreign currency",
            limit=True,
            ranged=True,
            checks=("foreign exchange",),
        ),
    ),
    assemble,
    check,
    needs=("balance",),
    gives=(
        "imports",
        "exports",
        "imports_cap",
        "exports_cap",
        "foreign_exchange",
        "import_columns",
    ),
)
