"""Who may do what to which object: the one access check every route (and the queue) asks.

`authorize(principal, action, obj)` raises, or returns None when the action is allowed:
- Unauthenticated (401): no credentials, or credentials that are wrong or belong to a deactivated user;
- Forbidden (403): the principal's role may never do the action (a worker creating a project);
- NotFound (404): the object is not the principal's to act on (another requester's project, a project whose pool
  leaves the worker out, someone else's lease). The message is the one a missing object gets, so a 404 never
  says whether the object exists.

An action's rule names the roles that may ever do it and the relations to the object of which one is needed:

| relation | holds when |
|---|---|
| owner   | the principal owns the project or the team; a media file under requesters/USERNAME/ (theirs), one they
            uploaded, or one a project of theirs already shows |
| member  | the principal is a worker in the project's pool (all workers, or listed directly or through a team) |
| holder  | the lease is the principal's, in a project they may still work on (owner, member or admin) |
| viewer  | the media file is shown by a project the principal owns or is a member of |
| shared  | the media file is under the media folder's shared/ folder (every requester may name it in tasks) |
| self    | the user object is the principal |

Admins pass every rule except those that need a relation only a person can have (a lease is its holder's).
The facts an object carries (owner, pool, who holds a lease) are read by the caller; the relation is decided
here. Lists are filtered by the same rules in SQL (labeling/membership.py `visible_projects`, audit, teams).

A project's status is the other half of what an action may do (`check_status`, 409): the queue asks it with the
project row it has in memory, a project route (labeling/api/projects.py `project_for`) before it reads its body,
and each write again with the row its transaction holds until it commits: `membership.locked(tx, id, action)` for
a write that changes the project (its status, settings, pool; reviews, a recompute's settle, deletions),
`membership.shared` for one that only adds to it (an import, a report, a changed answer, a renewal, a recompute's
results), and the claim's and the submit's own statement holds it at the version their rules came from. So a
status, label or pool change racing a write either waits for it and sees what it stored, or commits first and is
seen.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, NamedTuple, Union

from labeling.auth import Principal
from labeling.errors import Forbidden, NotFound, ProjectArchived, ProjectPaused, Unauthenticated
from labeling.models import ProjectStatus, Role

OWNER, MEMBER, HOLDER, VIEWER, SHARED, SELF = "owner", "member", "holder", "viewer", "shared", "self"
WORKER, REQUESTER = Role.worker, Role.requester


@dataclass(frozen=True)
class Rule:
    """Who may do an action: `roles` may ever do it (others: 403), with one of `relations` to the object (others:
    404; none named: no object needed). `admin`: admins pass without a relation. `public`: no credentials needed."""

    roles: frozenset[Role] = frozenset()
    relations: frozenset[str] = frozenset()
    admin: bool = True
    public: bool = False


def _rule(roles: tuple[Role, ...] = (), relations: tuple[str, ...] = (), *, admin: bool = True) -> Rule:
    return Rule(frozenset(roles), frozenset(relations), admin)


PUBLIC = Rule(public=True)
ADMIN_ONLY = _rule()
PROJECT_OWNER = _rule((REQUESTER,), (OWNER,))
WORK = _rule((WORKER, REQUESTER), (OWNER, MEMBER))
HOLD = _rule((WORKER, REQUESTER), (HOLDER,), admin=False)
SIGNED_IN = _rule((WORKER, REQUESTER))

# Every action a route or the queue may ask about. A route declares its action next to it (labeling/api/__init__.py,
# labeling/app.py, labeling/worker_ui/routes.py); tests/test_policy_matrix.py walks every route.
RULES: dict[str, Rule] = {
    "health.read": PUBLIC,
    "openapi.read": PUBLIC,
    "session.sign_in": PUBLIC,
    "session.sign_out": PUBLIC,  # ends the session it comes with, if any
    "media.signed": PUBLIC,  # the signature in the URL is the credential
    "user.me": SIGNED_IN,
    "user.me.token": SIGNED_IN,
    "user.create": ADMIN_ONLY,
    "user.list": ADMIN_ONLY,
    "user.read": ADMIN_ONLY,
    "user.token": ADMIN_ONLY,
    "user.password": ADMIN_ONLY,
    "user.deactivate": ADMIN_ONLY,
    # What kind of account a user that is no worker is (a requester, an admin), when a request names it as a worker:
    # one's own, or any for an admin; to another requester it is as missing as an unknown name.
    "user.role": _rule((REQUESTER,), (SELF,)),
    "user.reactivate": ADMIN_ONLY,
    "project.create": _rule((REQUESTER,)),
    "project.list": SIGNED_IN,  # filtered: what the principal may read
    "project.read": _rule((WORKER, REQUESTER), (OWNER, MEMBER)),
    "project.settings": PROJECT_OWNER,  # the requester's view of a project: settings and progress
    "project.update": PROJECT_OWNER,
    "project.delete": PROJECT_OWNER,
    "project.export": PROJECT_OWNER,
    "pool.read": PROJECT_OWNER,
    "pool.update": PROJECT_OWNER,
    "tasks.import": PROJECT_OWNER,
    "tasks.list": PROJECT_OWNER,
    "tasks.delete": PROJECT_OWNER,
    "tasks.read": PROJECT_OWNER,  # one task with every answer, skip and problem report
    "results.read": PROJECT_OWNER,
    "quality.read": PROJECT_OWNER,
    "task.accept": PROJECT_OWNER,  # a requester's review of a task's consensus (labeling/reviews.py)
    "task.override": PROJECT_OWNER,
    "task.more_answers": PROJECT_OWNER,
    "answer.exclude": PROJECT_OWNER,  # one answer left out of its task's consensus, or counted again
    "consensus.recompute": PROJECT_OWNER,
    "leaderboard.read": PROJECT_OWNER,  # the model leaderboard of one project, or of several (each must be theirs)
    "worker.block": PROJECT_OWNER,
    "worker.unblock": PROJECT_OWNER,
    "worker.answers.delete": PROJECT_OWNER,
    "work.next": WORK,
    "work.submit": HOLD,
    "work.skip": HOLD,
    "work.release": HOLD,
    "work.renew": HOLD,
    "work.report": HOLD,  # a problem with the task the worker holds
    "work.change": HOLD,  # one of the worker's own answers (its assignment), while the project lets it change
    "work.answers": WORK,  # the worker's own answers in a project
    "work.progress": WORK,
    "media.upload": _rule((REQUESTER,)),
    "media.read": _rule((WORKER, REQUESTER), (VIEWER,)),
    # A media-folder file named in a task's data (an import): the requester's own (their folder, their uploads, what
    # their projects show) or a shared one. An admin names any; so does the operator's command line (no principal).
    "media.name": _rule((REQUESTER,), (OWNER, SHARED)),
    "team.create": _rule((REQUESTER,)),
    "team.list": _rule((REQUESTER,)),  # filtered: a requester's own teams
    "team.read": _rule((REQUESTER,), (OWNER,)),
    "team.update": _rule((REQUESTER,), (OWNER,)),
    "team.delete": _rule((REQUESTER,), (OWNER,)),
    "audit.read": _rule((REQUESTER,)),  # filtered: entries about a requester's projects and their own actions
    "page.home": SIGNED_IN,
    "page.label": WORK,
    # The console (labeling/console/): every page under /console asks one of these.
    "console.projects": _rule((REQUESTER,)),  # the projects list and a new project; lists filter to the caller's
    "console.project": PROJECT_OWNER,  # every page of one project: overview, import, results, quality, export, ...
    "console.people": ADMIN_ONLY,  # people and teams
    "console.teams": _rule((REQUESTER,)),  # the teams list and a new team; the list filters to the caller's
    "console.team": _rule((REQUESTER,), (OWNER,)),  # one team's page: its members, the pools that list it
}


# The objects are named tuples: the queue builds one or two for every claim and submit, and a tuple is made in
# a fraction of a frozen dataclass's time. `kind` (no annotation) is a class attribute, not a field.

class Project(NamedTuple):
    """What decides access to a project: its owner, its pool, and whether the principal is listed in the pool
    (directly or through a team; None when nobody looked, because the pool is all workers or the principal is
    not a worker: see `needs_listing`)."""

    id: int
    owner_id: int
    pool_all: bool
    listed: bool | None = None
    kind = "project"


class Assignment(NamedTuple):
    """A lease: whose it is, in which project."""

    id: int
    worker_id: int
    project: Project
    kind = "assignment"


class Team(NamedTuple):
    """A team and its owner."""

    id: int
    owner_id: int
    kind = "team"


class Media(NamedTuple):
    """A file of the media folder, the projects whose tasks show it (for media.read), and the users whose record
    makes it theirs: they uploaded it, or a project of theirs shows it (for media.name; the caller may read only
    whether the principal is among them)."""

    path: str
    projects: tuple[Project, ...] = ()
    owners: frozenset[int] = frozenset()
    kind = "media"


SHARED_FOLDER = "shared"  # files of the media folder every requester may name in tasks
REQUESTERS_FOLDER = "requesters"  # requesters/USERNAME/: the files of the media folder only USERNAME may name


def media_folder_relation(principal: Principal, path: str) -> str | None:
    """What a media path's folder makes it to the principal: SHARED (shared/...), OWNER (requesters/THEIRS/...),
    or None. The path is one a task names: relative, without "..", "." or empty parts counted (PurePosixPath)."""
    parts = PurePosixPath(path).parts
    if len(parts) >= 2 and parts[0] == SHARED_FOLDER:
        return SHARED
    if len(parts) >= 3 and parts[0] == REQUESTERS_FOLDER and parts[1] == principal.username:
        return OWNER
    return None


class User(NamedTuple):
    """A user account as the object of an action."""

    id: int
    kind = "user"


Object = Union[Project, Assignment, Team, Media, User]


# What an action needs of the project's status (actions not listed need none: reads, a status change, deletion).
# The queue: a paused project takes answers to the leases it handed out (and leases given back); an archived one
# only takes leases given back. A requester's changes to a project's content: an archived project is read-only
# until its status is set back to active or paused; a paused one may still be edited and imported into.
# `project.edit` is a PATCH that changes more than the status (labeling/projects.py `update_settings`).
_ANY = frozenset(ProjectStatus)
_LIVE = frozenset({ProjectStatus.active})
_OPEN = frozenset({ProjectStatus.active, ProjectStatus.paused})
WORK_STATUSES: dict[str, frozenset[ProjectStatus]] = {
    "work.next": _LIVE, "work.renew": _LIVE, "work.submit": _OPEN, "work.change": _OPEN,
    "work.skip": _ANY, "work.release": _ANY, "work.report": _OPEN,
}
CONTENT_CHANGES = ("project.edit", "pool.update", "tasks.import", "tasks.delete", "task.accept", "task.override",
                   "task.more_answers", "answer.exclude", "consensus.recompute", "worker.block", "worker.unblock",
                   "worker.answers.delete")
STATUSES: dict[str, frozenset[ProjectStatus]] = {**WORK_STATUSES, **dict.fromkeys(CONTENT_CHANGES, _OPEN)}
_ACTIVE = int(ProjectStatus.active)


def check_status(project: Any, action: str) -> None:
    """ProjectPaused or ProjectArchived (409) unless the project's status allows the action (a project row)."""
    if project.status == _ACTIVE:  # every action; the queue's hot path's only comparison
        return
    allowed = STATUSES.get(action)
    status = ProjectStatus(project.status)
    if allowed is None or status in allowed:
        return
    if action not in WORK_STATUSES:
        raise ProjectArchived(f"project {project.id} is archived, so it is read-only: set its status back to active "
                              "or paused first", field="status" if action == "project.edit" else "project_id")
    if status is ProjectStatus.paused:
        raise ProjectPaused(f"project {project.id} is paused: it hands out no tasks until its requester makes it "
                            "active again", field="project_id")
    raise ProjectArchived(f"project {project.id} is archived: it hands out no tasks and takes no answers",
                          field="project_id")


