"""Fulfilment reports: reading and checking (every kind of bad report refused whole, with its
file, row and column), content hashes, the template, and the simulation of the built-in
economy's reports from its plan."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from econplan import load_economy
from econplan.errors import SHOWN, MoreProblems, UsageError
from econplan.execution.reports import (
    COLUMNS,
    ReportError,
    Reports,
    check_reports,
    read_reports,
    report_hash,
    report_hashes,
    report_table,
    report_template,
)
from econplan.execution.simulate import Shock, default_shocks, simulate
from econplan.model.economy import Economy
from econplan.plan import Plan, load_plan

HEADER = "report,facility,period,kind,product,amount,unit,note"
MILL = "chonnaeri_cement_mill"  # grinds clinker into cement in Kangwon
GOOD = [
    "m-2021-08,chonnaeri_cement_mill,2021-08,output,cement,50000,t,",
    "m-2021-08,chonnaeri_cement_mill,2021-08,input,clinker,46000,t,",
    "m-2021-08,chonnaeri_cement_mill,2021-08,input,electricity,2250,MWh,",
    "m-2021-08,chonnaeri_cement_mill,2021-08,labour,labour,400,person-year,",
    'o-2021-08,,2021-08,construction,afforestation_station_chagang,0.05,unit,"a note, quoted"',
    "r-2021-08,chollima_steel_complex,2021-08,construction,chollima_steel_expansion,0.1,,",
]
DOCS = Path(__file__).parent.parent / "docs" / "execution.md"


@pytest.fixture(scope="module")
def economy() -> Economy:
    return load_economy()


def write(path: Path, lines: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def refused(
    path: Path, economy: Economy, **options: object
) -> list[tuple[int | None, str | None, str]]:
    """The problems of a refused file as (row, column, message), after checking each names
    the file."""
    with pytest.raises(ReportError) as caught:
        read_reports(path, economy, **options)  # type: ignore[arg-type]
    assert all(p.file == str(path) for p in caught.value.problems)
    return [(p.row, p.column, p.message) for p in caught.value.problems]


# -- reading ---------------------------------------------------------------------------------
def test_a_good_report_round_trips(tmp_path: Path, economy: Economy) -> None:
    reports = read_reports(write(tmp_path / "r.csv", GOOD), economy)
    assert isinstance(reports, Reports)
    assert tuple(reports.frame.columns) == COLUMNS
    assert list(reports.ids) == ["m-2021-08", "o-2021-08", "r-2021-08"]
    mill = reports.report("m-2021-08")
    assert mill[["kind", "product", "amount"]].values.tolist() == [
        ["input", "clinker", 46000.0],
        ["input", "electricity", 2250.0],
        ["labour", "labour", 400.0],
        ["output", "cement", 50000.0],
    ]
    built = reports.report("o-2021-08").iloc[0]
    assert built["facility"] is None and built["note"] == "a note, quoted"
    # written out and read again: the same reports, the same hashes
    again = tmp_path / "again.csv"
    reports.with_notes().to_csv(again, index=False)
    back = read_reports(again, economy)
    pd.testing.assert_frame_equal(back.frame, reports.frame)
    pd.testing.assert_series_equal(back.hashes(), reports.hashes())


def test_a_frame_through_the_api_is_checked_as_a_file(tmp_path: Path, economy: Economy) -> None:
    from_file = read_reports(write(tmp_path / "r.csv", GOOD), economy)
    frame = from_file.with_notes().sample(frac=1.0, random_state=1)  # typed cells, any order
    from_api = check_reports(frame, economy, source="api")
    pd.testing.assert_frame_equal(from_api.frame, from_file.frame)
    bad = frame.reset_index(drop=True)
    bad.loc[1, "amount"] = -5.0
    with pytest.raises(ReportError) as caught:
        check_reports(bad, economy, source="api")
    [problem] = caught.value.problems
    assert (problem.file, problem.row, problem.column) == ("api", 3, "amount")


AT = "m,chonnaeri_cement_mill,2021-08,"  # a row of the mill in August 2021, kind to follow
NEW = ",,2021-08,construction,"  # construction of new capacity
BUILT = ",chonnaeri_cement_mill,2021-08,construction,"  # construction reported by the mill
BAD = {
    "unknown facility": (
        "m,no_such_mill,2021-08,output,cement,1,,",
        "facility",
        "unknown facility",
    ),
    "unknown product": (AT + "input,unobtainium,1,,", "product", "unknown product"),
    "unknown option": (NEW + "no_such_option,0.1,,", "product", "unknown investment option"),
    "not a month": (
        "m,chonnaeri_cement_mill,2021-13,output,cement,1,,",
        "period",
        "not a month as YYYY-MM",
    ),
    "not YYYY-MM": (
        "m,chonnaeri_cement_mill,08/2021,output,cement,1,,",
        "period",
        "not a month as YYYY-MM",
    ),
    "before the plan": (
        "m,chonnaeri_cement_mill,2020-12,output,cement,1,,",
        "period",
        "outside the plan",
    ),
    "after the plan": (
        "m,chonnaeri_cement_mill,2026-01,output,cement,1,,",
        "period",
        "outside the plan",
    ),
    "negative": (AT + "output,cement,-1,,", "amount", "cannot be negative"),
    "not numeric": (AT + "output,cement,12 t,,", "amount", "is not a number"),
    "infinite": (AT + "output,cement,inf,,", "amount", "is not a number"),
    "not a number": (AT + "output,cement,nan,,", "amount", "is not a number"),
    "blank amount": (AT + "output,cement,,,", "amount", "required cell is empty"),
    "unknown kind": (AT + "sold,cement,1,,", "kind", "is not one of"),
    "output not made": (
        AT + "output,crude_steel,1,,",
        "product",
        "its process 'cement_grinding_portland' gives out cement",
    ),
    "input not taken": (AT + "input,coke,1,,", "product", "takes in"),
    "labour not labour": (AT + "labour,clinker,1,,", "product", "is not labour"),
    "labour as input": (AT + "input,labour,1,,", "product", "report it with kind labour"),
    "wrong unit": (AT + "output,cement,1,kg,", "unit", "is not the unit of cement (t)"),
    "wrong construction unit": (NEW + "afforestation_station_chagang,0.1,t,", "unit", "(unit)"),
    "build with a facility": (
        BUILT + "afforestation_station_chagang,0.1,,",
        "facility",
        "leave facility blank",
    ),
    "renovation elsewhere": (
        BUILT + "chollima_steel_expansion,0.1,,",
        "facility",
        "renovates 'chollima_steel_complex'",
    ),
    "more than the option": (
        NEW + "afforestation_station_chagang,4,,",
        "amount",
        "more than the 3 units",
    ),
    "no facility": (
        "m,,2021-08,output,cement,1,,",
        "facility",
        "required cell is empty on a row of kind output",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_each_kind_of_bad_report_is_refused_whole(
    case: str, tmp_path: Path, economy: Economy
) -> None:
    row, column, message = BAD[case]
    report = row.split(",", 1)[0]
    row = (report + "-bad" if report else "x") + "," + row.split(",", 1)[1]
    problems = refused(write(tmp_path / "r.csv", [*GOOD, row]), economy)
    assert [(r, c) for r, c, _ in problems] == [(len(GOOD) + 2, column)], problems
    assert message in problems[0][2]


def test_every_problem_is_listed_at_once(tmp_path: Path, economy: Economy) -> None:
    rows = [f"b{i}," + BAD[case][0].split(",", 1)[1] for i, case in enumerate(sorted(BAD))]
    problems = refused(write(tmp_path / "r.csv", [*GOOD, *rows]), economy)
    assert {r for r, _, _ in problems} == set(range(len(GOOD) + 2, len(GOOD) + 2 + len(rows)))


def test_a_report_covers_one_facility_and_one_month(tmp_path: Path, economy: Economy) -> None:
    rows = [
        GOOD[0],
        "m-2021-08,chonnaeri_cement_kilns,2021-08,output,clinker,1,,",
        "m-2021-08,chonnaeri_cement_mill,2021-09,input,clinker,1,,",
    ]
    problems = refused(write(tmp_path / "r.csv", rows), economy)
    assert [(r, c) for r, c, _ in problems] == [(3, "facility"), (4, "period")]
    assert (
        "is of facility 'chonnaeri_cement_mill' (row 2), not 'chonnaeri_cement_kilns'"
        in (problems[0][2])
    )


def test_duplicate_rows_of_a_report_are_refused(tmp_path: Path, economy: Economy) -> None:
    rows = [*GOOD, GOOD[0].replace("50000", "49000")]
    problems = refused(write(tmp_path / "r.csv", rows), economy)
    assert problems == [
        (
            len(rows) + 1,
            "product",
            "duplicate of row 2 (report 'm-2021-08', output of 'cement'): give each product "
            "once a report, adding up its amounts",
        )
    ]
    # the same product in another report, or as input and output, is no duplicate
    other = GOOD[0].replace("m-2021-08", "n").replace("2021-08", "2021-09")
    assert len(read_reports(write(tmp_path / "ok.csv", [*GOOD, other]), economy).ids) == 4


def test_a_facility_reports_only_years_it_operates(tmp_path: Path, economy: Economy) -> None:
    row = "k,komdok_kpa_builder_transport,2020-06,labour,labour,1,,"
    problems = refused(write(tmp_path / "r.csv", [row]), economy, horizon=(2020, 2025))
    assert problems == [
        (
            2,
            "facility",
            "facility 'komdok_kpa_builder_transport' does not operate in 2020 (it runs from "
            "2021): report only months it operates",
        )
    ]


def test_the_header_is_checked_first(tmp_path: Path, economy: Economy) -> None:
    header = "report,facility,period,kind,product,amunt"
    problems = refused(write(tmp_path / "r.csv", ["m,x,2021-08,output,cement,1"], header), economy)
    assert [(r, c) for r, c, _ in problems] == [(1, "amount"), (1, "amunt")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (HEADER + "\n", "holds no reports"),
        ("", "file is empty"),
        (HEADER + "\nm,chonnaeri_cement_mill,2021-08\n", "malformed CSV"),
    ],
)
def test_files_that_are_not_reports(
    text: str, message: str, tmp_path: Path, economy: Economy
) -> None:
    path = tmp_path / "r.csv"
    path.write_text(text, encoding="utf-8")
    problems = refused(path, economy)
    assert message in problems[0][2]
    assert refused(tmp_path / "missing.csv", economy)[0][2].startswith("cannot be read")


def test_a_large_bad_file_lists_the_first_problems_and_counts_the_rest(
    tmp_path: Path, economy: Economy
) -> None:
    n = 100_000
    frame = pd.DataFrame(
        {
            "report": [f"m{i}" for i in range(n)],
            "facility": MILL,
            "period": "2021-08",
            "kind": "output",
            "product": np.where(np.arange(n) % 4 == 0, "cement", "steel"),
            "amount": 1.0,
        }
    )
    frame.to_csv(tmp_path / "big.csv", index=False)
    with pytest.raises(ReportError) as caught:
        read_reports(tmp_path / "big.csv", economy)
    problems = caught.value.problems
    more = [p for p in problems if isinstance(p, MoreProblems)]
    assert len(problems) == SHOWN + 1 and more[0].count == n * 3 // 4 - SHOWN


# -- hashes ----------------------------------------------------------------------------------
def test_the_hash_is_of_the_content_not_the_order(tmp_path: Path, economy: Economy) -> None:
    mill = read_reports(write(tmp_path / "r.csv", GOOD), economy).report("m-2021-08")
    digest = report_hash(mill)
    assert re.fullmatch("[0-9a-f]{64}", digest)
    assert report_hash(mill.iloc[::-1]) == digest
    assert report_hash(mill.drop(columns="note")) == digest  # blank notes are no notes
    assert report_hash(mill.assign(amount=mill["amount"].astype(int).astype(object))) == digest
    assert report_hash(mill.assign(report="another id")) == digest
    changed = mill.copy()
    changed.loc[0, "amount"] += 1e-6
    assert report_hash(changed) != digest
    assert report_hash(mill.assign(note=["", "", "", "late"])) != digest
    assert report_hash(mill.iloc[1:]) != digest
    # a field cannot leak into the next: ("ab", "c") and ("a", "bc") differ
    assert report_hash(mill.assign(product="x", kind="ab")) != report_hash(
        mill.assign(product="bx", kind="a")
    )


def test_hashes_of_many_reports_agree_with_one_at_a_time(tmp_path: Path, economy: Economy) -> None:
    reports = read_reports(write(tmp_path / "r.csv", GOOD), economy)
    hashes = reports.hashes()
    assert list(hashes.index) == list(reports.ids)
    for report in reports.ids:
        assert hashes[report] == report_hash(reports.report(report))
    with pytest.raises(ValueError, match="several reports"):
        report_hash(reports.frame)
    shuffled = reports.with_notes().sample(frac=1.0, random_state=3)
    pd.testing.assert_series_equal(report_hashes(shuffled), hashes)


# -- template and documentation --------------------------------------------------------------
def test_the_template_has_every_column_and_examples_that_pass(
    tmp_path: Path, economy: Economy
) -> None:
    text = report_template(economy)
    assert text.splitlines()[0] == ",".join(report_table().column_names) == HEADER
    path = tmp_path / "template.csv"
    path.write_text(text, encoding="utf-8")
    reports = read_reports(path, economy)
    assert set(reports.frame["kind"]) == {"output", "input", "labour", "construction"}
    assert report_template(economy, examples=False) == HEADER + "\n"


def test_the_documentation_shows_the_declared_columns() -> None:
    from econplan.formatdoc import _columns  # the table of columns, as docs/format.md has it

    text = DOCS.read_text(encoding="utf-8")
    assert "\n## Fulfilment reports\n" in text
    assert "\n".join(_columns(report_table())) in text, "docs/execution.md: columns are stale"


# -- simulation ------------------------------------------------------------------------------
def control_figures(economy: Economy, plan: Plan) -> pd.DataFrame:
    """Control figures as the breakdown will give them, made simply: each process's activity
    in a region shared among its operating facilities there in proportion to capacity, flat
    over the months; outputs and inputs are activity times the year's coefficients."""
    activity = plan.tables["activity"]
    facilities = economy.tables["facilities"][["id", "region", "process", "capacity"]]
    labour = economy.tables["products"].set_index("id")["kind"] == "labour"
    parts = []
    for year in economy.years:
        running = facilities[economy.operating(year).to_numpy()]
        total = running.groupby(["process", "region"])["capacity"].transform("sum")
        running = running.assign(share=running["capacity"] / total)
        act = activity[(activity["year"] == year) & (activity["activity"] > 0)]
        act = act.merge(running, on=["process", "region"])
        level = (act["activity"] * act["share"]).to_numpy() / 12
        process = economy.process_ids.get_indexer(pd.Index(act["process"]))
        for flow, matrix in (("output", economy.outputs(year)), ("input", economy.inputs(year))):
            coo = matrix[:, process].tocoo()
            product = economy.product_ids.to_numpy(dtype=object)[coo.row]
            kind = flow if flow == "output" else np.where(labour[product], "labour", "input")
            parts.append(
                pd.DataFrame(
                    {
                        "facility": act["id"].to_numpy(dtype=object)[coo.col],
                        "region": act["region"].to_numpy(dtype=object)[coo.col],
                        "process": act["process"].to_numpy(dtype=object)[coo.col],
                        "product": product,
                        "year": year,
                        "kind": kind,
                        "amount": coo.data * level[coo.col],
                    }
                )
            )
    yearly = pd.concat(parts, ignore_index=True)
    months = pd.DataFrame({"month": range(1, 13)})
    return yearly.merge(months, how="cross")[
        ["facility", "region", "process", "product", "year", "month", "kind", "amount"]
    ]


