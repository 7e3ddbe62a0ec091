"""The JSON API under /api: versions and their approval, control figures, reports,
monitoring and jobs. Who may call what is decided before a handler runs
(:mod:`econplan.web.auth`); a handler only cuts results to the caller's scope where its
policy says ``filtered``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query
from pydantic import BaseModel, Field

from econplan.execution.access import User
from econplan.execution.reports import check_reports
from econplan.execution.store import Version
from econplan.execution.store import jobs as job_table
from econplan.execution.store.credentials import check_password, open_session
from econplan.plan.output import jsonable
from econplan.web.auth import Caller, authorize, context
from econplan.web.context import Context, NotFound
from econplan.web.scope import Scope

PERIOD = r"^\d{4}-(0[1-9]|1[0-2])$"
LARGEST_ID = 2**31 - 1
"""Ids beyond what every database's integer holds are refused as bad input."""
Id = Annotated[int, Path(ge=1, le=LARGEST_ID)]
Cell = str | float | int | bool | None
Records = list[dict[str, Cell]]

router = APIRouter(prefix="/api")


def records(frame: pd.DataFrame) -> Records:
    clean = frame.astype(object).where(frame.notna(), None)
    return [jsonable(r) for r in clean.to_dict(orient="records")]


class Health(BaseModel):
    status: Literal["ok"]


class TokenRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    password: str = Field(min_length=1, max_length=1000)


class Token(BaseModel):
    token: str
    token_type: Literal["bearer"]
    user: str
    expires_at: str


class UserOut(BaseModel):
    name: str
    roles: list[str]
    regions: list[str]
    facilities: list[str]

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            name=user.name,
            roles=sorted(user.roles),
            regions=sorted(user.regions),
            facilities=sorted(user.facilities),
        )


class VersionOut(BaseModel):
    id: int
    line: str
    number: int
    label: str
    plan: str
    economy: str
    state: str
    revises: int | None
    note: str
    created_at: str
    created_by: str
    submitted_at: str | None
    submitted_by: str | None
    decided_at: str | None
    decided_by: str | None

    @classmethod
    def of(cls, version: Version) -> VersionOut:
        return cls(**version.record(), label=version.label)


class VersionDetail(VersionOut):
    objectives: dict[str, Any] | None
    targets: Records


class Note(BaseModel):
    note: str = Field(default="", max_length=2000)


class Table(BaseModel):
    version: int
    rows: Records


class ReportRow(BaseModel):
    report: str = Field(min_length=1, max_length=200)
    facility: str | None = Field(default=None, max_length=200)
    period: str = Field(pattern=PERIOD)
    kind: Literal["output", "input", "labour", "construction"]
    product: str = Field(min_length=1, max_length=200)
    amount: float = Field(ge=0, allow_inf_nan=False)
    unit: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class ReportsIn(BaseModel):
    version: int | None = Field(
        default=None, ge=1, le=LARGEST_ID, description="Checked against (default: in force)"
    )
    rows: list[ReportRow] = Field(min_length=1, max_length=100_000)


class ImportOut(BaseModel):
    version: int
    added: list[str]
    corrected: list[str]
    unchanged: list[str]
    rows: int


class Problems(BaseModel):
    detail: str
    problems: list[str]


class Monitored(BaseModel):
    version: int
    as_of: str | None
    rows: Records


class JobIn(BaseModel):
    kind: Literal["plan", "replan"]
    version: int = Field(ge=1, le=LARGEST_ID)
    as_of: str | None = Field(default=None, pattern=PERIOD)
    line: str | None = Field(default=None, min_length=1, max_length=200)


class JobOut(BaseModel):
    id: int
    kind: str
    state: str
    params: dict[str, Any]
    progress: str
    created_at: str
    created_by: str
    started_at: str | None
    finished_at: str | None
    result_version: int | None
    error: str | None


Ctx = Annotated[Context, Depends(context)]
Who = Annotated[Caller, Depends(authorize)]
VersionQuery = Annotated[
    int | None, Query(ge=1, le=LARGEST_ID, description="Default: the version in force")
]
AsOf = Annotated[str | None, Query(pattern=PERIOD, description="Default: the last reported")]
REFUSED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Not logged in"},
    403: {"description": "Not allowed"},
    404: {"description": "Not found"},
    # what the application answers for bad input (a parameter, or a month or year the plan
    # cannot be monitored in), not FastAPI's default shape: app.py's handlers
    422: {"model": Problems, "description": "Bad input: what is wrong and what to give"},
}


