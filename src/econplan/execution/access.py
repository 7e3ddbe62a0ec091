"""Who may do what: the roles and the one table of permissions that the command line (and
later the web application) consult, so that a rule lives in one place.

A user holds one or more roles. Two roles carry a scope: a regional planner works on named
regions (and the regions inside them), an enterprise on named facilities.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ROLES = {
    "admin": "manages users and the store; may do what a planner does",
    "planner": "stores plans, creates and submits versions, imports reports, re-plans",
    "approver": "approves or rejects submitted versions, never one it stored or submitted",
    "regional_planner": "sees and reports for its regions, given with --region",
    "enterprise": "sees its control figures and reports for its facilities, given with --facility",
    "auditor": "reads everything, changes nothing",
}

SCOPED = {"regional_planner": "region", "enterprise": "facility"}
"""Roles that need a scope, and what the scope names."""

READ = "read"
ACTIONS = {
    READ: "read the store",
    "user.add": "add users or roles",
    "store.add": "store plan versions",
    "store.submit": "submit versions",
    "store.approve": "approve versions",
    "store.reject": "reject versions",
    "report.import": "import fulfilment reports",
}
"""Each action in words, for refusals."""

PERMISSIONS: dict[str, frozenset[str]] = {
    READ: frozenset(ROLES),
    "user.add": frozenset({"admin"}),
    "store.add": frozenset({"admin", "planner"}),
    "store.submit": frozenset({"admin", "planner"}),
    "store.approve": frozenset({"approver"}),
    "store.reject": frozenset({"approver"}),
    "report.import": frozenset({"admin", "planner", "regional_planner", "enterprise"}),
}
"""Action -> the roles allowed it. Scoped roles are further limited to their scope."""


class AccessError(PermissionError):
    """The user may not do this: the message says who may."""


@dataclass(frozen=True)
class User:
    name: str
    roles: frozenset[str]
    regions: frozenset[str] = field(default_factory=frozenset)
    facilities: frozenset[str] = field(default_factory=frozenset)

    @property
    def unscoped(self) -> bool:
        """Whether the user sees the whole economy (any role but the two scoped ones)."""
        return self.unscoped_for(READ)

    def unscoped_for(self, action: str) -> bool:
        """Whether the user may do ``action`` anywhere: a role that allows it without a scope.
        An enterprise that is also an auditor reads everything but reports only for its own
        facilities."""
        return bool((self.roles - set(SCOPED)) & PERMISSIONS[action])

    def may(self, action: str) -> bool:
        return bool(self.roles & PERMISSIONS[action])

    def require(self, action: str) -> None:
        if not self.may(action):
            allowed = ", ".join(sorted(PERMISSIONS[action]))
            held = ", ".join(sorted(self.roles)) or "no role"
            raise AccessError(
                f"{self.name} ({held}) may not {ACTIONS[action]}: that needs the role {allowed}"
            )

    def require_facilities(
        self,
        facilities: Iterable[str],
        regions_of: Mapping[str, frozenset[str]],
        action: str = READ,
    ) -> None:
        """Refuse unless every facility is within the user's scope for ``action``: one of its
        facilities, or in one of its regions. ``regions_of`` maps a facility to its region and
        every region containing that one; a blank facility (construction of new capacity)
        belongs to no enterprise."""
        if self.unscoped_for(action):
            return
        outside = sorted(
            f
            for f in set(facilities)
            if f not in self.facilities and not (regions_of.get(f, frozenset()) & self.regions)
        )
        if outside:
            outside = [f or "construction of new capacity" for f in outside]
            shown = ", ".join(outside[:5])
            more = f" and {len(outside) - 5} more" if len(outside) > 5 else ""
            raise AccessError(f"{self.name} may not see or report for {shown}{more}: not theirs")
