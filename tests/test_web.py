"""The web application against a real store (the demo, SQLite): every route walked with every
role and anonymously against the one policy table (and docs/web.md); an enterprise kept to
its own facilities on every route; CSRF; reports stored once however often they are sent;
passwords never logged; the pages' figures and their CSV downloads against
econplan.reporting's own; the plan report as `econplan report-plan` writes it; real jobs.

The demo store is seeded once per session (tests/conftest.py); a test that changes more than
a report of its own works on its own copy."""

from __future__ import annotations

import html
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from fastapi.testclient import TestClient

from econplan import load_economy
from econplan.cli import main
from econplan.execution.breakdown import control_figures
from econplan.execution.monitor import monitor
from econplan.execution.store import Store
from econplan.execution.store import jobs as job_table
from econplan.execution.store import tables as t
from econplan.plan import make_plan, write_plan
from econplan.reporting import figures
from econplan.web import demo
from econplan.web.app import create_app
from econplan.web.policy import POLICIES, PUBLIC_MOUNTS, app_routes, markdown

DOC = Path(__file__).parents[1] / "docs" / "web.md"
ROLE_USERS = {
    "admin": "admin",
    "planner": "planner",
    "approver": "approver",
    "regional_planner": "hamgyong",
    "enterprise": "sunchon",
    "auditor": "auditor",
}
OWN_FACILITY = "sunchon_cement_mill"
OTHER_FACILITY = "chonnaeri_cement_mill"
HAMGYONG_FACILITY = "south_hamgyong_local_cement_mill"
MISSING = 999999


@pytest.fixture(scope="module")
def client(demo_store_url: str) -> Iterator[TestClient]:
    """The application on the demo store; jobs are queued, not run (the job test runs one)."""
    with Store(demo_store_url) as store, TestClient(create_app(store, job_threads=0)) as client:
        yield client


