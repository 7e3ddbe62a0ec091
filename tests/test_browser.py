"""The web application as its users meet it: the real server (`econplan serve` on a demo store)
driven through real headless Chromium with Playwright. Each role logs in and sees what it
should (and not what it should not); an approver approves a plan; an enterprise sends a month
by the form and a file, and its alert fires; a product's Sankey is drawn and its CSV holds the
figure's numbers; a form without its CSRF token is refused.

Every test saves full-page screenshots of what it looked at in tests/screenshots/ (ignored by
git), for a person to look at. Tests wait on the page's state, never on the clock. Without
Chromium (Debian's `chromium` package, /usr/bin/chromium) they skip; docs/web.md says how to
run them.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shutil
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

import econplan
from econplan import load_economy
from econplan.execution.store import Store
from econplan.plan import load_plan
from econplan.web import demo

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # without these Chromium dials out at start, and a closed network refuses it
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).parent / "screenshots"
WAIT_MS = 60_000
"""How long a page may take before a step fails: a guard for a loaded machine, not a limit
the tests measure."""
SERVER_START_S = 180
"""How long the server may take to answer /api/health before the tests give up (a guard)."""

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: install Debian's chromium package (README)",
)

ENTERPRISE = "sunchon"
OWN_FACILITY = "sunchon_cement_mill"
OTHER_FACILITY = "chonnaeri_cement_mill"
REGION = "south_hamgyong"


@dataclass(frozen=True)
class Server:
    url: str
    db: str
    to_approve: int
    """A submitted version the approver approves through the page."""
    left_submitted: int
    """A submitted version that a form without its CSRF token fails to approve."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def _wait_until_up(process: subprocess.Popen[bytes], health: str, log: Path) -> None:
    """Until /api/health answers; the server's own output when it stops first."""
    for _ in range(SERVER_START_S * 5):
        if _answers(health):
            return
        try:
            process.wait(timeout=0.2)  # returns at once when the server has stopped
        except subprocess.TimeoutExpired:
            continue
        break
    output = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    message = f"econplan serve did not answer {health} (exit {process.poll()}):\n{output}"
    raise RuntimeError(message)


def _add_submitted(store: Store, plan_dir: Path, note: str) -> int:
    """A new version of the demo's plan line (the same plan), stored and submitted by the
    planner, for the approver to decide on."""
    plan = load_plan(plan_dir)
    version = store.add_version("planner", demo.LINE, plan, plan_dir, load_economy(), note)
    store.submit("planner", version.id)
    return version.id


@pytest.fixture(scope="session")
def server(
    demo_store_seeded: Path, builtin_plan_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """`econplan serve` on a free loopback port, on a copy of the session's demo store (seeded
    once, from the session's one solve of the built-in plan) with two more versions submitted;
    stopped at the end."""
    folder = tmp_path_factory.mktemp("browser")
    db = str(folder / "econplan.db")
    shutil.copyfile(demo_store_seeded, db)
    with Store(db) as store:
        to_approve = _add_submitted(store, builtin_plan_dir, "to approve in the browser")
        left = _add_submitted(store, builtin_plan_dir, "stays submitted")
    port = _free_port()
    # the server runs this checkout's econplan, whatever is installed
    source = str(Path(econplan.__file__).parents[1])
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")])),
    }
    log_path = folder / "serve.log"
    command = [sys.executable, "-m", "econplan", "serve", "--db", db, "--port", str(port)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*command, "--jobs", "0"], stdout=log, stderr=subprocess.STDOUT, env=env
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_up(process, f"{url}/api/health", log_path)
            yield Server(url, db, to_approve, left)
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")  # closed with this module: Playwright's sync API runs an
# event loop in this thread, and a later test's asyncio.run() cannot start beside it
def browser() -> Iterator[Browser]:
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield launched
        launched.close()


@dataclass
class Visits:
    """The pages a test opens: each as a logged-in user in its own browser context, with the
    script errors each page raised (a test fails on any)."""

    browser: Browser
    server: Server
    name: str
    errors: list[str] = field(default_factory=list)
    _contexts: list[BrowserContext] = field(default_factory=list)

    def new_page(self) -> Page:
        context = self.browser.new_context(
            base_url=self.server.url, viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(WAIT_MS)
        self._contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.errors.append(f"{page.url}: {error}"))
        return page

    def as_user(self, name: str) -> Page:
        """Log in through the login page."""
        page = self.new_page()
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login\?next=/$"))
        page.get_by_label("Name").fill(name)
        page.get_by_label("Password").fill(f"{name}-demo")
        page.get_by_role("button", name="Log in").click()
        expect(page.locator("h1")).to_have_text("Dashboard")
        expect(page.locator("header form.who span")).to_contain_text(name)
        return page

    def shot(self, page: Page, what: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"{self.name}-{what}.png", full_page=True)

    def close(self) -> None:
        for context in self._contexts:
            context.close()


