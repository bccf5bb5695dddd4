"""The portal's menu: one declarative list of groups by job, filtered by the role's permissions.

Each link names the permission check its pages' guards use, so the menu shows exactly what
the person may open. To add a page, add one ``Link`` to the right group below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from tenants.roles import Permission
from tenants.services.auth import Principal


def N_(message: str) -> str:
    """Marks a message for extraction; it is translated when the menu is rendered."""
    return message


Check = Callable[[Principal], bool]


def tenant(permission: Permission) -> Check:
    return lambda principal: principal.can(permission)


def agency(permission: Permission) -> Check:
    return lambda principal: principal.can_at_agency(permission)


def anyone(principal: Principal) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Link:
    key: str  # the ``nav`` a page sets to mark its link as current
    label: str  # msgid
    href: str
    allowed: Check


@dataclass(frozen=True, slots=True)
class Group:
    key: str
    label: str  # msgid
    links: tuple[Link, ...]


@dataclass(frozen=True, slots=True)
class VisibleGroup:
    key: str
    label: str
    links: tuple[Link, ...]
    current: bool


HOME = Link("home", N_("Home"), "/portal/home", anyone)

NAVIGATION: tuple[Group, ...] = (
    Group(
        "portfolio",
        N_("Portfolio"),
        (
            Link("debtors", N_("Accounts"), "/portal/debtors", tenant(Permission.ACCOUNTS_READ)),
            Link("imports", N_("Imports"), "/portal/imports", tenant(Permission.PORTFOLIOS_IMPORT)),
            Link("dashboards", N_("Dashboards"), "/portal/painel", tenant(Permission.REPORTS_READ)),
            Link(
                "privacy",
                N_("Privacy requests"),
                "/portal/privacy",
                tenant(Permission.ACCOUNTS_READ),
            ),
        ),
    ),
    Group(
        "negotiation",
        N_("Negotiation"),
        (
            Link(
                "policy",
                N_("Negotiation policy"),
                "/portal/politica",
                tenant(Permission.POLICY_EDIT),
            ),
            Link(
                "special_offers",
                N_("Special offers"),
                "/portal/ofertas-especiais",
                tenant(Permission.OFFERS_APPROVE),
            ),
            Link(
                "disputes", N_("Disputes"), "/portal/disputes", tenant(Permission.DISPUTES_ANSWER)
            ),
        ),
    ),
    Group(
        "collection",
        N_("Collection"),
        (
            Link("regua", N_("Reminders"), "/portal/regua", tenant(Permission.ACCOUNTS_READ)),
            Link(
                "escalation",
                N_("Escalation"),
                "/portal/escalonamento",
                tenant(Permission.ESCALATION_NOTICE),
            ),
        ),
    ),
    Group(
        "agency",
        N_("Agency work"),
        (
            Link("queue", N_("Work queue"), "/portal/agencia/fila", agency(Permission.QUEUE_WORK)),
            Link(
                # An agency's own figures; the creditor's staff see theirs under Portfolio.
                "dashboards",
                N_("Agency dashboards"),
                "/portal/painel/agencia",
                lambda p: (
                    p.can_at_agency(Permission.AGENCY_REPORTS)
                    and not p.can(Permission.REPORTS_READ)
                ),
            ),
            Link("handover", N_("Agencies"), "/portal/repasse", tenant(Permission.HANDOVER_EDIT)),
        ),
    ),
    Group(
        "integrations",
        N_("Integrations"),
        (
            Link(
                "payments", N_("Payments"), "/portal/pagamentos", tenant(Permission.SETTINGS_EDIT)
            ),
            Link("api", N_("API clients"), "/portal/api", tenant(Permission.SETTINGS_EDIT)),
            Link("webhooks", N_("Webhooks"), "/portal/webhooks", tenant(Permission.SETTINGS_EDIT)),
        ),
    ),
    Group(
        "account",
        N_("Account"),
        (
            Link("users", N_("Team"), "/portal/users", tenant(Permission.USERS_MANAGE)),
            Link(
                "sso",
                N_("Single sign-on"),
                "/portal/sso/configuracao",
                tenant(Permission.SETTINGS_EDIT),
            ),
            Link("audit", N_("Audit log"), "/portal/audit", tenant(Permission.AUDIT_READ)),
            Link("security", N_("My security"), "/portal/security", anyone),
        ),
    ),
)


def menu_for(principal: Principal | None, current: str | None = None) -> tuple[VisibleGroup, ...]:
    """The groups with at least one link this person may open, in menu order."""
    if principal is None:
        return ()
    groups = []
    for group in NAVIGATION:
        links = tuple(link for link in group.links if link.allowed(principal))
        if links:
            is_current = any(link.key == current for link in links)
            groups.append(VisibleGroup(group.key, group.label, links, is_current))
    return tuple(groups)


def allowed_paths(principal: Principal) -> list[str]:
    """Every menu address this person sees (tests check each opens)."""
    return [HOME.href] + [link.href for group in menu_for(principal) for link in group.links]


def link_for(principal: Principal, key: str) -> Link | None:
    """The menu link ``key`` if this person may open it (pages that link to another
    page ask here, so the menu and the links never disagree)."""
    for group in NAVIGATION:
        for link in group.links:
            if link.key == key and link.allowed(principal):
                return link
    return None
