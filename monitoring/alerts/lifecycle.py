"""What a person may do to an alert, from which status, and what it becomes.

    open --acknowledge--> acknowledged
    open | acknowledged --resolve--> resolved
    open | acknowledged --dismiss (reason)--> dismissed   (a false alert; the reason feeds tuning)
    open | acknowledged: assign, snooze (status unchanged)
    any status: comment

Anything else is a conflict with the alert's current state (HTTP 409).

>>> after(Action.ACKNOWLEDGE, AlertStatus.OPEN)
<AlertStatus.ACKNOWLEDGED: 'acknowledged'>
>>> after(Action.ACKNOWLEDGE, AlertStatus.RESOLVED)
Traceback (most recent call last):
...
monitoring.errors.ConflictError: cannot acknowledge an alert that is resolved; only an open alert can be
"""

from __future__ import annotations

from enum import StrEnum

from monitoring.domain import AlertStatus
from monitoring.errors import ConflictError


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    DISMISS = "dismiss"
    ASSIGN = "assign"
    SNOOZE = "snooze"
    COMMENT = "comment"


_ACTIVE = frozenset({AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED})
FROM: dict[Action, frozenset[AlertStatus]] = {
    Action.ACKNOWLEDGE: frozenset({AlertStatus.OPEN}),
    Action.RESOLVE: _ACTIVE,
    Action.DISMISS: _ACTIVE,
    Action.ASSIGN: _ACTIVE,
    Action.SNOOZE: _ACTIVE,
    Action.COMMENT: frozenset(AlertStatus),
}
TO: dict[Action, AlertStatus] = {
    Action.ACKNOWLEDGE: AlertStatus.ACKNOWLEDGED,
    Action.RESOLVE: AlertStatus.RESOLVED,
    Action.DISMISS: AlertStatus.DISMISSED,
}


def after(action: Action, status: AlertStatus) -> AlertStatus:
    """The status an alert has after ``action``; a ConflictError if it is not allowed now."""
    allowed = FROM[action]
    if status not in allowed:
        which = " or ".join(sorted(s.value for s in allowed))
        raise ConflictError(
            f"cannot {action.value} an alert that is {status.value}; only an {which} alert can be"
        )
    return TO.get(action, status)