@pytest.fixture
def visits(browser: Browser, server: Server, request: pytest.FixtureRequest) -> Iterator[Visits]:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name.removeprefix("test_")).strip("-")
    found = Visits(browser, server, name)
    yield found
    found.close()
    assert not found.errors, f"script errors in the pages: {found.errors}"


def column(page: Page, panel: str, name: str) -> list[str]:
    """The cells of one column of a panel's table, as shown."""
    table = page.locator(f"section#{panel} table")
    if not table.count():  # an empty panel says "Nothing to show" instead
        expect(page.locator(f"section#{panel} p.empty")).to_be_visible()
        return []
    headers = table.locator("thead th").all_inner_texts()
    index = headers.index(name) + 1
    return table.locator(f"tbody tr td:nth-child({index})").all_inner_texts()


def _within(region: str) -> set[str]:
    """A region and the regions inside it, from the economy's regions table."""
    parents = load_economy().tables["regions"].set_index("id")["parent"]
    inside = {region}
    while grown := {str(r) for r, p in parents.items() if p in inside} - inside:
        inside |= grown
    return inside


def tables_cut(page: Page) -> list[str]:
    """The panels whose table is cut at 1280 px: a table wider than its panel must scroll
    sideways inside the panel, its box never past the panel's edge, and scrolled to its end
    show its last column within the panel."""
    cut: list[str] = page.locator("section.panel").evaluate_all(
        """panels => panels.filter(panel => {
            const box = panel.querySelector('.scroll');
            if (!box) return false;
            const edge = panel.getBoundingClientRect().right;
            box.scrollLeft = box.scrollWidth;
            const last = box.querySelector('thead th:last-child');
            const shown = !last || last.getBoundingClientRect().right <= edge + 1;
            box.scrollLeft = 0;
            return box.getBoundingClientRect().right > edge + 1 || !shown;
        }).map(panel => panel.id)"""
    )
    return cut


def nav_links(page: Page) -> list[str]:
    return page.locator("header nav a").all_inner_texts()