def rule(action: str) -> Rule:
    """The rule of an action (a KeyError names an action nobody declared)."""
    try:
        return RULES[action]
    except KeyError:
        raise KeyError(f"no access rule for action {action!r}; add it to labeling/policy.py RULES") from None


def needs_listing(principal: Principal | None, pool_all: bool) -> bool:
    """Whether deciding `member` for this principal needs the pool's list (a lookup the caller makes and caches)."""
    return principal is not None and principal.role is Role.worker and not pool_all


def needs_relation(principal: Principal | None, action: str) -> bool:
    """Whether deciding the action for this principal depends on the object (False for an admin where admins pass
    every object, and for an action that needs none): lets a caller skip reading facts nobody will ask about."""
    found = rule(action)
    if found.public or not found.relations:
        return False
    return not (principal is not None and principal.role is Role.admin and found.admin)


def relations(principal: Principal, obj: Object) -> set[str]:
    """The principal's relations to an object."""
    if isinstance(obj, Project):
        found = set()
        if obj.owner_id == principal.id:
            found.add(OWNER)
        if principal.role is Role.worker and (obj.pool_all or obj.listed):
            found.add(MEMBER)
        return found
    if isinstance(obj, Assignment):
        may_work = principal.role is Role.admin or bool(relations(principal, obj.project) & {OWNER, MEMBER})
        return {HOLDER} if obj.worker_id == principal.id and may_work else set()
    if isinstance(obj, Team):
        return {OWNER} if obj.owner_id == principal.id else set()
    if isinstance(obj, Media):
        found = set()
        if any(relations(principal, project) & {OWNER, MEMBER} for project in obj.projects):
            found.add(VIEWER)
        if principal.id in obj.owners:
            found.add(OWNER)
        folder = media_folder_relation(principal, obj.path)
        if folder is not None:
            found.add(folder)
        return found
    if isinstance(obj, User):
        return {SELF} if obj.id == principal.id else set()
    raise TypeError(f"the policy knows no object {obj!r}")


