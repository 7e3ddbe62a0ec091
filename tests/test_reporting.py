"""Figures and the plan report on the built-in plan, stored, approved and carried out for
seven months of simulated reports: each figure's identities against the library's own
numbers (balance, control figures, monitoring, the plan's tables), its CSV read back, the
report's HTML and workbook read back, and the command's refusals."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from econplan.cli import main
from econplan.execution.breakdown import control_figures
from econplan.execution.monitor import monitor
from econplan.execution.store import Store
from econplan.reporting import figures
from econplan.reporting.plan_report import PROVENANCE, SECTIONS, build_report, sheet_names

AS_OF = "2021-07"


@pytest.fixture(scope="module")
def stored(builtin_plan_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store holding the built-in plan as version 1, approved, with reports to AS_OF."""
    folder = tmp_path_factory.mktemp("reporting")
    url = str(folder / "econplan.db")
    runner = CliRunner()

    def run(*args: str, user: str = "") -> str:
        result = runner.invoke(main, list(args), env={"ECONPLAN_DB": url, "ECONPLAN_USER": user})
        assert result.exit_code == 0, result.output
        return result.output

    run("store", "init", user="ana")
    run("user", "add", "boris", "--role", "planner", user="ana")
    run("user", "add", "vera", "--role", "approver", user="ana")
    run("user", "add", "mill", "--role", "enterprise", "--facility", "sunchon_cement_mill",
        user="ana")  # fmt: skip
    run("store", "add", str(builtin_plan_dir), "--name", "five-year plan", user="boris")
    run("store", "submit", "1", user="boris")
    run("store", "approve", "1", user="vera")
    reports = folder / "reports.csv"
    run("report", "simulate", "1", "--until", AS_OF, "--seed", "3", "--out", str(reports))
    run("report", "import", str(reports), user="boris")
    with Store(url) as store:
        version = store.version(1)
        economy = store.economy(version.economy)
        plan = store.plan(1)
        frame = store.reports(version.economy, until=AS_OF)
    return {
        "url": url,
        "folder": folder,
        "version": version,
        "economy": economy,
        "plan": plan,
        "reports": frame,
        "balance": figures.plan_balance(plan, economy),
    }


def close(a: float, b: float, rel: float = 1e-9) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b), 1.0)