# -- each role ----------------------------------------------------------------------------------
ROLES = {
    "admin": "admin",
    "planner": "planner",
    "approver": "approver",
    "regional_planner": "hamgyong",
    "enterprise": ENTERPRISE,
    "auditor": "auditor",
}
SEVERITIES = ["critical", "warning"]
WHOLE_ECONOMY_LINKS = {"Products", "Trajectories", "Valuations", "Jobs"}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_logs_in_and_sees_what_it_may(visits: Visits, role: str) -> None:
    name = ROLES[role]
    page = visits.as_user(name)
    expect(page.locator("header form.who span")).to_have_text(f"{name} ({role})")
    links = set(nav_links(page))
    scoped = role in ("regional_planner", "enterprise")
    visits.shot(page, "dashboard")
    assert not tables_cut(page), tables_cut(page)

    if scoped:
        assert not links & WHOLE_ECONOMY_LINKS, links
        expect(page.locator("section[id^=targets]")).to_have_count(0)
        expect(page.locator("section#consumption-per-head")).to_have_count(0)
        expect(page.get_by_role("link", name="Plan report")).to_have_count(0)
    else:
        assert links >= WHOLE_ECONOMY_LINKS, links
        expect(page.locator("section[id^=targets] table tbody tr").first).to_be_visible()
        expect(page.locator("section#consumption-per-head table tbody tr").first).to_be_visible()
        expect(page.get_by_role("link", name="Plan report")).to_be_visible()
    expect(page.locator("section#alerts h2")).to_contain_text("Alerts firing")

    # the alerts a person deals with first come first: theirs (a scoped user's), then the
    # most severe
    own = {"regional_planner": {REGION}, "enterprise": {OWN_FACILITY}}.get(role, set())
    order = [
        (addressee not in own, SEVERITIES.index(severity))
        for addressee, severity in zip(
            column(page, "alerts", "addressee"), column(page, "alerts", "severity"), strict=True
        )
    ]
    assert order == sorted(order), order
    assert order or role == "enterprise"  # the demo's mill has none firing until it reports

    if role == "regional_planner":
        # its many units: a count, then a list per region, folded
        units = page.locator("section#your-units")
        expect(units.locator("h2")).to_contain_text("Your units:")
        expect(units.locator("details").first).to_be_visible()
        expect(units.locator("details a").first).to_be_hidden()
        units.locator("summary").first.click()
        expect(units.locator("details a").first).to_be_visible()
        # the typhoon's region has alerts firing, and only its own are shown
        regions = set(column(page, "alerts", "region"))
        assert REGION in regions and regions <= _within(REGION), regions
    if role == "enterprise":
        assert [a for a in links if a.endswith("_mill")] == [OWN_FACILITY], links
        expect(page.locator("main")).to_contain_text(f"Your units: {OWN_FACILITY}")
        assert set(column(page, "alerts", "series")) <= {OWN_FACILITY}

    page.goto("/versions")
    expect(page.locator("h1")).to_have_text("Plan versions")
    expect(page.locator("tr.state-submitted").first).to_be_visible()
    approve = page.get_by_role("button", name="Approve")
    if role == "approver":
        expect(approve.first).to_be_visible()
    else:
        expect(approve).to_have_count(0)
        expect(page.get_by_role("button", name="Reject")).to_have_count(0)
    visits.shot(page, "versions")

    page.goto(f"/enterprises/{OWN_FACILITY}")
    if role == "regional_planner":  # Sunchon lies in South Pyongan, not its region
        expect(page.locator("h1")).to_have_text("403")
    else:
        expect(page.locator("h1")).to_contain_text(OWN_FACILITY)
        form = page.locator("section#report-form")
        if role in ("approver", "auditor"):  # they read, they do not report
            expect(form).to_have_count(0)
        else:
            expect(form.get_by_role("button", name="Send the report")).to_be_visible()
        visits.shot(page, "enterprise")

    if scoped:
        for path in (f"/enterprises/{OTHER_FACILITY}", "/products/cement", "/valuations"):
            page.goto(path)
            expect(page.locator("h1")).to_have_text("403")
            expect(page.locator("p.error")).to_contain_text(name)
            # drawn in the normal layout: the nav, who is logged in, a way back
            expect(page.locator("header form.who span")).to_have_text(f"{name} ({role})")
            expect(page.locator("header nav a", has_text="Dashboard")).to_be_visible()
            expect(page.locator("main").get_by_role("link", name="Dashboard")).to_be_visible()
        visits.shot(page, "refused")


def test_a_user_with_a_wrong_password_is_not_let_in(visits: Visits) -> None:
    page = visits.new_page()
    page.goto("/versions")
    expect(page).to_have_url(re.compile(r"/login\?next=/versions$"))
    page.get_by_label("Name").fill("approver")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("p.error")).to_have_text("Wrong name or password.")
    page.goto("/versions")
    expect(page).to_have_url(re.compile(r"/login"))


# -- approving a plan ---------------------------------------------------------------------------
def test_an_approver_approves_a_submitted_version(visits: Visits, server: Server) -> None:
    page = visits.as_user("approver")
    page.goto("/versions")
    row = page.locator("tbody tr").filter(
        has=page.locator("td:first-child", has_text=re.compile(rf"^{server.to_approve}$"))
    )
    expect(row.locator(".badge")).to_have_text("submitted")
    visits.shot(page, "before")
    row.get_by_role("button", name="Approve").click()
    expect(row.locator(".badge")).to_have_text("approved")
    expect(row.get_by_role("button", name="Approve")).to_have_count(0)
    visits.shot(page, "after")
    with Store(server.db) as store:
        stored = store.version(server.to_approve)
    assert (stored.state, stored.decided_by) == ("approved", "approver")

    page.get_by_role("link", name="Dashboard").click()
    expect(page.locator("p.lead")).to_contain_text(f"(version {server.to_approve}, approved")


def test_a_form_without_its_csrf_token_is_refused(visits: Visits, server: Server) -> None:
    page = visits.as_user("approver")
    for token in ("remove", "stale"):
        page.goto("/versions")
        row = page.locator("tbody tr").filter(
            has=page.locator("td:first-child", has_text=re.compile(rf"^{server.left_submitted}$"))
        )
        field_ = row.locator("form[action$='/approve'] input[name=csrf]")
        if token == "remove":
            field_.evaluate("input => input.remove()")
        else:
            field_.evaluate("input => { input.value = 'stale-token'; }")
        row.get_by_role("button", name="Approve").click()
        expect(page.locator("h1")).to_have_text("403")
        expect(page.locator("p.error")).to_contain_text("CSRF token is missing or stale")
        visits.shot(page, f"refused-{token}")
    with Store(server.db) as store:
        assert store.version(server.left_submitted).state == "submitted"