@router.get("/health")
def health() -> Health:
    return Health(status="ok")


@router.post("/token", responses={401: {"description": "Wrong name or password"}})
def token(ctx: Ctx, given: TokenRequest) -> Token:
    """A bearer token for the API, for a user's name and password."""
    user = check_password(ctx.store, given.name, given.password)
    if user is None:
        raise HTTPException(401, "wrong name or password")
    secret, session = open_session(ctx.store, user.name, "bearer")
    return Token(token=secret, token_type="bearer", user=user.name, expires_at=session.expires_at)


@router.get("/me", responses=REFUSED)
def me(who: Who) -> UserOut:
    return UserOut.of(who.require_user())


@router.get("/versions", responses=REFUSED)
def versions(ctx: Ctx) -> list[VersionOut]:
    return [VersionOut.of(v) for v in ctx.store.versions()]


@router.get("/versions/{version}", responses=REFUSED)
def version(ctx: Ctx, version: Id) -> VersionDetail:
    found = ctx.version(version)
    plan = ctx.store.plan(version)
    return VersionDetail(
        **VersionOut.of(found).model_dump(),
        objectives=jsonable(plan.info.get("objectives")),
        targets=records(plan.tables["targets"]),
    )


def _move(action: str) -> Any:
    def move(
        ctx: Ctx, who: Who, version: Id, body: Annotated[Note | None, Body()] = None
    ) -> VersionOut:
        ctx.version(version)
        moved = getattr(ctx.store, action)(
            who.require_user().name, version, body.note if body else ""
        )
        return VersionOut.of(moved)

    move.__name__ = action
    move.__doc__ = f"{action.capitalize()} a version (the store's rules: docs/execution.md)."
    return move


for _action in ("submit", "approve", "reject"):
    router.post(
        f"/versions/{{version}}/{_action}",
        responses=REFUSED | {409: {"description": "Not in a state that allows it"}},
    )(_move(_action))


@router.get("/versions/{first}/diff/{second}", responses=REFUSED)
def diff(
    ctx: Ctx, first: Id, second: Id, top: Annotated[int, Query(ge=1, le=1000)] = 20
) -> dict[str, Any]:
    """What changed from one version's plan to another's."""
    found = ctx.diff(first, second)
    result: dict[str, Any] = jsonable(found.to_dict(top))
    return {"from": first, "to": second} | result


@router.get("/control-figures", responses=REFUSED | {400: {"description": "No unit named"}})
def control_figures(
    ctx: Ctx,
    version: VersionQuery = None,
    facility: Annotated[str | None, Query(max_length=200)] = None,
    region: Annotated[str | None, Query(max_length=200)] = None,
    year: Annotated[int | None, Query(ge=1, le=9999)] = None,
) -> Table:
    """A facility's or a region's control figures by month."""
    loaded = ctx.load(version)
    figures = loaded.figures.figures
    if facility:
        figures = figures[figures["facility"] == facility]
    elif region:
        members = loaded.figures.regions.get(region)
        if members is None:
            raise NotFound(f"no region {region}")
        figures = figures[figures["region"].isin(members)]
    else:
        raise HTTPException(400, "name a facility or a region")
    if year is not None:
        figures = figures[figures["year"] == year]
    return Table(version=loaded.version.id, rows=records(figures))


@router.get("/reports", responses=REFUSED)
def reports(
    ctx: Ctx,
    who: Who,
    version: VersionQuery = None,
    facility: Annotated[str | None, Query(max_length=200)] = None,
    region: Annotated[str | None, Query(max_length=200)] = None,
    period: Annotated[str | None, Query(pattern=PERIOD)] = None,
) -> Table:
    """The current reports of the version's economy, for a facility or a region."""
    loaded = ctx.load(version)
    frame = ctx.reports(loaded)
    if facility:
        frame = frame[frame["facility"] == facility]
    if region:
        members = loaded.figures.regions.get(region, ())
        units = loaded.figures.activity
        inside = units.loc[units["region"].isin(members), "facility"]
        frame = frame[frame["facility"].isin(inside)]
    if period:
        frame = frame[frame["period"] == period]
    frame = Scope(who.require_user(), loaded.economy).rows(frame)
    return Table(version=loaded.version.id, rows=records(frame))


