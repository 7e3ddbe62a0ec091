"""The pages: server-rendered HTML (Jinja2) with a little script, one handler per page. The
numbers come from the library (and, as figures, from :mod:`econplan.reporting`); who may open
which page is decided before a handler runs (:mod:`econplan.web.auth`).

Server-rendered rather than a single-page front end: every page works with a plain form post
and a reload, needs no build step and no second copy of the API's rules, and a page's figures
are the same frames the API serves.
"""

from __future__ import annotations

import io
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from econplan.analysis.balance import Balance
from econplan.execution.reports import report_id
from econplan.execution.store import jobs as job_table
from econplan.execution.store.credentials import check_password, close_session, open_session
from econplan.reporting import figures
from econplan.reporting.plan_report import Report, build_report, write_html, write_xlsx
from econplan.web import panels
from econplan.web.api import LARGEST_ID, PERIOD, Id, import_frame
from econplan.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Caller,
    authorize,
    check_login_csrf,
    context,
)
from econplan.web.context import Context, Loaded, NotFound
from econplan.web.render import Panel, page, templates
from econplan.web.scope import Scope

router = APIRouter(include_in_schema=False)

Ctx = Annotated[Context, Depends(context)]
Who = Annotated[Caller, Depends(authorize)]
VersionQuery = Annotated[int | None, Query(ge=1, le=LARGEST_ID)]
AsOf = Annotated[str | None, Query(pattern=PERIOD)]


def _local(target: str) -> str:
    """Where to go after logging in: a path of this site only (never another site)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


# -- logging in and out ---------------------------------------------------------------------------
@router.get("/login")
def login_form(request: Request, next: str = "/", failed: bool = False) -> Response:
    token = secrets.token_urlsafe(32)
    response = templates.TemplateResponse(
        request,
        "login.html",
        {"user": None, "csrf": token, "next": _local(next), "failed": failed},
        status_code=401 if failed else 200,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/login", dependencies=[Depends(check_login_csrf)])
def login(
    request: Request,
    ctx: Ctx,
    name: Annotated[str, Form(max_length=200)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form()] = "/",
) -> Response:
    user = check_password(ctx.store, name, password)
    if user is None:
        return login_form(request, next, failed=True)
    secret, _ = open_session(ctx.store, user.name, "cookie")
    response = RedirectResponse(_local(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, ctx: Ctx) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret:
        close_session(ctx.store, secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/assets/plotly.js")
def plotly_js() -> Response:
    """plotly.js from the plotly package's own copy: the pages load nothing from elsewhere."""
    from plotly.offline import get_plotlyjs

    return Response(
        get_plotlyjs(),
        media_type="application/javascript",
        headers={"Cache-Control": "public, max-age=86400"},
    )


# -- the dashboard and the versions -----------------------------------------------------------
@router.get("/")
def dashboard(request: Request, ctx: Ctx, who: Who, as_of: AsOf = None) -> Response:
    user = who.require_user()
    version = ctx.in_force()
    if version is None:
        return page(request, who, "dashboard.html", version=None)
    loaded = ctx.load(version.id)
    scope = Scope(user, loaded.economy)
    # a scoped user's month is that of its own units (docs/web.md, "Reports through")
    found = ctx.monitoring(loaded, as_of, None if scope.whole else scope.facilities)
    month = found.as_of if found else None
    shown = ctx.remembered(
        ("dashboard", version.id, month, "" if scope.whole else user.name),
        lambda: panels.dashboard(loaded, ctx.reports(loaded, month), found, scope),
        reported=True,
    )
    units = loaded.figures.activity
    own = sorted(scope.facilities & set(units["facility"])) if not scope.whole else []
    regions = loaded.economy.tables["facilities"].set_index("id")["region"]
    by_region: dict[str, list[str]] = {}
    for facility in own:  # a region's ~90 units read as a list per region, not one wall
        by_region.setdefault(str(regions.get(facility, "")), []).append(facility)
    return page(
        request,
        who,
        "dashboard.html",
        shown,
        version=version,
        as_of=found.as_of if found else None,
        whole=scope.whole,
        own=own,
        own_by_region=sorted(by_region.items()),
        inline_units=panels.OWN_FULFILMENT,
    )


@router.get("/versions")
def versions(request: Request, ctx: Ctx, who: Who) -> Response:
    listed = list(reversed(ctx.store.versions()))
    return page(request, who, "versions.html", versions=listed)


def _move(action: str) -> Callable[..., Response]:
    def move(
        ctx: Ctx, who: Who, version: Id, note: Annotated[str, Form(max_length=2000)] = ""
    ) -> Response:
        ctx.version(version)
        getattr(ctx.store, action)(who.require_user().name, version, note)
        return RedirectResponse("/versions", status_code=303)

    move.__name__ = f"page_{action}"
    return move


for _action in ("submit", "approve", "reject"):
    router.post(f"/versions/{{version}}/{_action}")(_move(_action))