def _not_found(obj: Object) -> NotFound:
    """The error a missing object of this kind gets (the same words, so a 404 reveals nothing)."""
    if isinstance(obj, Assignment):
        return NotFound(f"no assignment {obj.id} of yours", field="assignment_id")
    if isinstance(obj, Media):
        return NotFound(f"no media file {obj.path!r}", field="path")
    return NotFound(f"no {obj.kind} {obj.id}", field=f"{obj.kind}_id")


def authorize(principal: Principal | None, action: str, obj: Object | None = None) -> None:
    """Allow the action or raise Unauthenticated, Forbidden or NotFound.

    Without `obj`, only what the role decides is checked (a route's first gate, before it reads the object);
    with it, the whole rule.
    """
    found = rule(action)
    if found.public:
        return
    if principal is None:
        raise Unauthenticated("sign in or send 'Authorization: Bearer <token>'", field="Authorization")
    is_admin = principal.role is Role.admin
    if not is_admin and principal.role not in found.roles:
        wanted = " or ".join(sorted(r.value for r in found.roles)) or "admin"
        article = "an" if wanted[0] in "aeiou" else "a"
        raise Forbidden(f"this needs {article} {wanted} account; {principal.username} is a {principal.role.value}")
    if obj is None or not found.relations or (is_admin and found.admin):
        return
    if not relations(principal, obj) & found.relations:
        raise _not_found(obj)


def can(principal: Principal | None, action: str, obj: Object | None = None) -> bool:
    """authorize() as a yes or no (for choosing a view, never instead of authorize on a route)."""
    try:
        authorize(principal, action, obj)
    except (Unauthenticated, Forbidden, NotFound):
        return False
    return True
