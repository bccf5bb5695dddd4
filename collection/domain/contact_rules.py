"""When, how often and with what words a person may be contacted about a debt.

CDC art. 71 forbids interfering with the debtor's work, rest or leisure; federal law sets
no hours, some states do. The windows are data, each row citing its law; a state without
a row gets the strictest window. Holidays (national and the state's own) have no window.
Every message names the creditor and its CNPJ and, for e-mail and SMS, says how to stop
them (CDC art. 42-A; LGPD); a template that threatens or exposes is refused.
"""

from __future__ import annotations

import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from collection.domain.threat_filter import find_threats

__all__ = [
    "BLOCK_RULES",
    "FREQUENCY",
    "TEMPLATE_VARIABLES",
    "ContactWindow",
    "TemplateProblem",
    "account_block",
    "check_template",
    "contact_block",
    "day_start",
    "is_allowed",
    "next_allowed",
    "over_cap",
    "plain_text",
    "render",
    "window_for",
]

SAO_PAULO = ZoneInfo("America/Sao_Paulo")

# Rule names recorded on a blocked message (shown in the portal, translated there).
BLOCK_RULES = (
    "prescribed",  # prescribed debts get no active collection (CC art. 206 §5 I)
    "disputed",  # collection frozen until the creditor answers the dispute
    "no_contact",  # no contact of the debtor's own for this channel
    "opted_out",  # the person stopped this channel
    "not_mine",  # the contact was reported as not the debtor's
    "no_whatsapp_opt_in",  # WhatsApp only with the person's opt-in
    "frequency_cap",  # per person: one a day per creditor, three a week in all (calls count)
    "not_due",  # the debt or installment was settled before the message went out
    "template",  # the template failed its checks
    "creditor_address",  # the creditor has no address to name (CDC art. 42-A)
    "whatsapp_template",  # WhatsApp outside the 24-hour window without an approved template
)


@dataclass(frozen=True, slots=True)
class Frequency:
    """How often a person may be contacted: messages and agents' phone calls together."""

    per_day_per_creditor: int = 1
    per_week: int = 3  # across creditors and channels, a rolling 7 days


FREQUENCY = Frequency()


def over_cap(today_at_creditor: int, this_week: int, frequency: Frequency = FREQUENCY) -> bool:
    """True when one more contact would break the cap, given the contacts (messages sent
    and calls made) today by this creditor and in the last 7 days by anyone."""
    return today_at_creditor >= frequency.per_day_per_creditor or this_week >= frequency.per_week


def account_block(debts: Iterable[tuple[bool, bool]], *, open_agreement: bool = False) -> str:
    """Why no active collection (message about the account, agent call) may reach the
    person at all, as a rule name; "" when it may.

    ``debts`` holds ``(prescribed, disputed)`` for each open debt of the account. An open
    agreement is a new obligation the person took on, so it may be followed up; otherwise
    something must be left that is neither prescribed nor frozen by a dispute.
    """
    states = list(debts)
    if open_agreement:
        return ""
    if not states:
        return "not_due"
    if all(prescribed for prescribed, _disputed in states):
        return "prescribed"
    if all(prescribed or disputed for prescribed, disputed in states):
        return "disputed"
    return ""


def contact_block(
    channel: str, *, found: bool, not_mine: bool, opted_out: bool, whatsapp_opt_in: bool
) -> str:
    """Why this contact may not be used on ``channel`` (a rule name); "" when it may.

    A report that the contact is not the person's stops it for everything; an opt-out
    stops the channel; WhatsApp needs the person's opt-in.
    """
    if not found:
        return "no_contact"
    if not_mine:
        return "not_mine"
    if opted_out:
        return "opted_out"
    if channel == "whatsapp" and not whatsapp_opt_in:
        return "no_whatsapp_opt_in"
    return ""


@dataclass(frozen=True, slots=True)
class ContactWindow:
    """Hours a day (local time of the state), by kind of day; None: no contact."""

    weekday: tuple[time, time] | None
    saturday: tuple[time, time] | None
    sunday: tuple[time, time] | None
    law: str


_BUSINESS_9_19 = ContactWindow(
    (time(9), time(19)), None, None, "a janela mais restrita conhecida (RJ), por prudência"
)
_WINDOWS: dict[str, ContactWindow] = {
    "SP": ContactWindow(
        (time(8), time(20)), (time(8), time(14)), None, "Lei estadual 15.426/2014 (SP)"
    ),
    "AL": ContactWindow(
        (time(8), time(20)), (time(8), time(14)), None, "lei estadual de Alagoas (SMS incluído)"
    ),
    "RJ": ContactWindow((time(9), time(19)), None, None, "Lei estadual 7.868/2018 (RJ)"),
}
# Time zones of the states that are not on Brasília time.
_ZONES: dict[str, str] = {
    "AM": "America/Manaus",
    "RR": "America/Boa_Vista",
    "RO": "America/Porto_Velho",
    "MT": "America/Cuiaba",
    "MS": "America/Campo_Grande",
    "AC": "America/Rio_Branco",
}


