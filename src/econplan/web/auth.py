"""The one dependency that guards every route: who is calling (a page's session cookie or an
API bearer token), whether the route's policy (:mod:`econplan.web.policy`) lets them, and, for
a form posted with a cookie, whether it carries the session's CSRF token.

Sessions are rows in the store (:mod:`econplan.execution.store.credentials`), so logging out
or changing a password ends them at once; docs/web.md says why rather than signed tokens.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import HTTPException, Request

from econplan.execution.access import AccessError, User
from econplan.execution.store.credentials import Session, find_session
from econplan.web.context import Context
from econplan.web.policy import POLICIES, Policy
from econplan.web.scope import Scope, facility_regions

SESSION_COOKIE = "econplan_session"
LOGIN_CSRF_COOKIE = "econplan_login_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"


class LoginRequiredError(Exception):
    """No valid session or token: a page sends the browser to the login page, the API
    answers 401."""


@dataclass(frozen=True)
class Caller:
    """Who called and under which policy; ``user`` is None on a public route."""

    policy: Policy
    user: User | None
    session: Session | None

    def require_user(self) -> User:
        if self.user is None:
            raise LoginRequiredError()
        return self.user


def context(request: Request) -> Context:
    found: Context = request.app.state.context
    return found


def _session(request: Request, ctx: Context) -> Session | None:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return None
        return find_session(ctx.store, secret.strip(), "bearer")
    cookie = request.cookies.get(SESSION_COOKIE)
    return find_session(ctx.store, cookie, "cookie") if cookie else None


async def _check_csrf(request: Request, expected: str) -> None:
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        value = (await request.form()).get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not given or not expected or not secrets.compare_digest(given, expected):
        raise HTTPException(403, "the form's CSRF token is missing or stale: reload the page")


async def check_login_csrf(request: Request) -> None:
    """The login form has no session yet: its token is double-submitted (a cookie set with
    the form, and the same value in the form)."""
    await _check_csrf(request, request.cookies.get(LOGIN_CSRF_COOKIE, ""))


def _check_unit(request: Request, ctx: Context, user: User, action: str) -> None:
    params = {**request.query_params, **request.path_params}
    facility, region = params.get("facility"), params.get("region")
    if user.unscoped_for(action):
        return
    if not facility and not region:
        raise HTTPException(403, f"{user.name}: name one of your facilities or regions")
    version = params.get("version")
    economy = ctx.load(int(version) if version and version.isdigit() else None).economy
    scope = Scope(user, economy)
    if facility:
        try:
            user.require_facilities([facility], facility_regions(economy), action)
        except AccessError as error:
            raise HTTPException(403, str(error)) from None
    if region and not (user.regions and scope.sees_region(region)):
        raise HTTPException(403, f"{user.name} may not see region {region}: not theirs")


def logged_in(request: Request) -> Session | None:
    """The caller's session, whatever the route's policy: an error page is drawn in the
    normal layout (the nav, who is logged in) even where the guard refused the route. Never
    raises: a broken store or cookie leaves the page without a user."""
    try:
        return _session(request, context(request))
    except Exception:  # an error page must be drawn whatever went wrong
        return None


async def authorize(request: Request) -> Caller:
    """Applied to every route: the caller, or 401/403 before the route runs."""
    route = request.scope.get("route")
    policy = POLICIES.get((request.method, getattr(route, "path", "")))
    if policy is None:  # fail closed: a route nobody gave a policy serves nobody
        raise HTTPException(403, "this route has no access policy")
    if policy.scope == "public":
        return Caller(policy, None, None)
    ctx = context(request)
    session = _session(request, ctx)
    if session is None:
        raise LoginRequiredError()
    user = session.user
    try:
        user.require(policy.action)
    except AccessError as error:
        raise HTTPException(403, str(error)) from None
    if policy.scope == "national" and not user.unscoped_for(policy.action):
        raise HTTPException(403, f"{user.name} sees only its own facilities or regions")
    if policy.scope == "unit":
        _check_unit(request, ctx, user, policy.action)
    if session.kind == "cookie" and request.method not in ("GET", "HEAD", "OPTIONS"):
        await _check_csrf(request, session.csrf)
    return Caller(policy, user, session)