# -- an enterprise reports ----------------------------------------------------------------------
def _report_csv(path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """A report file as `econplan report template` writes one: (period, kind, product,
    amount) rows of the enterprise's own facility."""
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(
            ["report", "facility", "period", "kind", "product", "amount", "unit", "note"]
        )
        for period, kind, product, amount in rows:
            report = f"{OWN_FACILITY}-{period}"
            writer.writerow([report, OWN_FACILITY, period, kind, product, amount, "", "kiln down"])
    return path


def test_an_enterprise_reports_by_form_and_file_and_its_alert_fires(
    visits: Visits, tmp_path: Path
) -> None:
    page = visits.as_user(ENTERPRISE)
    page.get_by_role("link", name=OWN_FACILITY).first.click()
    expect(page.locator("h1")).to_contain_text(OWN_FACILITY)
    alerts = page.locator(f"section#alerts-{OWN_FACILITY}")
    expect(alerts).to_be_visible()
    expect(alerts).not_to_contain_text("firing")
    visits.shot(page, "before")

    # November by the form: the mill stood still (the demo's reports end in October)
    form = page.locator("section#report-form form").first
    expect(form.get_by_label("Month")).to_have_value("2021-11")
    amounts = form.locator("input[name^='amount:']")
    assert amounts.count() >= 2
    form.locator("input[name='amount:output:cement']").fill("0")
    form.locator("input[name='amount:labour:labour']").fill("950")
    form.get_by_label("Note").fill("the kiln stood still all month")
    form.get_by_role("button", name="Send the report").click()
    expect(page.locator("p.ok")).to_have_text("Report stored: 1 new, 0 corrected, 0 unchanged.")
    expect(page.locator("p.lead")).to_contain_text("reports through 2021-11")
    visits.shot(page, "form-sent")

    # October corrected (it stood still then too) and December, by a file
    upload = _report_csv(
        tmp_path / "reports.csv",
        [
            ("2021-10", "output", "cement", "0"),
            ("2021-10", "labour", "labour", "950"),
            ("2021-12", "output", "cement", "0"),
            ("2021-12", "labour", "labour", "950"),
        ],
    )
    page.locator("section#report-form input[type=file]").set_input_files(upload)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("p.ok")).to_have_text("Report stored: 1 new, 1 corrected, 0 unchanged.")
    expect(page.locator("p.lead")).to_contain_text("reports through 2021-12")
    # three months short: behind the year's plan, firing and addressed to the enterprise
    expect(alerts.locator("tbody tr", has_text="behind_plan").first).to_contain_text("firing")
    visits.shot(page, "file-uploaded")

    page.get_by_role("link", name="Dashboard").click()
    fired = page.locator("section#alerts tbody tr", has_text=OWN_FACILITY)
    expect(fired.first).to_be_visible()
    expect(fired.first).to_contain_text("enterprise")
    assert set(column(page, "alerts", "series")) == {OWN_FACILITY}
    visits.shot(page, "dashboard")

    # the planner's dashboard has it among the nation's alerts (in the table's CSV: the page
    # shows the first rows of a long table)
    planner = visits.as_user("planner")
    # one enterprise reporting ahead does not move the nation's month (docs/web.md)
    expect(planner.locator("p.lead")).to_contain_text("Reports through 2021-10")
    planner.goto("/?as_of=2021-12")
    expect(planner.locator("p.lead")).to_contain_text("Reports through 2021-12")
    download = planner.locator("section#alerts").get_by_role("link", name="download CSV")
    rows = list(csv.DictReader(io.StringIO(_download(planner, download.click))))
    mine = sorted(row["severity"] for row in rows if row["series"] == OWN_FACILITY)
    assert mine == ["critical", "warning"], mine


def test_a_file_of_another_enterprise_is_refused_and_nothing_stored(
    visits: Visits, tmp_path: Path
) -> None:
    page = visits.as_user("chonnaeri")
    page.goto(f"/enterprises/{OTHER_FACILITY}")
    before = page.locator(f"section#reports-{OTHER_FACILITY} p.tools").inner_text()
    upload = _report_csv(tmp_path / "theirs.csv", [("2021-11", "output", "cement", "1")])
    page.locator("section#report-form input[type=file]").set_input_files(upload)
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("h1")).to_have_text("422")
    expect(page.locator("p.error")).to_contain_text(f"every row must be {OTHER_FACILITY}'s")
    visits.shot(page, "refused")
    page.goto(f"/enterprises/{OTHER_FACILITY}")
    expect(page.locator(f"section#reports-{OTHER_FACILITY} p.tools")).to_have_text(before)