def window_for(state: str) -> ContactWindow:
    """The contact window of a state (UF); unknown states get the strictest one."""
    return _WINDOWS.get(state.upper(), _BUSINESS_9_19)


def zone_for(state: str) -> ZoneInfo:
    return ZoneInfo(_ZONES.get(state.upper(), "America/Sao_Paulo"))


@lru_cache(maxsize=64)
def _holidays(state: str, year: int) -> frozenset[date]:
    subdivisions = holidays.country_holidays("BR").subdivisions
    subdiv = state.upper() if state.upper() in subdivisions else None
    return frozenset(holidays.country_holidays("BR", subdiv=subdiv, years=year).keys())


def _hours(day: date, state: str) -> tuple[time, time] | None:
    if day in _holidays(state, day.year):
        return None
    window = window_for(state)
    if day.weekday() == 6:
        return window.sunday
    if day.weekday() == 5:
        return window.saturday
    return window.weekday


def is_allowed(at: datetime, state: str) -> bool:
    """True when a message may reach a person of ``state`` at ``at``."""
    zone = zone_for(state)
    local = at.astimezone(zone)
    hours = _hours(local.date(), state)
    if hours is None:
        return False
    start, end = (datetime.combine(local.date(), h, zone) for h in hours)
    return start <= local < end


def day_start(at: datetime, state: str) -> datetime:
    """Midnight of ``at``'s day where the person lives: "one a day" counts from there."""
    return at.astimezone(zone_for(state)).replace(hour=0, minute=0, second=0, microsecond=0)


def next_allowed(at: datetime, state: str) -> datetime:
    """The first moment at or after ``at`` when the person may be contacted."""
    zone = zone_for(state)
    local = at.astimezone(zone)
    for offset in range(15):  # the longest gap (holidays around a weekend) is days
        day = local.date() + timedelta(days=offset)
        hours = _hours(day, state)
        if hours is None:
            continue
        start = datetime.combine(day, hours[0], zone)
        end = datetime.combine(day, hours[1], zone)
        if offset == 0 and local >= end:
            continue
        return max(start, local) if offset == 0 else start
    raise AssertionError("no contact window in 15 days")  # pragma: no cover


# -- templates -----------------------------------------------------------------------------

TEMPLATE_VARIABLES: Mapping[str, str] = {
    "nome": "primeiro nome da pessoa",
    "credor": "nome do credor",
    "cnpj": "CNPJ do credor",
    "valor": "saldo atualizado ou valor da parcela",
    "vencimento": "data de vencimento",
    "oferta": "melhor oferta do dia (à vista com desconto)",
    "link": "endereço do site de negociação",
    "contrato": "contrato",
    "pix": "código Pix copia e cola da parcela, quando já emitido (vazio se não houver)",
}


@dataclass(frozen=True, slots=True)
class TemplateProblem:
    """A reason a template cannot be used, in pt-BR."""

    message: str


def check_template(text: str) -> list[TemplateProblem]:
    """Unknown variables, threatening or shaming words; [] when the template is fine."""
    problems: list[TemplateProblem] = []
    try:
        names = {name for _lit, name, _spec, _conv in string.Formatter().parse(text) if name}
    except ValueError:
        return [TemplateProblem("chaves { } desbalanceadas")]
    unknown = sorted(names - set(TEMPLATE_VARIABLES))
    if unknown:
        problems.append(TemplateProblem("variáveis desconhecidas: " + ", ".join(unknown)))
    # Threats, exposure, shaming and false urgency (CDC arts. 42 and 71), read through
    # accents, spacing, repeated letters and leetspeak; see ``threat_filter``.
    for finding in find_threats(text):
        problems.append(
            TemplateProblem(
                f"termo não permitido em cobrança ({finding.kind}): “{finding.fragment}”"
            )
        )
    if not text.strip():
        problems.append(TemplateProblem("o texto está vazio"))
    return problems


def plain_text(text: str) -> str:
    """Free text written by a person (an agent's message) made safe to render as a
    template: braces are literal, nothing is substituted."""
    return text.replace("{", "{{").replace("}", "}}")


def render(text: str, variables: Mapping[str, str], *, footer: str) -> str:
    """The template filled in, with the creditor's identification footer appended."""
    if check_template(text):
        raise ValueError("template with problems")
    values = {name: variables.get(name, "") for name in TEMPLATE_VARIABLES}
    return text.format_map(values).strip() + "\n\n" + footer
