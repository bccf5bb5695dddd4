"""The régua as the creditor edits it in the portal: each step's form, its checks (the
text, the channel, WhatsApp's approved template), a sample with example values, saving,
and the steps in the order a debt meets them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from collection.domain import contact_rules as rules
from collection.domain.documents import format_cnpj
from collection.models import Channel, ReminderAnchor, ReminderStep
from collection.regua import opt_out, whatsapp
from collection.regua.footer import footer_of
from core.i18n import gettext as _
from tenants.models import Tenant

SAMPLE = {
    "nome": "Maria",
    "contrato": "CT-12345",
    "valor": "R$ 1.234,56",
    "vencimento": "10/03/2026",
    "oferta": "pagamento à vista de R$ 987,65 (desconto de R$ 246,91), válido até 15/03/2026",
    "pix": "Pix copia e cola: 00020101021226880014br.gov.bcb.pix…",
}


@dataclass(frozen=True, slots=True)
class StepForm:
    """A step as typed in the portal, before it is checked."""

    name: str
    anchor: str
    offset_days: str
    channel: str
    subject: str
    body: str
    is_active: bool
    whatsapp_template: str = ""
    template_variables: str = ""


def check_step(form: StepForm) -> dict[str, str]:
    """Field errors in pt-BR (empty when the step can be saved)."""
    errors: dict[str, str] = {}
    if not 2 <= len(form.name.strip()) <= 80:
        errors["name"] = _("Give it a name of 2 to 80 characters.")
    if form.anchor not in {a.value for a in ReminderAnchor}:
        errors["anchor"] = _("Choose what the days count from.")
    if form.channel not in {c.value for c in Channel}:
        errors["channel"] = _("Choose the channel.")
    try:
        offset = int(form.offset_days)
        if not -30 <= offset <= 365:
            raise ValueError
    except ValueError:
        errors["offset_days"] = _("Use a number of days between -30 and 365.")
    problems = rules.check_template(form.body) + (
        rules.check_template(form.subject) if form.subject.strip() else []
    )
    if problems:
        errors["body"] = "; ".join(p.message for p in problems)
    if form.channel == Channel.EMAIL.value and not form.subject.strip():
        errors["subject"] = _("An e-mail needs a subject.")
    if len(form.body) > 2000 or (form.channel != "email" and len(form.body) > 600):
        errors["body"] = _("The text is too long for the channel.")
    if form.channel == Channel.WHATSAPP.value:
        errors |= whatsapp.check_template_fields(form.whatsapp_template, form.template_variables)
    return errors


def sample_of(tenant: Tenant, form: StepForm, base_url: str) -> tuple[str, str]:
    """The step's subject and text filled in with example values, as a person reads them."""
    link = base_url.rstrip("/") + "/"
    values = {**SAMPLE, "credor": tenant.name, "cnpj": format_cnpj(tenant.cnpj), "link": link}
    channel = Channel(form.channel) if form.channel in {c.value for c in Channel} else Channel.EMAIL
    stop_url = f"{link}{opt_out.PATH}…"  # each person's message carries their own link
    body = rules.render(form.body, values, footer=footer_of(tenant, channel, link, stop_url))
    subject = form.subject.format_map(values) if form.subject.strip() else ""
    return subject, body


async def save_step(
    session: AsyncSession, step: ReminderStep | None, form: StepForm
) -> ReminderStep:
    """Create or change a step (the form was checked with ``check_step``)."""
    if step is None:
        step = ReminderStep()
        session.add(step)
    step.name = form.name.strip()
    step.anchor = ReminderAnchor(form.anchor)
    step.offset_days = int(form.offset_days)
    step.channel = Channel(form.channel)
    step.subject = form.subject.strip()
    step.body = form.body.strip()
    step.is_active = form.is_active
    whatsapp_step = step.channel == Channel.WHATSAPP
    step.whatsapp_template = form.whatsapp_template.strip() if whatsapp_step else ""
    names = whatsapp.variable_names(form.template_variables) if whatsapp_step else []
    step.template_variables = ",".join(names)
    return step


async def steps_of(session: AsyncSession) -> list[ReminderStep]:
    """The régua of the session's tenant, in the order a debt meets its steps."""
    order = case(
        (ReminderStep.anchor == ReminderAnchor.DEBT_ENTERED, 0),
        (ReminderStep.anchor == ReminderAnchor.DEBT_DUE, 1),
        (ReminderStep.anchor == ReminderAnchor.INSTALLMENT_DUE, 2),
        else_=3,
    )
    return list(
        await session.scalars(select(ReminderStep).order_by(order, ReminderStep.offset_days))
    )
