"""The web application against a real store (the demo, SQLite): every route walked with every
role and anonymously against the one policy table (and docs/web.md); an enterprise kept to
its own facilities on every route; CSRF; reports stored once however often they are sent;
passwords never logged; the pages and their CSV downloads; a real re-plan job."""

from __future__ import annotations

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

from econplan.cli import main
from econplan.execution.store import Store
from econplan.execution.store import jobs as job_table
from econplan.execution.store import tables as t
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


def test_the_pages_show_the_plan_and_each_figure_downloads_its_data(
    client: TestClient, tokens: dict[str, str]
) -> None:
    planner = bearer(tokens["planner"])
    for url, text in [
        ("/", "Alerts firing"),
        ("/versions", "five-year plan 2021-2025"),
        ("/products/cement", "Material balance of cement"),
        ("/trajectories?facility=sunchon_cement_mill", "plan and actual by month"),
        ("/valuations", "Bottlenecks"),
        ("/enterprises/sunchon_cement_mill", "Report a month"),
        ("/jobs", "Jobs"),
        ("/report/1", "provenance"),
        ("/versions/diff?first=1&second=1", "From version 1 to version 1"),
    ]:
        page = client.get(url, headers=planner)
        assert page.status_code == 200 and text in page.text, url
        assert "cdn" not in page.text.lower() and "https://" not in page.text, url
    balance = client.get("/products/cement?year=2022&csv=balance-cement", headers=planner)
    frame = pd.read_csv(io.StringIO(balance.text))
    assert set(frame["flow"]) >= {"production", "intermediate"}
    assert (frame["product"] if "product" in frame else pd.Series(["cement"])).eq("cement").all()
    shown = client.get("/products/cement?year=2022", headers=planner).text
    assert f"{len(frame)} row(s)" in shown
    workbook = client.get("/report/1.xlsx", headers=planner)
    sheets = pd.read_excel(io.BytesIO(workbook.content), sheet_name=None)
    assert "provenance" in sheets and "Targets" in sheets
    assert client.get("/assets/plotly.js").text.startswith("/**")


def test_a_job_left_running_by_a_dead_server_is_failed_at_start(demo_store_url: str) -> None:
    with Store(demo_store_url) as store:
        job = job_table.add_job(store, "planner", "replan", {"version": 1, "as_of": "2021-10"})
        job_table.start(store, job.id)
        with TestClient(create_app(store, job_threads=0)):
            found = job_table.job(store, job.id)
        assert found.state == "failed" and "server stopped" in (found.error or "")


def test_jobs_run_outside_the_request_and_end_in_a_draft_or_a_reason(
    demo_store_url: str,
) -> None:
    with Store(demo_store_url) as store, TestClient(create_app(store)) as client:
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
        solve = client.post("/api/jobs", headers=headers, json={"kind": "plan", "version": 1})
        done = worker.wait(solve.json()["id"])
        assert done.state == "done", done.error
        shown = client.get(f"/api/jobs/{done.id}", headers=headers).json()
        assert shown["result_version"] == done.result_version
        assert "done" in client.get(f"/jobs/{done.id}", headers=headers).text
        new = store.version(int(done.result_version or 0))
        assert (new.state, new.created_by) == ("draft", "planner")
        assert store.verify_audit().ok


def test_serve_seeds_only_an_empty_store(tmp_path: Path, builtin_plan_dir: Path) -> None:
    url = str(tmp_path / "econplan.db")
    with Store(url) as store:
        assert demo.is_empty(store)
        demo.seed(store, builtin_plan_dir, until="2021-02")
        assert not demo.is_empty(store)
    again = CliRunner().invoke(main, ["serve", "--db", url, "--demo-only"])
    assert again.exit_code == 2 and "not empty" in again.output