@pytest.fixture(scope="module")
def plan(builtin_plan_dir: Path) -> Plan:
    return load_plan(builtin_plan_dir)


@pytest.fixture(scope="module")
def figures(economy: Economy, plan: Plan) -> pd.DataFrame:
    return control_figures(economy, plan)


def realisation(reports: pd.DataFrame, figures: pd.DataFrame) -> pd.DataFrame:
    """Reported over planned amount of every output row, with the facility's region."""
    planned = figures.assign(
        period=[f"{y}-{m:02d}" for y, m in zip(figures["year"], figures["month"], strict=True)]
    )
    out = reports[reports["kind"] == "output"].merge(
        planned[planned["kind"] == "output"], on=["facility", "period", "product"]
    )
    return out.assign(ratio=out["amount_x"] / out["amount_y"])  # fmt: skip


def test_shocks_are_written_as_text(economy: Economy) -> None:
    shock = Shock.parse("typhoon:south_hamgyong:2021-08:0.5:6")
    assert str(shock) == "typhoon:south_hamgyong:2021-08:0.5:6"
    assert default_shocks(economy) == (shock,)
    lost = shock.losses(2021, 24)
    assert lost[6] == 0 and lost[7] == 0.5 and lost[13] == 0
    np.testing.assert_allclose(lost[7:13], 0.5 * (1 - np.arange(6) / 6))
    flat = Shock.parse("breakdown:chonnaeri_cement_mill:2021-02:1:2").losses(2021, 5)
    assert flat.tolist() == [0, 1, 1, 0, 0]
    assert "south_hamgyong" in str(Shock.parse(" flood : south_hamgyong :2022-07:0.2:3").target)
    assert len(shock.hits(economy)) == 64 + 19  # South Hamgyong and the Komdok area in it
    for spec in [
        "typhoon:south_hamgyong:2021-08:0.5",
        "storm:south_hamgyong:2021-08:0.5:6",
        "typhoon:south_hamgyong:2021-8:0.5:6",
        "typhoon:south_hamgyong:2021-08:1.5:6",
        "typhoon:south_hamgyong:2021-08:half:6",
        "typhoon:south_hamgyong:2021-08:0.5:0",
    ]:
        with pytest.raises(UsageError, match="shock"):
            Shock.parse(spec)
    with pytest.raises(UsageError, match="neither a region nor a facility"):
        Shock.parse("typhoon:atlantis:2021-08:0.5:6").hits(economy)