@router.get("/versions/diff")
def diff(
    request: Request,
    ctx: Ctx,
    who: Who,
    first: Annotated[int, Query(ge=1, le=LARGEST_ID)],
    second: Annotated[int, Query(ge=1, le=LARGEST_ID)],
) -> Response:
    old, new = ctx.version(first), ctx.version(second)
    found = ctx.diff(first, second)
    shown = [
        Panel("diff-targets", "Targets", found.targets),
        Panel("diff-activity", "Activity moved", found.activity),
        Panel("diff-objectives", "Objectives", found.objectives),
        Panel("diff-valuations", "Valuations that moved", found.valuations),
    ]
    return page(request, who, "diff.html", shown, old=old, new=new, status_pair=found.status)


# -- products, trajectories, valuations ---------------------------------------------------------
@router.get("/products/{product}")
def product(
    request: Request,
    ctx: Ctx,
    who: Who,
    product: str,
    version: VersionQuery = None,
    year: Annotated[int | None, Query(ge=1, le=9999)] = None,
    region: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    region = region or None  # the page's form sends a blank field for "all regions"
    loaded = ctx.load(version)
    economy = loaded.economy
    if product not in economy.product_ids:
        raise NotFound(f"no product {product!r} in this economy")
    year = year or economy.settings.first_year
    shown = ctx.remembered(
        ("product", loaded.version.id, product, year, region),
        lambda: panels.product(loaded, _balance(ctx, loaded), product, year, region),
        reported=False,
    )
    names = economy.tables["products"].set_index("id")
    return page(
        request,
        who,
        "product.html",
        shown,
        version=loaded.version,
        product=product,
        name=names.loc[product, "name"],
        unit=names.loc[product, "unit"],
        year=year,
        years=list(economy.years),
        region=region,
    )


@router.get("/trajectories")
def trajectories(
    request: Request,
    ctx: Ctx,
    who: Who,
    version: VersionQuery = None,
    as_of: AsOf = None,
    facility: Annotated[str | None, Query(max_length=200)] = None,
    product: Annotated[str | None, Query(max_length=200)] = None,
    region: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    # the page's form sends its blank fields too: blank is "not chosen"
    facility, product, region = facility or None, product or None, region or None
    loaded = ctx.load(version)
    found = ctx.monitoring(loaded, as_of, [facility] if facility else None)
    month = found.as_of if found else None
    shown = ctx.remembered(
        ("trajectory", loaded.version.id, month, facility, product, region),
        lambda: panels.trajectory(
            loaded, ctx.reports(loaded, month), found, facility, product, region
        ),
        reported=True,
    )
    return page(
        request,
        who,
        "trajectories.html",
        shown,
        version=loaded.version,
        facility=facility,
        product=product,
        region=region,
        as_of=found.as_of if found else None,
    )


@router.get("/valuations")
def valuations(
    request: Request,
    ctx: Ctx,
    who: Who,
    version: VersionQuery = None,
    top: Annotated[int, Query(ge=1, le=500)] = 20,
) -> Response:
    loaded = ctx.load(version)
    shown = ctx.remembered(
        ("valuations", loaded.version.id, top),
        lambda: panels.valuations(loaded, top),
        reported=False,
    )
    return page(request, who, "valuations.html", shown, version=loaded.version)


# -- an enterprise ------------------------------------------------------------------------------
@router.get("/enterprises/{facility}")
def enterprise(
    request: Request,
    ctx: Ctx,
    who: Who,
    facility: str,
    version: VersionQuery = None,
    year: Annotated[int | None, Query(ge=1, le=9999)] = None,
    as_of: AsOf = None,
    done: str = "",
) -> Response:
    loaded = ctx.load(version)
    units = loaded.figures.activity
    if facility not in set(units["facility"]):
        raise NotFound(f"{facility!r} has no control figures in version {loaded.version.id}")
    found = ctx.monitoring(loaded, as_of, [facility])  # the month this facility reported through
    year = year or (int(found.as_of[:4]) if found else loaded.economy.settings.first_year)
    month = found.as_of if found else None
    shown, form = ctx.remembered(
        ("enterprise", loaded.version.id, facility, year, month),
        lambda: panels.enterprise(loaded, ctx.reports(loaded), found, facility, year),
        reported=True,
    )
    names = loaded.economy.tables["facilities"].set_index("id")
    return page(
        request,
        who,
        "enterprise.html",
        shown,
        version=loaded.version,
        facility=facility,
        name=names.loc[facility, "name"] if facility in names.index else facility,
        year=year,
        years=list(loaded.economy.years),
        form=form,
        as_of=found.as_of if found else None,
        done=done,
        next_period=panels.next_period(ctx.reports(loaded), facility, loaded.economy),
    )


@router.post("/enterprises/{facility}/reports")
async def enterprise_report(request: Request, ctx: Ctx, who: Who, facility: str) -> Response:
    """The report form: one amount per figure of the month (blank: not reported)."""
    form = await request.form()
    period = str(form.get("period", ""))
    note = str(form.get("note", ""))
    rows = []
    for key, value in form.multi_items():
        if not key.startswith("amount:") or not str(value).strip():
            continue
        _, kind, item = key.split(":", 2)
        rows.append(
            {
                "report": report_id(facility, period),
                "facility": facility,
                "period": period,
                "kind": kind,
                "product": item,
                "amount": str(value).strip(),
                "unit": None,
                "note": note or None,
            }
        )
    if not rows:
        raise HTTPException(422, "give at least one amount")
    loaded = ctx.load(None)
    done = import_frame(ctx, who.require_user(), loaded.version.id, pd.DataFrame(rows), "form")
    return RedirectResponse(
        f"/enterprises/{facility}?done={len(done.added)}+new,+{len(done.corrected)}+corrected,"
        f"+{len(done.unchanged)}+unchanged",
        status_code=303,
    )


@router.post("/enterprises/{facility}/reports.csv")
async def enterprise_upload(
    ctx: Ctx, who: Who, facility: str, file: Annotated[UploadFile, File()]
) -> Response:
    """A report file (the format of `econplan report template`) for this facility."""
    content = await file.read(10_000_001)
    if len(content) > 10_000_000:
        raise HTTPException(413, "a report file of at most 10 MB")
    try:
        frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False)
    except (ValueError, UnicodeDecodeError) as error:
        raise HTTPException(422, f"{file.filename}: not a CSV file of reports ({error})") from None
    if "facility" in frame and not frame["facility"].isin([facility]).all():
        raise HTTPException(422, f"{file.filename}: every row must be {facility}'s")
    frame = frame.replace("", None)
    loaded = ctx.load(None)
    done = import_frame(ctx, who.require_user(), loaded.version.id, frame, str(file.filename))
    return RedirectResponse(
        f"/enterprises/{facility}?done={len(done.added)}+new,+{len(done.corrected)}+corrected,"
        f"+{len(done.unchanged)}+unchanged",
        status_code=303,
    )


# -- jobs ---------------------------------------------------------------------------------------
@router.get("/jobs")
def jobs(request: Request, ctx: Ctx, who: Who) -> Response:
    listed = job_table.jobs(ctx.store)
    return page(
        request, who, "jobs.html", jobs=listed, versions=list(reversed(ctx.store.versions()))
    )


@router.post("/jobs")
def start_job(
    ctx: Ctx,
    who: Who,
    kind: Annotated[str, Form(pattern="^(plan|replan)$")],
    version: Annotated[int, Form(ge=1, le=LARGEST_ID)],
    as_of: Annotated[str, Form()] = "",
) -> Response:
    found = ctx.version(version)
    if kind == "replan" and not pd.Series([as_of]).str.fullmatch(PERIOD[1:-1]).iat[0]:
        raise HTTPException(422, "a re-plan needs the last month reported, as YYYY-MM")
    params = {"version": found.id, "line": found.line, "as_of": as_of or None}
    job = ctx.worker.submit(who.require_user().name, kind, params)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


@router.get("/jobs/{job}")
def job(request: Request, ctx: Ctx, who: Who, job: Id) -> Response:
    return page(request, who, "job.html", job=ctx.job(job))


# -- the plan report ----------------------------------------------------------------------------
def _report(ctx: Context, version: int) -> Report:
    """The plan report of ``version``: the definition `econplan report-plan` renders
    (:func:`econplan.reporting.plan_report.build_report`), kept until the version's state
    changes (its provenance says who approved it)."""
    found = ctx.version(version)
    return ctx.remembered(
        ("report", found.id, found.state, found.decided_at),
        lambda: build_report(ctx.store, found.id),
        reported=False,
    )


def _written(report: Report, write: Callable[[Report, Path], None], name: str) -> bytes:
    """The file a plan report writer writes, as `econplan report-plan` writes it."""
    with tempfile.TemporaryDirectory(prefix="econplan-report-") as scratch:
        path = Path(scratch) / name
        write(report, path)
        return path.read_bytes()


def _attachment(content: bytes, media_type: str, name: str) -> Response:
    disposition = f'attachment; filename="{name}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})


@router.get("/report/{version}.xlsx")
def report_xlsx(ctx: Ctx, version: Id) -> Response:
    """The workbook (defined before the page: its path would take "3.xlsx" as a version)."""
    name = f"plan-report-v{version}.xlsx"
    return _attachment(
        _written(_report(ctx, version), write_xlsx, name),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        name,
    )


@router.get("/report/{version}.html")
def report_html(ctx: Ctx, version: Id) -> Response:
    """The report as one self-contained page (plotly.js inlined): it works offline."""
    name = f"plan-report-v{version}.html"
    return _attachment(
        _written(_report(ctx, version), write_html, name), "text/html; charset=utf-8", name
    )


@router.get("/report/{version}")
def report(request: Request, ctx: Ctx, who: Who, version: Id) -> Response:
    found = _report(ctx, version)
    sections = panels.report(found)
    return page(
        request,
        who,
        "report.html",
        [panel for section in sections for panel in section.panels],
        version=ctx.version(version),
        title=found.title,
        sections=sections,
        provenance=found.provenance,
    )


def _balance(ctx: Context, loaded: Loaded) -> Balance:
    """The plan's material balance, every product (computed once per version)."""
    return ctx.remembered(
        ("balance", loaded.version.id),
        lambda: figures.plan_balance(loaded.plan, loaded.economy),
        reported=False,
    )