@router.post(
    "/reports",
    responses=REFUSED | {409: {"description": "Refused by the store"}, 422: {"model": Problems}},
)
def post_reports(ctx: Ctx, who: Who, given: ReportsIn) -> ImportOut:
    """Store reports, all or none: a report id sent again with the same rows changes nothing
    (so a client may resend what it is not sure arrived), with other rows it is a correction."""
    loaded = ctx.load(given.version)
    frame = pd.DataFrame([r.model_dump() for r in given.rows])
    return import_frame(ctx, who.require_user(), loaded.version.id, frame, "api")


def import_frame(
    ctx: Context, user: User, version: int, frame: pd.DataFrame, source: str
) -> ImportOut:
    """Check reports as a file is checked, then store them (the pages' form and upload too)."""
    loaded = ctx.load(version)
    settings = loaded.economy.settings
    checked = check_reports(
        frame, loaded.economy, (settings.first_year, settings.last_year), source
    )
    done = ctx.store.import_reports(
        user.name, checked.with_notes(), loaded.economy, f"{source}:{user.name}"
    )
    return ImportOut(version=version, rows=len(checked.frame), **done.to_dict())


@router.get("/monitoring/fulfilment", responses=REFUSED)
def fulfilment(
    ctx: Ctx,
    who: Who,
    version: VersionQuery = None,
    as_of: AsOf = None,
    level: Annotated[Literal["facility", "product", "region", "nation"] | None, Query()] = None,
) -> Monitored:
    """Plan and actual to date, fulfilment and the year's forecast of every series."""
    loaded = ctx.load(version)
    found = ctx.monitoring(loaded, as_of)
    if found is None:
        return Monitored(version=loaded.version.id, as_of=None, rows=[])
    status = found.status if level is None else found.status[found.status["level"] == level]
    status = Scope(who.require_user(), loaded.economy).rows(status)
    return Monitored(version=loaded.version.id, as_of=found.as_of, rows=records(status))


@router.get("/monitoring/alerts", responses=REFUSED)
def alerts(
    ctx: Ctx,
    who: Who,
    version: VersionQuery = None,
    as_of: AsOf = None,
    firing: bool = False,
) -> Monitored:
    """Every alert episode of the year, with its escalation."""
    loaded = ctx.load(version)
    found = ctx.monitoring(loaded, as_of)
    if found is None:
        return Monitored(version=loaded.version.id, as_of=None, rows=[])
    frame = found.alerts[found.alerts["state"] == "firing"] if firing else found.alerts
    frame = Scope(who.require_user(), loaded.economy).rows(frame)
    return Monitored(version=loaded.version.id, as_of=found.as_of, rows=records(frame))


@router.get("/monitoring/targets-at-risk", responses=REFUSED)
def targets_at_risk(ctx: Ctx, version: VersionQuery = None, as_of: AsOf = None) -> Monitored:
    """The plan's targets and products that firing alerts put at risk downstream."""
    loaded = ctx.load(version)
    found = ctx.monitoring(loaded, as_of)
    if found is None:
        return Monitored(version=loaded.version.id, as_of=None, rows=[])
    return Monitored(version=loaded.version.id, as_of=found.as_of, rows=records(found.at_risk))


@router.get("/jobs", responses=REFUSED)
def jobs(ctx: Ctx) -> list[JobOut]:
    return [JobOut(**j.to_dict()) for j in job_table.jobs(ctx.store)]


@router.post("/jobs", status_code=202, responses=REFUSED)
def post_job(ctx: Ctx, who: Who, given: JobIn) -> JobOut:
    """Queue a long job: ``plan`` solves the economy of ``version`` again, ``replan`` plans
    ``version`` again from the reports through ``as_of``; each ends in a new draft version."""
    found = ctx.version(given.version)
    if given.kind == "replan" and given.as_of is None:
        raise HTTPException(422, "a re-plan needs as_of, the last month reported (YYYY-MM)")
    params = {"version": found.id, "line": given.line or found.line, "as_of": given.as_of}
    job = ctx.worker.submit(who.require_user().name, given.kind, params)
    return JobOut(**job.to_dict())


@router.get("/jobs/{job}", responses=REFUSED)
def job(ctx: Ctx, job: Id) -> JobOut:
    return JobOut(**ctx.job(job).to_dict())