def test_simulate_is_deterministic_for_a_seed(economy: Economy, figures: pd.DataFrame) -> None:
    first = simulate(economy, figures, "2021-12", seed=7)
    pd.testing.assert_frame_equal(first, simulate(economy, figures, "2021-12", seed=7))
    assert not first["amount"].equals(simulate(economy, figures, "2021-12", seed=8)["amount"])
    assert tuple(first.columns) == COLUMNS
    assert sorted(first["period"].unique()) == [f"2021-{m:02d}" for m in range(1, 13)]
    with pytest.raises(UsageError, match="--until"):
        simulate(economy, figures, "2027-01", seed=7)


def test_the_typhoon_hits_south_hamgyong_and_it_recovers(
    economy: Economy, figures: pd.DataFrame
) -> None:
    reports = simulate(economy, figures, "2022-12", seed=1, breakdowns=0)
    ratio = realisation(reports, figures)
    south = ratio["region"].isin(economy.region_members["south_hamgyong"])
    by_month = ratio[south].groupby("period")["ratio"].mean()
    elsewhere = ratio[~south].groupby("period")["ratio"].mean()
    hit = by_month.loc["2021-08":"2022-01"].to_numpy()
    assert hit[0] < 0.6 and (np.diff(hit) > 0).all()  # half lost in August, then recovering
    assert (hit < elsewhere.loc["2021-08":"2022-01"].to_numpy() - 0.05).all()
    assert np.abs(by_month.loc["2022-03":"2022-12"] - 1).max() < 0.08  # recovered
    assert np.abs(by_month.loc["2021-01":"2021-07"] - 1).max() < 0.08  # not hit before
    assert np.abs(elsewhere - 1).max() < 0.08