def roundtrip(figure: figures.Figure) -> None:
    """The CSV holds exactly the figure's numbers; the div holds the figure, not plotly.js."""
    back = figures.read_csv(figure.csv())
    expected = figure.data.reset_index(drop=True)
    assert list(back.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(back, expected, check_dtype=False, check_exact=True)
    div = figure.html_div()
    assert f'id="figure-{figure.key}"' in div and len(div) < 2_000_000
    assert "plotly.js v" not in div  # the page loads plotly.js once, not every figure
    assert figure.key and figure.key == figure.key.lower() and " " not in figure.key


@pytest.mark.parametrize(("product", "year", "region"), [
    ("cement", 2023, None), ("electricity", 2023, "pyongyang"), ("electricity", 2021, None),
    ("rolled_steel", 2025, "south_hamgyong"),
])  # fmt: skip
def test_sankey_sums_to_the_material_balance(
    stored: dict[str, Any], product: str, year: int, region: str | None
) -> None:
    economy, plan, balance = stored["economy"], stored["plan"], stored["balance"]
    figure = figures.product_sankey(plan, economy, product, year, region, balance=balance)
    roundtrip(figure)
    data = figure.data
    totals = balance.national() if region is None else balance.regional()
    row = totals[(totals["product"] == product) & (totals["year"] == year)]
    if region is not None:
        row = row[row["region"] == region]
    sources, uses = float(row["sources"].iloc[0]), float(row["uses"].iloc[0])
    drawn = data.groupby("flow")["amount"].sum()
    source_sum = float(data.loc[data["side"] == "source", "amount"].sum())
    use_sum = float(data.loc[data["side"] == "use", "amount"].sum())
    # the two sides of the diagram are equal, and each is the balance's side
    assert close(source_sum, use_sum)
    assert close(source_sum - drawn.get("shortfall", 0.0), sources)
    assert close(use_sum - drawn.get("surplus", 0.0), uses)
    assert (data["amount"] > 0).all() and (
        data["unit"] == economy.products.at[product, "unit"]
    ).all()
    if region is None:  # the nation's balance has no shipments between its regions
        assert not data["flow"].isin(["shipments_in", "shipments_out"]).any()
    # every node is named whole: a process id appears as it is
    entries = balance.entries
    made = entries[(entries["product"] == product) & (entries["year"] == year)
                   & (entries["flow"] == "production")]  # fmt: skip
    if region is not None:
        made = made[made["region"] == region]
    shown = " ".join(data["node"]) + " " + " ".join(data["members"].dropna())
    assert all(str(p) in shown for p in made["detail"].unique())


def test_product_balance_is_the_balance_by_flow(stored: dict[str, Any]) -> None:
    economy, plan, balance = stored["economy"], stored["plan"], stored["balance"]
    figure = figures.product_balance(plan, economy, "cement", "kangwon", balance=balance)
    roundtrip(figure)
    expected = balance.by_flow(("product", "region", "year")).loc[("cement", "kangwon")]
    for (year, flow), amount in figure.data.set_index(["year", "flow"])["amount"].items():
        assert close(amount, float(expected.at[year, flow]))
    assert set(figure.data["unit"]) == {"t"}
    assert "t a year" in figure.figure.layout.yaxis.title.text
    with pytest.raises(figures.FigureError, match=r"no product 'Cement'.*\(did you mean cement"):
        figures.product_balance(plan, economy, "Cement", balance=balance)
    with pytest.raises(figures.FigureError, match="no region 'atlantis'"):
        figures.product_sankey(plan, economy, "cement", 2023, "atlantis", balance=balance)
    with pytest.raises(figures.FigureError, match="year 2030 is not in the plan"):
        figures.product_sankey(plan, economy, "cement", 2030, balance=balance)


def test_targets_planned_reported_and_forecast(stored: dict[str, Any]) -> None:
    economy, plan, reports = stored["economy"], stored["plan"], stored["reports"]
    whole = figures.targets(plan, economy)
    roundtrip(whole)
    table = plan.tables["targets"]
    assert list(whole.data["target"]) == list(table["id"])
    assert np.array_equal(whole.data["planned"].to_numpy(), table["planned"].to_numpy())
    assert np.array_equal(whole.data["required"].to_numpy(), table["required"].to_numpy())
    now = figures.targets(plan, economy, reports, AS_OF)
    roundtrip(now)
    assert set(now.data["year"]) == {2021}
    # cement's national target: reported to date and forecast are monitoring's, for cement
    control = control_figures(economy, plan).figures
    status = monitor(control, reports, AS_OF, economy, plan).status
    cement = status[(status["level"] == "product") & (status["id"] == "cement")].iloc[0]
    row = now.data.set_index("target").loc["cement_2021"]
    assert close(row["reported"], cement["actual_to_date"])
    assert close(row["forecast"], cement["forecast"])
    assert row["forecast_low"] < row["forecast"] < row["forecast_high"]
    # the sector target counts every coal product
    coal = status[(status["level"] == "product") & status["id"].isin(
        economy.products.index[economy.products["sector"] == "coal"])]  # fmt: skip
    assert close(now.data.set_index("target").at["coal_2021", "reported"],
                 float(coal["actual_to_date"].sum()))  # fmt: skip
    imports = now.data[now.data["measure"] == "imports"]
    assert imports["reported"].isna().all()  # reports say what was made, not imported


def test_trajectory_months_add_up_to_the_control_figure(stored: dict[str, Any]) -> None:
    economy, plan, reports = stored["economy"], stored["plan"], stored["reports"]
    figure = figures.trajectory(plan, economy, reports, AS_OF, facility="sunchon_cement_mill")
    roundtrip(figure)
    data = figure.data
    control = control_figures(economy, plan).figures
    year = control[(control["facility"] == "sunchon_cement_mill") & (control["year"] == 2021)
                   & (control["kind"] == "output") & (control["product"] == "cement")]  # fmt: skip
    assert len(data) == 12 and set(data["unit"]) == {"t"}
    assert close(float(data["plan"].sum()), float(year["amount"].sum()), 1e-12)
    status = monitor(control, reports, AS_OF, economy, plan).status
    mill = status[(status["level"] == "facility") & (status["id"] == "sunchon_cement_mill")].iloc[0]
    december, july = data.iloc[-1], data.iloc[6]
    assert close(december["forecast_cumulative"], mill["forecast"], 1e-12)
    assert close(december["forecast_high"], mill["forecast_high"], 1e-12)
    assert close(july["actual_cumulative"], mill["actual_to_date"], 1e-12)
    assert (
        data["actual"].iloc[7:].isna().all() and data["forecast_cumulative"].iloc[:6].isna().all()
    )
    band = data.iloc[7:]
    assert (band["forecast_low"] < band["forecast_cumulative"]).all()
    assert (np.diff(band["forecast_high"] - band["forecast_low"]) > 0).all()  # widens ahead
    nation = figures.trajectory(plan, economy, reports, AS_OF)
    roundtrip(nation)
    assert close(float(nation.data["plan"].sum()), 1.0, 1e-9)  # shares of the year's plan
    product = figures.trajectory(
        plan, economy, reports, AS_OF, product="cement", region="south_pyongan"
    )
    assert set(product.data["level"]) == {"region"}
    with pytest.raises(figures.FigureError, match="name one with product"):
        figures.trajectory(plan, economy, reports, AS_OF, region="south_pyongan")
    with pytest.raises(figures.FigureError, match="not a month"):
        figures.trajectory(plan, economy, reports, "2021-13", facility="sunchon_cement_mill")


def test_fulfilment_of_an_enterprise(stored: dict[str, Any]) -> None:
    economy, plan, reports = stored["economy"], stored["plan"], stored["reports"]
    figure = figures.fulfilment(plan, economy, reports, AS_OF, "sunchon_cement_mill")
    roundtrip(figure)
    data = figure.data.set_index(["kind", "product"])
    control = control_figures(economy, plan).figures
    status = monitor(control, reports, AS_OF, economy, plan).status
    mill = status[(status["level"] == "facility") & (status["id"] == "sunchon_cement_mill")].iloc[0]
    assert close(data.at[("output", "cement"), "fulfilment"], mill["fulfilment"], 1e-12)
    assert close(data.at[("output", "cement"), "forecast"], mill["forecast"], 1e-12)
    ours = reports[(reports["facility"] == "sunchon_cement_mill") & (reports["kind"] == "input")]
    clinker = ours.loc[ours["product"] == "clinker", "amount"].sum()
    assert close(data.at[("input", "clinker"), "actual_to_date"], clinker, 1e-12)
    assert data.at[("labour", "labour"), "unit"] == economy.products.at["labour", "unit"]
    with pytest.raises(figures.FigureError, match="no facility 'nowhere'"):
        figures.fulfilment(plan, economy, reports, AS_OF, "nowhere")


def test_control_figures_by_month_are_the_enterprises(stored: dict[str, Any]) -> None:
    economy, plan = stored["economy"], stored["plan"]
    control = control_figures(economy, plan).figures
    figure = figures.control_by_month(plan, economy, "sunchon_cement_mill", 2022)
    roundtrip(figure)
    data = figure.data
    own = control[(control["facility"] == "sunchon_cement_mill") & (control["year"] == 2022)]
    assert len(data) == len(own) and set(data["month"]) == {f"2022-{m:02d}" for m in range(1, 13)}
    assert close(data["amount"].sum(), own["amount"].sum())
    assert list(dict.fromkeys(data["kind"])) == ["output", "input", "labour"]
    cement = data[data["product"] == "cement"]
    assert set(cement["unit"]) == {economy.tables["products"].set_index("id").at["cement", "unit"]}
    for facility, year in (("no_such_mill", 2022), ("sunchon_cement_mill", 1999)):
        with pytest.raises(figures.FigureError, match=str(year) if year < 2000 else facility):
            figures.control_by_month(plan, economy, facility, year)


def test_figures_drawn_from_kept_control_figures_and_monitoring_are_the_same(
    stored: dict[str, Any],
) -> None:
    """A server keeps the control figures and the monitoring; what it draws from them is what
    the figure computes itself."""
    economy, plan, reports = stored["economy"], stored["plan"], stored["reports"]
    control = control_figures(economy, plan).figures
    found = monitor(control, reports, AS_OF, economy, plan)
    kept = {"control": control, "monitoring": found}
    for draw in (
        lambda **k: figures.targets(plan, economy, reports, AS_OF, **k),
        lambda **k: figures.trajectory(plan, economy, reports, AS_OF, product="cement", **k),
        lambda **k: figures.fulfilment(plan, economy, reports, AS_OF, "sunchon_cement_mill", **k),
    ):
        assert draw(**kept).csv() == draw().csv()
    with pytest.raises(figures.FigureError, match="as of"):
        figures.targets(plan, economy, reports, "2021-06", monitoring=found)


def test_consumption_valuations_and_bottlenecks(stored: dict[str, Any]) -> None:
    economy, plan = stored["economy"], stored["plan"]
    consumption = figures.consumption_per_head(plan, economy)
    roundtrip(consumption)
    levels = plan.tables["consumption_level"]
    assert len(consumption.data) == len(levels)
    assert close(consumption.data["level"].min(), plan.info["objectives"]["consumption"], 1e-5)
    valuations = figures.product_valuations(plan, economy, "cement")
    roundtrip(valuations)
    table = plan.tables["valuations"]
    cement = table[(table["item"] == "cement") & (table["constraint"] == "balance")]
    for stage, rows in valuations.data.groupby("stage"):
        expected = cement[cement["stage"] == stage]
        assert np.array_equal(rows["valuation"].to_numpy(), expected["valuation"].to_numpy())
        assert rows["unit"].str.endswith(" per t").all()
    assert set(valuations.data["stage"]) == set(cement.loc[cement["valuation"] > 0, "stage"])
    ranked = figures.bottlenecks(plan, economy, top=5)
    roundtrip(ranked)
    assert (ranked.data.groupby("stage")["rank"].max() <= 5).all()
    stored_ranks = plan.tables["bottlenecks"]
    first = ranked.data[ranked.data["stage"] == ranked.data["stage"].iloc[0]]
    expected = stored_ranks[stored_ranks["stage"] == first["stage"].iloc[0]]
    expected = expected.sort_values("rank").head(len(first))
    assert list(first["item"]) == list(expected["item"])
    assert np.array_equal(first["valuation"].to_numpy(), expected["valuation"].to_numpy())
    assert (ranked.data["valuation"] > 0).all() and ranked.data["unit"].str.contains(" per ").all()
    # a limit of no one year (stored as year 0) shows no year, not a year 0
    whole = figures.bottlenecks(plan, economy, top=500)
    assert not (whole.data["year"] == 0).any()
    assert whole.data["year"].isna().sum() == (plan.tables["bottlenecks"]["year"] == 0).sum()


class Sections(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.scripts = 0
        self.sheets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "section":
            self.ids.append(str(found.get("id")))
        if tag == "table" and found.get("data-sheet"):
            self.sheets.append(str(found["data-sheet"]))


def test_the_plan_report(stored: dict[str, Any]) -> None:
    from openpyxl import load_workbook

    url, folder, version = stored["url"], stored["folder"], stored["version"]
    page, book_file = folder / "report.html", folder / "report.xlsx"
    result = CliRunner().invoke(
        main,
        [
            "report-plan",
            "1",
            "--html",
            str(page),
            "--xlsx",
            str(book_file),
            "--db",
            url,
            "--user",
            "vera",
        ],
    )
    assert result.exit_code == 0, result.output
    text = page.read_text(encoding="utf-8")
    parsed = Sections()
    parsed.feed(text)
    assert parsed.ids == [PROVENANCE, *SECTIONS]
    assert text.count("plotly.js v") == 1  # inlined once; nothing fetched from the network
    assert '<script src="http' not in text
    assert version.plan in text and version.economy in text  # hashes whole
    with Store(url) as store:
        report = build_report(store, 1)
    book = load_workbook(book_file)
    assert book.sheetnames == [*sheet_names(report), PROVENANCE]
    assert parsed.sheets == [t.key for t in report.tables()]
    facts = {row[0].value: row[1].value for row in book[PROVENANCE].iter_rows(min_row=2)}
    plan = stored["plan"]
    assert facts["economy hash"] == version.economy and facts["plan hash"] == version.plan
    assert facts["version"] == 1 and facts["plan line"] == "five-year plan"
    assert facts["state"] == "approved"
    assert (facts["approved by"], facts["approved at"]) == ("vera", version.decided_at)
    assert facts["solver"] == f"HiGHS {plan.info['solver']['version']}"
    assert facts["solver method"] == plan.info["solver"]["method"]
    assert facts["solver tolerance"] == plan.info["solver"]["tolerance"]
    assert facts["verification"] == "valid"
    # openpyxl writes floats to 16 significant digits (the 17th is lost)
    assert facts["largest violation"] == pytest.approx(
        plan.info["verification"]["max_violation"], rel=1e-15
    )
    targets = book["targets"]
    assert targets.freeze_panes == "A2"
    header = [c.value for c in targets[1]]
    assert "fulfilment (share)" in header and "unit" in header
    planned = header.index("planned")
    values = [row[planned].value for row in targets.iter_rows(min_row=2)]
    # numbers, as numbers (Excel keeps 15-16 digits)
    assert values == pytest.approx(list(plan.tables["targets"]["planned"]), rel=1e-14)
    output = book["output"]
    assert [c.value for c in output[1]][:3] == ["product", "name", "unit"]
    assert output.column_dimensions["A"].width >= len("nitrogen_fertilizer")  # ids not cut
    assert book["consumption per head"]["C1"].value.startswith("level (")
    headline = {r[0].value: r[1].value for r in book["headline"].iter_rows(min_row=2)}
    assert headline["targets met"] == int(plan.tables["targets"]["met"].sum())
    # the verification's checks are a table of their own, not a dict in one cell
    verification = {r[0].value for r in book["verification"].iter_rows(min_row=2)}
    assert "checks" not in verification and {"valid", "limit"} <= verification
    checks = book["verification checks"]
    assert [c.value for c in checks[1]] == ["check", "count", "largest violation", "where"]
    listed = {r[0].value: r[1].value for r in checks.iter_rows(min_row=2)}
    expected = plan.info["verification"]["checks"]
    assert listed == {name: found["count"] for name, found in expected.items()}


def test_report_refusals_are_one_line(stored: dict[str, Any]) -> None:
    url, folder = stored["url"], stored["folder"]
    runner = CliRunner()

    def refused(*args: str) -> str:
        result = runner.invoke(main, ["report-plan", *args, "--db", url])
        assert result.exit_code == 2, result.output
        assert "Traceback" not in result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        return result.output

    out = folder / "refused.html"
    assert "may not read the whole plan" in refused("1", "--html", str(out), "--user", "mill")
    assert "not a user" in refused("1", "--html", str(out), "--user", "nobody")
    assert "no version 7" in refused("7", "--html", str(out))
    assert "give --html" in refused("1")
    assert "ending in .xlsx" in refused("1", "--xlsx", str(folder / "report.xls"))
    mine = folder / "mine.html"
    mine.write_text("my notes", encoding="utf-8")
    assert "not a plan report" in refused("1", "--html", str(mine))
    assert mine.read_text(encoding="utf-8") == "my notes"
    assert not out.exists()
    assert not [p for p in folder.iterdir() if p.name.startswith(".econplan-")]
    assert json.dumps  # the module's imports are used
