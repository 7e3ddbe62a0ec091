"""Who may call which route: the one table the server enforces (:mod:`econplan.web.auth`) for
every route, rendered in docs/web.md. A route missing from it is refused to everyone (and a
test that walks every route fails).

Each route names an action of :data:`econplan.execution.access.PERMISSIONS` (whose roles may
call it) and a scope rule for the two scoped roles (regional planner, enterprise):

- ``national``: the whole economy's figures; refused to a user with only scoped roles.
- ``unit``: the request names a facility or a region (path or query) within the user's scope;
  a scoped user who names none is refused.
- ``filtered``: what is returned is cut down to the user's scope (or the store refuses
  what lies outside it, as it does reports for another's facility).
- ``public``: anyone, without logging in (the login itself, health, the static files).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from econplan.execution.access import PERMISSIONS, READ, ROLES, SCOPED

SCOPES = ("public", "national", "unit", "filtered")


@dataclass(frozen=True)
class Policy:
    action: str  # an action of PERMISSIONS; "" for a public route
    scope: str

    def roles(self) -> frozenset[str]:
        """The roles that may call the route (every role for a public one)."""
        if self.scope == "public":
            return frozenset(ROLES)
        allowed = PERMISSIONS[self.action]
        return allowed - set(SCOPED) if self.scope == "national" else allowed


PUBLIC = Policy("", "public")
READ_NATIONAL = Policy(READ, "national")
READ_UNIT = Policy(READ, "unit")
READ_FILTERED = Policy(READ, "filtered")

POLICIES: dict[tuple[str, str], Policy] = {
    # -- the API's own description (no data in it) ------------------------------------------
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    # -- the JSON API ------------------------------------------------------------------------
    ("GET", "/api/health"): PUBLIC,
    ("POST", "/api/token"): PUBLIC,
    ("GET", "/api/me"): READ_FILTERED,
    ("GET", "/api/versions"): READ_FILTERED,
    ("GET", "/api/versions/{version}"): READ_NATIONAL,
    ("POST", "/api/versions/{version}/submit"): Policy("store.submit", "national"),
    ("POST", "/api/versions/{version}/approve"): Policy("store.approve", "national"),
    ("POST", "/api/versions/{version}/reject"): Policy("store.reject", "national"),
    ("GET", "/api/versions/{first}/diff/{second}"): READ_NATIONAL,
    ("GET", "/api/control-figures"): READ_UNIT,
    ("GET", "/api/reports"): READ_UNIT,
    ("POST", "/api/reports"): Policy("report.import", "filtered"),
    ("GET", "/api/monitoring/fulfilment"): READ_FILTERED,
    ("GET", "/api/monitoring/alerts"): READ_FILTERED,
    ("GET", "/api/monitoring/targets-at-risk"): READ_NATIONAL,
    ("GET", "/api/jobs"): READ_NATIONAL,
    ("POST", "/api/jobs"): Policy("store.add", "national"),
    ("GET", "/api/jobs/{job}"): READ_NATIONAL,
    # -- the pages ---------------------------------------------------------------------------
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): READ_FILTERED,
    ("GET", "/assets/plotly.js"): PUBLIC,
    ("GET", "/"): READ_FILTERED,
    ("GET", "/versions"): READ_FILTERED,
    ("POST", "/versions/{version}/submit"): Policy("store.submit", "national"),
    ("POST", "/versions/{version}/approve"): Policy("store.approve", "national"),
    ("POST", "/versions/{version}/reject"): Policy("store.reject", "national"),
    ("GET", "/versions/diff"): READ_NATIONAL,
    ("GET", "/products/{product}"): READ_NATIONAL,
    ("GET", "/trajectories"): READ_UNIT,
    ("GET", "/valuations"): READ_NATIONAL,
    ("GET", "/enterprises/{facility}"): READ_UNIT,
    ("POST", "/enterprises/{facility}/reports"): Policy("report.import", "unit"),
    ("POST", "/enterprises/{facility}/reports.csv"): Policy("report.import", "unit"),
    ("GET", "/jobs"): READ_NATIONAL,
    ("POST", "/jobs"): Policy("store.add", "national"),
    ("GET", "/jobs/{job}"): READ_NATIONAL,
    ("GET", "/report/{version}"): READ_NATIONAL,
    ("GET", "/report/{version}.xlsx"): READ_NATIONAL,
    ("GET", "/report/{version}.html"): READ_NATIONAL,
}
"""(method, route path) -> policy."""

PUBLIC_MOUNTS = ("/static",)
"""Mounted folders anyone may read: the style sheet and the pages' script."""


def app_routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path) the application serves, routers included (HEAD, which Starlette
    adds to every GET, left out), and every mounted folder as ("MOUNT", path)."""
    found: list[tuple[str, str]] = []

    def walk(routes: list[Any]) -> None:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):  # an included router
                walk(list(route.effective_route_contexts()))
            elif hasattr(route, "methods") and route.methods:
                found.extend((m, route.path) for m in sorted(route.methods) if m != "HEAD")
            elif hasattr(route, "routes") or hasattr(route, "app"):
                found.append(("MOUNT", route.path))

    walk(list(app.routes))
    return found


def markdown() -> str:
    """The table as Markdown, for docs/web.md (a test keeps the two the same)."""
    roles = list(ROLES)
    lines = [
        "| method | route | action | scope | " + " | ".join(roles) + " |",
        "|---|---|---|---|" + "---|" * len(roles),
    ]
    for (method, path), policy in POLICIES.items():
        allowed = policy.roles()
        marks = " | ".join("yes" if role in allowed else "" for role in roles)
        action = policy.action or "(none)"
        lines.append(f"| {method} | `{path}` | {action} | {policy.scope} | {marks} |")
    return "\n".join(lines) + "\n"