def test_noise_averages_near_the_plan(economy: Economy, figures: pd.DataFrame) -> None:
    reports = simulate(economy, figures, "2022-12", seed=3, shocks=(), breakdowns=0)
    ratio = realisation(reports, figures)
    assert abs(ratio["ratio"].mean() - 1) < 0.01
    assert 0.01 < ratio["ratio"].std() < 0.1  # noise there is, a few per cent
    assert (reports["amount"] >= 0).all()
    # over a whole year, a facility's reported output is close to its plan
    yearly = ratio.groupby(["facility", "product"])[["amount_x", "amount_y"]].sum()
    assert (np.abs(yearly["amount_x"] / yearly["amount_y"] - 1) < 0.1).all()
    labour = reports[reports["kind"] == "labour"]
    planned = figures[(figures["kind"] == "labour") & (figures["year"] <= 2022)]["amount"]
    assert abs(labour["amount"].sum() / planned.sum() - 1) < 0.005  # labour stays at plan


def test_a_breakdown_takes_a_facility_down_for_a_month_or_two(
    economy: Economy, figures: pd.DataFrame
) -> None:
    calm = realisation(simulate(economy, figures, "2021-12", 5, (), breakdowns=0), figures)
    assert calm["ratio"].min() > 0.8
    broken = realisation(simulate(economy, figures, "2021-12", 5, (), breakdowns=1), figures)
    low = broken[broken["ratio"] < 0.31]
    assert low["facility"].nunique() == 1 and 1 <= low["period"].nunique() <= 2


def test_simulated_reports_pass_the_checks(
    tmp_path: Path, economy: Economy, figures: pd.DataFrame, plan: Plan
) -> None:
    reports = simulate(economy, figures, "2022-06", seed=11, investment=plan.tables["investment"])
    built = reports[reports["kind"] == "construction"]
    assert len(built) and built["facility"].isna().any() and built["facility"].notna().any()
    path = tmp_path / "simulated.csv"
    reports.to_csv(path, index=False)
    read = read_reports(path, economy)
    pd.testing.assert_frame_equal(read.frame, reports)
    assert len(read.ids) == reports["report"].nunique()
