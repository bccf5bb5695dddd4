"""Roles and permissions as data: views ask "may this principal do this here"."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """A membership's role; tenant roles and agency roles are kept apart."""

    OWNER = "owner"
    ADMIN = "admin"
    ANALYST = "analyst"
    VIEWER = "viewer"
    SUPERVISOR = "supervisor"
    AGENT = "agent"

    @property
    def is_tenant_role(self) -> bool:
        return self in TENANT_ROLES

    @property
    def is_agency_role(self) -> bool:
        return self in AGENCY_ROLES


TENANT_ROLES = (Role.OWNER, Role.ADMIN, Role.ANALYST, Role.VIEWER)
AGENCY_ROLES = (Role.SUPERVISOR, Role.AGENT)


class Permission(enum.StrEnum):
    """``scope:resource:action``."""

    ACCOUNTS_READ = "tenant:accounts:read"
    ACCOUNTS_WORK = "tenant:accounts:work"
    ACCOUNTS_ASSIGN = "tenant:accounts:assign"
    PORTFOLIOS_IMPORT = "tenant:portfolios:import"
    POLICY_EDIT = "tenant:policy:edit"
    USERS_MANAGE = "tenant:users:manage"
    AUDIT_READ = "tenant:audit:read"
    REPORTS_READ = "tenant:reports:read"
    SETTINGS_EDIT = "tenant:settings:edit"
    DISPUTES_ANSWER = "tenant:disputes:answer"
    HANDOVER_EDIT = "tenant:handover:edit"  # which accounts go to which agency
    OFFERS_APPROVE = "tenant:offers:approve"  # special offers beyond the policy
    ESCALATION_NOTICE = "tenant:escalation:notice"  # prior notices and negativação
    ESCALATION_DECIDE = "tenant:escalation:decide"  # protesto and judicial referral
    # Agency work, across the tenants that granted the agency access.
    QUEUE_WORK = "agency:queue:work"
    QUEUE_ASSIGN = "agency:queue:assign"
    OFFERS_PROPOSE = "agency:offers:propose"
    AGENCY_REPORTS = "agency:reports:read"


_ALL = frozenset(p for p in Permission if p.startswith("tenant:"))

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: _ALL,
    Role.ADMIN: _ALL,
    Role.ANALYST: frozenset(
        {
            Permission.ACCOUNTS_READ,
            Permission.ACCOUNTS_WORK,
            Permission.DISPUTES_ANSWER,
            Permission.PORTFOLIOS_IMPORT,
            Permission.REPORTS_READ,
        }
    ),
    Role.VIEWER: frozenset({Permission.ACCOUNTS_READ, Permission.REPORTS_READ}),
    Role.SUPERVISOR: frozenset(
        {
            Permission.ACCOUNTS_READ,
            Permission.ACCOUNTS_WORK,
            Permission.ACCOUNTS_ASSIGN,
            Permission.REPORTS_READ,
            Permission.ESCALATION_NOTICE,
            Permission.QUEUE_WORK,
            Permission.QUEUE_ASSIGN,
            Permission.OFFERS_PROPOSE,
            Permission.AGENCY_REPORTS,
        }
    ),
    Role.AGENT: frozenset(
        {
            Permission.ACCOUNTS_READ,
            Permission.ACCOUNTS_WORK,
            Permission.QUEUE_WORK,
            Permission.OFFERS_PROPOSE,
        }
    ),
}

# Who may grant which role: an admin cannot make someone owner.
ASSIGNABLE_BY: dict[Role, frozenset[Role]] = {
    Role.OWNER: frozenset(TENANT_ROLES),
    Role.ADMIN: frozenset({Role.ADMIN, Role.ANALYST, Role.VIEWER}),
}


def permissions_for(role: Role) -> frozenset[Permission]:
    """The permissions a role carries."""
    return ROLE_PERMISSIONS[role]
