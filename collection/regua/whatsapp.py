"""WhatsApp's two ways to send: free text only inside the 24-hour window the person
opened by writing in; outside it, only a template the provider approved (Meta's rule,
enforced by Twilio), filled with the step's variables in order.

The creditor registers each WhatsApp step's template (its Twilio Content SID or name)
and the variables that fill its placeholders ``{{1}}``, ``{{2}}``…; ``rodape`` is the
creditor's identification and the opt-out link (CDC art. 42-A), which every template
must carry.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import update

from collection.domain.contact_rules import TEMPLATE_VARIABLES
from collection.models import Contact, ContactKind, ReminderStep
from core.db import Database, Scope
from core.i18n import gettext as _

WINDOW = timedelta(hours=24)
FOOTER = "rodape"  # the variable that carries the identification and the opt-out link
MAX_VARIABLES = 10
_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")


def window_open(contact: Contact, now: datetime) -> bool:
    """True while free text may go: the person wrote in less than 24 hours ago."""
    opened = contact.whatsapp_window_at
    return opened is not None and opened <= now < opened + WINDOW


def window_closes(contact: Contact, now: datetime) -> datetime | None:
    """When the open window closes; None outside it (only approved templates go)."""
    opened = contact.whatsapp_window_at
    return opened + WINDOW if opened is not None and window_open(contact, now) else None


def variable_names(text: str) -> list[str]:
    """``"nome, contrato,rodape"`` → ``["nome", "contrato", "rodape"]``."""
    return [name.strip() for name in text.split(",") if name.strip()]


def check_template_fields(template: str, variables: str) -> dict[str, str]:
    """Field errors (pt-BR) of a step's WhatsApp template; {} when it may be saved.
    An empty template is allowed: such a step sends only inside a window."""
    errors: dict[str, str] = {}
    names = variable_names(variables)
    if not template.strip():
        if names:
            errors["whatsapp_template"] = _("Give the approved template's name or SID.")
        return errors
    if not _TEMPLATE_NAME.fullmatch(template.strip()):
        errors["whatsapp_template"] = _(
            "Use the template's name or Content SID as the provider shows it (letters, "
            "digits and _)."
        )
    allowed = {*TEMPLATE_VARIABLES, FOOTER}
    unknown = sorted(set(names) - allowed)
    if unknown:
        errors["template_variables"] = _("Unknown variables: %(names)s") % {
            "names": ", ".join(unknown)
        }
    elif FOOTER not in names:
        errors["template_variables"] = _(
            "The template must carry the variable rodape (the creditor's name, CNPJ and "
            "address link, and how to stop the messages)."
        )
    elif len(names) > MAX_VARIABLES:
        errors["template_variables"] = _("Use at most 10 variables.")
    return errors


def template_call(step: ReminderStep, values: Mapping[str, str], footer: str) -> tuple[str, str]:
    """The template's id and its variables as Twilio's ``ContentVariables`` JSON
    (``{"1": "Maria", …}``); WhatsApp refuses line breaks and tabs inside a variable."""
    filled = {**values, FOOTER: footer}
    variables = {
        str(n): " ".join(str(filled.get(name, "")).split()) or "-"
        for n, name in enumerate(variable_names(step.template_variables), start=1)
    }
    return step.whatsapp_template.strip(), json.dumps(variables, ensure_ascii=False)


async def record_inbound(db: Database, number: str, now: datetime) -> int:
    """The person wrote to Quita's WhatsApp number from ``number`` (E.164): the window
    opens for every contact with that number, at every creditor (one sender serves all).
    Returns how many contacts it touched."""
    async with db.session(Scope.system()) as session:
        result = await session.execute(
            update(Contact)
            .where(Contact.kind == ContactKind.PHONE, Contact.value == number)
            .values(whatsapp_window_at=now)
            .execution_options(synchronize_session=False)
        )
        await session.commit()
        return int(getattr(result, "rowcount", 0) or 0)