@pytest.fixture(scope="module")
def tokens(client: TestClient) -> dict[str, str]:
    found = {}
    for role, name in ROLE_USERS.items():
        answer = client.post("/api/token", json={"name": name, "password": f"{name}-demo"})
        assert answer.status_code == 200, answer.text
        found[role] = answer.json()["token"]
    return found


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _request(client: TestClient, method: str, path: str, role: str | None, token: str | None):  # type: ignore[no-untyped-def]
    """One call of a route as a role, with parameters inside the role's scope; bodies that
    pass the guard but change nothing (a missing version, an empty report)."""
    facility = HAMGYONG_FACILITY if role == "regional_planner" else OWN_FACILITY
    values = {
        "version": "1",
        "first": "1",
        "second": "1",
        "job": str(MISSING),
        "product": "cement",
        "facility": facility,
    }
    url = re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)
    if method == "POST" and "/versions/" in path:
        url = url.replace("/versions/1/", f"/versions/{MISSING}/")
    unit = "region=south_hamgyong" if role == "regional_planner" else f"facility={facility}"
    url += f"?{unit}&first=1&second=1"
    headers = bearer(token) if token else {}
    if method == "GET":
        return client.get(url, headers=headers, follow_redirects=False)
    if path == "/login":  # anyone logs in; the form's token is double-submitted
        form = client.get("/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        data = {"csrf": csrf.group(1), "name": "auditor", "password": "auditor-demo"}
        return client.post(url, data=data, follow_redirects=False)
    if path.startswith("/api"):
        return client.post(url, headers=headers, json={"rows": []}, follow_redirects=False)
    return client.post(url, headers=headers, data={}, follow_redirects=False)


def _passed(response) -> bool:  # type: ignore[no-untyped-def]
    """Whether the guard let the call through (whatever the route then answered)."""
    if response.status_code in (401, 403):
        return False
    return not response.headers.get("location", "").startswith("/login?next=")


def test_every_route_has_a_policy_and_the_docs_show_the_table(client: TestClient) -> None:
    routes = app_routes(client.app)
    served = {r for r in routes if r[0] != "MOUNT"}
    assert served == set(POLICIES), "a route without a policy, or a policy without a route"
    assert {path for method, path in routes if method == "MOUNT"} == set(PUBLIC_MOUNTS)
    assert markdown() in DOC.read_text(encoding="utf-8"), "docs/web.md: paste policy.markdown()"


def test_the_roles_allowed_on_every_route_are_the_table(
    client: TestClient, tokens: dict[str, str]
) -> None:
    mismatches = []
    for method, path in app_routes(client.app):
        if method == "MOUNT":
            assert client.get(f"{path}/style.css").status_code == 200
            continue
        policy = POLICIES[(method, path)]
        allowed = {
            role
            for role in ROLE_USERS
            if _passed(_request(client, method, path, role, tokens[role]))
        }
        if allowed != set(policy.roles()):
            mismatches.append(f"{method} {path}: {sorted(allowed)} != {sorted(policy.roles())}")
        anonymous = _passed(_request(client, method, path, None, None))
        if anonymous != (policy.scope == "public"):
            mismatches.append(f"{method} {path}: anonymous {'let in' if anonymous else 'refused'}")
    assert mismatches == []


def test_an_enterprise_cannot_read_or_write_another_enterprises_data(
    client: TestClient, tokens: dict[str, str]
) -> None:
    mine = bearer(tokens["enterprise"])
    for method, path in app_routes(client.app):
        policy = POLICIES.get((method, path))
        if method != "GET" or policy is None or policy.scope not in ("unit", "filtered"):
            continue
        url = path.replace("{facility}", OTHER_FACILITY)
        if policy.scope == "unit":
            url += f"?facility={OTHER_FACILITY}"
        answer = client.get(url, headers=mine, follow_redirects=False)
        if policy.scope == "unit":
            assert answer.status_code == 403, (path, answer.status_code)
        else:  # what it returns is cut down to its own facility
            assert OTHER_FACILITY not in answer.text, path
            assert "chonnaeri" not in answer.text, path
    alerts = client.get("/api/monitoring/alerts", headers=mine).json()["rows"]
    assert {a["series"] for a in alerts} <= {OWN_FACILITY}
    theirs = {
        "rows": [
            {
                "report": f"{OTHER_FACILITY}-2021-11",
                "facility": OTHER_FACILITY,
                "period": "2021-11",
                "kind": "output",
                "product": "cement",
                "amount": 1.0,
            }
        ]
    }
    refused = client.post("/api/reports", headers=mine, json=theirs)
    assert refused.status_code == 403 and "not theirs" in refused.json()["detail"]
    form = client.post(
        f"/enterprises/{OTHER_FACILITY}/reports",
        headers=mine,
        data={"period": "2021-11", "amount:output:cement": "1"},
    )
    assert form.status_code == 403


def test_nothing_is_readable_without_logging_in(client: TestClient) -> None:
    assert client.get("/api/versions").status_code == 401
    assert client.get("/api/versions", headers=bearer("forged")).status_code == 401
    page = client.get("/enterprises/sunchon_cement_mill", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    assert client.get("/api/health").json() == {"status": "ok"}


def _log_in(client: TestClient, name: str) -> str:
    """Log in through the form as a browser does; the session's CSRF token."""
    form = client.get("/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    done = client.post(
        "/login",
        data={"csrf": csrf.group(1), "name": name, "password": f"{name}-demo", "next": "/versions"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/versions"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("samesite", "SameSite")
    page = client.get("/versions")
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_a_form_without_its_csrf_token_is_refused(demo_store_url: str) -> None:
    with Store(demo_store_url) as store, TestClient(create_app(store, job_threads=0)) as browser:
        form = browser.get("/login")
        no_token = browser.post("/login", data={"name": "approver", "password": "approver-demo"})
        assert no_token.status_code == 403 and "CSRF" in no_token.text
        assert form.status_code == 200
        csrf = _log_in(browser, "approver")
        assert browser.post(f"/versions/{MISSING}/reject", data={}).status_code == 403
        wrong = browser.post(f"/versions/{MISSING}/reject", data={"csrf": "x" * 43})
        assert wrong.status_code == 403
        right = browser.post(f"/versions/{MISSING}/reject", data={"csrf": csrf})
        assert right.status_code == 404  # through the guard: there is no such version
        header = browser.post(f"/api/versions/{MISSING}/reject", headers={"X-CSRF-Token": csrf})
        assert header.status_code == 404
        assert (
            browser.post("/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
        )
        assert browser.get("/versions", follow_redirects=False).status_code == 303


def test_passwords_are_never_logged(
    client: TestClient, caplog: pytest.LogCaptureFixture, demo_store_url: str
) -> None:
    caplog.set_level(logging.DEBUG)
    client.post("/api/token", json={"name": "auditor", "password": "auditor-demo"})
    wrong = client.post("/api/token", json={"name": "auditor", "password": "guess-me-please"})
    assert wrong.status_code == 401
    short = client.post("/api/token", json={"name": "auditor", "password": ""})
    assert short.status_code == 422 and "guess-me" not in short.text
    result = CliRunner().invoke(
        main,
        ["user", "password", "auditor", "--password-stdin", "--db", demo_store_url],
        input="auditor-demo\n",
        env={"ECONPLAN_USER": "admin"},
    )
    assert result.exit_code == 0, result.output
    assert "auditor-demo" not in result.output
    assert "auditor-demo" not in caplog.text and "guess-me-please" not in caplog.text


def test_the_pages_show_the_plan(client: TestClient, tokens: dict[str, str]) -> None:
    planner = bearer(tokens["planner"])
    for url, text in [
        ("/", "Alerts firing"),
        ("/versions", "five-year plan 2021-2025"),
        ("/products/cement", "Material balance of cement"),
        ("/trajectories?facility=sunchon_cement_mill", "Trajectory of sunchon_cement_mill"),
        ("/valuations", "Bottlenecks"),
        ("/enterprises/sunchon_cement_mill", "Report a month"),
        ("/jobs", "Jobs"),
        ("/report/1", "Provenance"),
        ("/versions/diff?first=1&second=1", "From version 1 to version 1"),
    ]:
        page = client.get(url, headers=planner)
        assert page.status_code == 200 and text in page.text, url
        assert "cdn" not in page.text.lower() and "https://" not in page.text, url
    assert client.get("/assets/plotly.js").text.startswith("/**")


def _figure_pages(store: Store) -> list[tuple[str, str, figures.Figure]]:
    """(page, role, figure) for every figure a page shows, drawn here by
    econplan.reporting.figures itself from the store as it is now (the control figures and
    the monitoring computed here once, as the figures would compute them, and given to each:
    tests/test_reporting.py holds that to the figures computing their own)."""
    version = store.version(1)
    economy, plan = store.economy(version.economy), store.plan(1)
    reports = store.reports(version.economy)
    as_of, mill = str(reports["period"].max()), OWN_FACILITY
    control = control_figures(economy, plan).figures
    found = {"control": control, "monitoring": monitor(control, reports, as_of, economy, plan)}
    return [
        ("/", "planner", figures.targets(plan, economy, reports, as_of, **found)),
        ("/", "planner", figures.consumption_per_head(plan, economy)),
        ("/products/cement?year=2023", "planner", figures.product_balance(plan, economy, "cement")),
        (
            "/products/cement?year=2023&region=south_hamgyong",
            "approver",
            figures.product_sankey(plan, economy, "cement", 2023, "south_hamgyong"),
        ),
        ("/products/cement", "approver", figures.product_valuations(plan, economy, "cement")),
        ("/trajectories", "planner", figures.trajectory(plan, economy, reports, as_of, **found)),
        (
            f"/trajectories?facility={mill}",
            "enterprise",
            figures.trajectory(plan, economy, reports, as_of, facility=mill, **found),
        ),
        (
            "/trajectories?region=south_hamgyong&product=cement",
            "regional_planner",
            figures.trajectory(
                plan, economy, reports, as_of, region="south_hamgyong", product="cement", **found
            ),
        ),
        ("/valuations?top=12", "planner", figures.bottlenecks(plan, economy, 12)),
        (
            f"/enterprises/{mill}",
            "enterprise",
            figures.fulfilment(plan, economy, reports, as_of, mill, **found),
        ),
        (
            f"/enterprises/{mill}?year=2023",
            "enterprise",
            figures.control_by_month(plan, economy, mill, 2023, control=control),
        ),
    ]


def test_every_figure_is_drawn_and_its_csv_is_exactly_the_figures_data(
    client: TestClient, tokens: dict[str, str], demo_store_url: str
) -> None:
    with Store(demo_store_url) as store:
        expected = _figure_pages(store)
    for url, role, figure in expected:
        headers = bearer(tokens[role])
        page = client.get(url, headers=headers)
        assert page.status_code == 200, (url, page.text[:300])
        # the figure itself, drawn by plotly.js served here, loaded before the figures' scripts
        assert f'id="figure-{figure.key}"' in page.text, (url, figure.key)
        assert page.text.index('src="/assets/plotly.js"') < page.text.index("Plotly.newPlot")
        joiner = "&" if "?" in url else "?"
        download = client.get(f"{url}{joiner}csv={figure.key}", headers=headers)
        assert download.status_code == 200 and download.headers["content-type"].startswith(
            "text/csv"
        )
        assert download.text == figure.csv(), (url, figure.key)
        assert f"{len(figure.data)} row(s)" in page.text, url
    # what a figure cannot show is the request's fault, in one line
    planner = bearer(tokens["planner"])
    for url, status, words in [
        ("/products/cement?year=2019", 422, "year 2019 is not in the plan"),
        ("/products/cement?region=atlantis", 422, "no region 'atlantis'"),
        ("/products/unobtainium", 404, "no product 'unobtainium'"),
        ("/trajectories?facility=no_such_mill", 422, "no facility 'no_such_mill'"),
        ("/trajectories?region=south_hamgyong", 422, "name one with product"),
        ("/enterprises/sunchon_cement_mill?year=2031", 422, "year 2031 is not in the plan"),
        ("/api/monitoring/alerts?as_of=2021-13", 422, "as_of"),
        # schemathesis found this one a 500: a month the plan cannot be monitored in
        ("/api/monitoring/targets-at-risk?as_of=2891-07", 422, "no output plan for 2891"),
    ]:
        answer = client.get(url, headers=planner)
        shown = html.unescape(answer.text)
        assert answer.status_code == status and words in shown, (url, answer.status_code)
    # an enterprise's dashboard holds its own fulfilment and no national figure
    mine = client.get("/", headers=bearer(tokens["enterprise"])).text
    assert "figure-targets" not in mine and "figure-consumption" not in mine
    assert f'id="figure-fulfilment-{OWN_FACILITY}' in mine and OTHER_FACILITY not in mine


def test_the_plan_report_is_econplan_report_plans(
    client: TestClient, tokens: dict[str, str], demo_store_seeded: Path, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    planner = bearer(tokens["planner"])
    page = client.get("/report/1", headers=planner)
    assert page.status_code == 200
    for section in ("provenance", "headline", "targets", "bottlenecks", "verification"):
        assert f'id="{section}"' in page.text, section
    written = tmp_path / "cli"
    result = CliRunner().invoke(
        main,
        ["report-plan", "1", "--html", f"{written}.html", "--xlsx", f"{written}.xlsx"],
        env={"ECONPLAN_DB": str(demo_store_seeded), "ECONPLAN_USER": ""},
    )
    assert result.exit_code == 0, result.output
    served = tmp_path / "served.xlsx"
    answer = client.get("/report/1.xlsx", headers=planner)
    assert answer.headers["content-disposition"].endswith('.xlsx"')
    served.write_bytes(answer.content)
    mine, theirs = load_workbook(served), load_workbook(f"{written}.xlsx")
    assert mine.sheetnames == theirs.sheetnames and "provenance" in mine.sheetnames
    for name in mine.sheetnames:
        rows = [list(r) for r in mine[name].iter_rows(values_only=True)]
        expected = [list(r) for r in theirs[name].iter_rows(values_only=True)]
        if name == "provenance":  # the moment each was made differs, nothing else
            rows = [r for r in rows if r[0] != "made at"]
            expected = [r for r in expected if r[0] != "made at"]
        assert rows == expected, name
    page_file = client.get("/report/1.html", headers=planner).text
    cli_file = Path(f"{written}.html").read_text(encoding="utf-8")
    made = re.compile(r"<dt>made at</dt><dd>[^<]*</dd>")
    assert made.sub("", page_file) == made.sub("", cli_file)
    # each table of the report downloads as its CSV, its units in the header as in the workbook
    targets = client.get("/report/1?csv=report-targets", headers=planner)
    header = targets.text.splitlines()[0].split(",")
    assert header == [str(c.value) for c in theirs["targets"][1]]
    assert len(pd.read_csv(io.StringIO(targets.text))) == theirs["targets"].max_row - 1
    # every id in both pages is a valid one (a slug: no spaces), and a key with spaces still
    # names its table's CSV
    for text in (page.text, page_file):
        ids = re.findall(r'\sid="([^"]*)"', text)
        assert ids and all(re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", i) for i in ids), [
            i for i in ids if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", i)
        ]
    assert 'id="report-consumption-per-head"' in page.text
    assert 'id="report-verification-checks"' in page.text
    per_head = client.get(
        "/report/1", params={"csv": "report-consumption per head"}, headers=planner
    )
    assert per_head.status_code == 200 and per_head.text.startswith("region,")


def test_a_report_sent_twice_is_stored_once(
    client: TestClient, tokens: dict[str, str], demo_store_url: str
) -> None:
    report = {
        "rows": [
            {
                "report": f"{OWN_FACILITY}-2021-12",
                "facility": OWN_FACILITY,
                "period": "2021-12",
                "kind": "output",
                "product": "cement",
                "amount": 12345.5,
                "unit": "t",
            }
        ]
    }
    first = client.post("/api/reports", headers=bearer(tokens["enterprise"]), json=report)
    again = client.post("/api/reports", headers=bearer(tokens["enterprise"]), json=report)
    assert first.status_code == again.status_code == 200, first.text
    assert first.json()["added"] == [f"{OWN_FACILITY}-2021-12"]
    assert again.json()["added"] == [] and again.json()["unchanged"] == first.json()["added"]
    with Store(demo_store_url) as store:
        with store.engine.connect() as connection:
            stored = connection.execute(
                sa.select(sa.func.count())
                .select_from(t.reports)
                .where(t.reports.c.report == f"{OWN_FACILITY}-2021-12")
            ).scalar_one()
        assert stored == 1
        assert store.verify_audit().ok
    bad = dict(report["rows"][0], product="no_such_product", report="x-2021-12")
    refused = client.post("/api/reports", headers=bearer(tokens["planner"]), json={"rows": [bad]})
    assert refused.status_code == 422 and refused.json()["problems"]


def test_a_job_left_running_by_a_dead_server_is_failed_at_start(demo_store_copy: str) -> None:
    with Store(demo_store_copy) as store:
        job = job_table.add_job(store, "planner", "replan", {"version": 1, "as_of": "2021-10"})
        job_table.start(store, job.id)
        with TestClient(create_app(store, job_threads=0)):
            found = job_table.job(store, job.id)
        assert found.state == "failed" and "server stopped" in (found.error or "")


def test_jobs_run_outside_the_request_and_end_in_a_draft_or_a_reason(
    demo_store_copy: str, tmp_path: Path, tiny_copy: Path
) -> None:
    # the solve is the tiny economy's (a version of its own beside the demo's): what is
    # tested is the job's way through the worker and the store, not HiGHS on 15 s of plan.
    # Its hard targets cannot all hold (it tests diagnosis); as priorities it has a plan.
    targets = tiny_copy / "targets.csv"
    targets.write_text(targets.read_text().replace(",hard,", ",tier1,"))
    tiny = load_economy(tiny_copy)
    folder = tmp_path / "tiny-plan"
    with Store(demo_store_copy) as store, TestClient(create_app(store)) as client:
        small = store.add_version(
            "planner", "tiny", write_plan(make_plan(tiny), folder), folder, tiny, "to solve again"
        )
        token = client.post("/api/token", json={"name": "planner", "password": "planner-demo"})
        headers = bearer(token.json()["token"])
        worker = client.app.state.context.worker  # type: ignore[attr-defined]
        # the simulated months (a breakdown, the typhoon) leave targets that cannot be met
        replan = client.post(
            "/api/jobs", headers=headers, json={"kind": "replan", "version": 1, "as_of": "2021-10"}
        )
        assert replan.status_code == 202, replan.text
        failed = worker.wait(replan.json()["id"])
        assert failed.state == "failed" and "cannot all be met" in (failed.error or "")
        solve = client.post(
            "/api/jobs", headers=headers, json={"kind": "plan", "version": small.id}
        )
        done = worker.wait(solve.json()["id"])
        assert done.state == "done", done.error
        shown = client.get(f"/api/jobs/{done.id}", headers=headers).json()
        assert shown["result_version"] == done.result_version
        assert "done" in client.get(f"/jobs/{done.id}", headers=headers).text
        new = store.version(int(done.result_version or 0))
        assert (new.state, new.created_by, new.line) == ("draft", "planner", "tiny")
        assert new.economy == small.economy
        assert store.verify_audit().ok


def test_serve_seeds_only_an_empty_store(tmp_path: Path, demo_store_copy: str) -> None:
    with Store(str(tmp_path / "empty.db")) as store:
        assert demo.is_empty(store)
    with Store(demo_store_copy) as store:  # seeded by demo.seed (tests/conftest.py)
        assert not demo.is_empty(store)
        assert [v.state for v in store.versions()] == ["approved"]
        assert store.reports(store.version(1).economy)["period"].max() == demo.REPORTED_UNTIL
    again = CliRunner().invoke(main, ["serve", "--db", demo_store_copy, "--demo-only"])
    assert again.exit_code == 2 and "not empty" in again.output


def test_reports_through_is_the_month_most_facilities_reached() -> None:
    from econplan.web.context import reported_through

    reports = pd.DataFrame(
        {
            "facility": ["a", "a", "b", "c", "c", "c"],
            "period": ["2021-09", "2021-10", "2021-10", "2021-10", "2021-11", "2021-12"],
        }
    )
    assert reported_through(reports) == "2021-10"  # c's early December moves nobody
    assert reported_through(reports, ["c"]) == "2021-12"  # c's own pages: its own month
    assert reported_through(reports, ["a", "c"]) == "2021-10"
    assert reported_through(reports, ["nobody"]) is None
    ahead = pd.concat([reports, pd.DataFrame({"facility": ["a", "b"], "period": ["2022-01"] * 2})])
    assert reported_through(ahead) == "2022-01"  # once most have reported, the month moves