# -- figures ------------------------------------------------------------------------------------
def _numbers(text: str, name: str) -> list[float]:
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows and name in rows[0], f"no {name!r} column in the CSV: {text[:200]}"
    return sorted(float(row[name]) for row in rows)


def _close(first: list[float], second: list[float]) -> bool:
    return len(first) == len(second) and all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) for a, b in zip(first, second, strict=True)
    )


def _download(page: Page, link: Callable[[], None]) -> str:
    with page.expect_download() as info:
        link()
    path = info.value.path()
    return Path(path).read_text(encoding="utf-8")


def test_a_product_page_draws_its_sankey_and_the_csv_has_its_numbers(visits: Visits) -> None:
    page = visits.as_user("planner")
    page.get_by_role("link", name="Products").click()
    expect(page.locator("h1")).to_contain_text("cement")
    sankey = page.locator("section.panel").filter(has=page.locator("g.sankey")).first
    expect(sankey.locator("g.sankey-node").first).to_be_visible()
    nodes = sankey.locator("g.sankey-node")
    links = sankey.locator("path.sankey-link")
    assert nodes.count() >= 3, "a product between its sources and its uses"
    labels = nodes.locator("text.node-label").all_text_contents()
    assert any("cement" in label for label in labels), labels
    visits.shot(page, "cement")

    # the amounts of the links drawn (d3's data bound to each SVG path)
    drawn = links.evaluate_all("paths => paths.map(path => path.__data__.link.value)")
    text = _download(page, lambda: sankey.get_by_role("link", name="download CSV").click())
    assert _close(_numbers(text, "amount"), sorted(float(v) for v in drawn)), (text, drawn)

    # another year: the figure follows
    page.get_by_label("Year").select_option("2025")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"year=2025"))
    redrawn = page.locator("section.panel").filter(has=page.locator("g.sankey")).first
    expect(redrawn.locator("h2")).to_contain_text("2025")
    expect(redrawn.locator("g.sankey-node").first).to_be_visible()
    visits.shot(page, "cement-2025")


def test_the_trajectories_valuations_and_report_pages_open(visits: Visits, server: Server) -> None:
    page = visits.as_user("planner")
    page.get_by_role("link", name="Trajectories").click()
    expect(page.locator("h1")).to_have_text("Trajectories")
    page.get_by_label("Facility").fill(OWN_FACILITY)
    page.get_by_role("button", name="Show").click()
    trajectory = page.locator(f"section[id^=trajectory-{OWN_FACILITY}]")
    expect(trajectory.locator("tbody tr").first).to_be_visible()
    expect(trajectory.locator(".js-plotly-plot")).to_be_visible()
    visits.shot(page, "trajectories")

    page.get_by_role("link", name="Valuations").click()
    expect(page.locator("h1")).to_have_text("Valuations and bottlenecks")
    expect(page.locator("section#bottlenecks tbody tr").first).to_be_visible()
    assert not tables_cut(page), tables_cut(page)
    # a limit of no one year shows no year 0
    assert "0" not in column(page, "bottlenecks", "year")
    visits.shot(page, "valuations")

    page.get_by_role("link", name="Dashboard").click()
    page.get_by_role("link", name="Plan report").click()
    expect(page.locator("h1")).to_contain_text("Plan report")
    provenance = page.locator("table.provenance")
    expect(provenance).to_contain_text("plan hash")
    expect(provenance).to_contain_text("HiGHS")
    assert not tables_cut(page), tables_cut(page)
    visits.shot(page, "report")
    with page.expect_download() as info:
        page.get_by_role("link", name="Download as Excel").click()
    assert Path(info.value.path()).read_bytes()[:2] == b"PK"
    with page.expect_download() as info:
        page.get_by_role("link", name="Download as one page").click()
    assert "plan hash" in Path(info.value.path()).read_text(encoding="utf-8")

    for path, status in (("/products/unobtainium", "404"), ("/valuations?top=0", "422")):
        page.goto(path)
        expect(page.locator("h1")).to_have_text(status)
        expect(page.locator("header form.who span")).to_contain_text("planner")
        expect(page.locator("header nav a", has_text="Valuations")).to_be_visible()
        visits.shot(page, f"error-{status}")

    page.goto("/versions")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator("h1")).to_contain_text("From version")
    visits.shot(page, "diff")
