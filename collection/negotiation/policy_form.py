"""The portal's policy editor: a policy as a form a person types, and back to its file.

The form never validates a policy itself. What was typed becomes the text of a policy
file (docs/POLICY.md), and that file is read by ``load_policy_toml``, the one reader
every policy goes through, whose PolicyError names the field by its path in the file
(``buckets[1].max_installments``). The form's inputs are named by those same paths, so
an error lands on the input it is about. Percentages are typed as percent ("30" or
"1,99" is 30% or 1,99%), amounts in reais ("50,00"); a blank that the file may leave out
(the last band's upper bound, the contractual late interest) means what it means there,
and any other blank goes to the reader as an empty value, which it refuses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from collection.domain.policy import AgeBucket, NegotiationPolicy
from core.i18n import gettext as _

RATE_FIELDS = (
    "cash_discount_charges",
    "cash_discount_principal",
    "installment_discount_charges",
    "installment_discount_principal",
    "monthly_rate",
    "min_down_payment_rate",
)
MONEY_FIELDS = ("min_installment", "min_down_payment")
COUNT_FIELDS = ("min_days", "max_days", "max_installments", "validity_days")
BUCKET_FIELDS = (
    "min_days",
    "max_days",
    "cash_discount_charges",
    "cash_discount_principal",
    "installment_discount_charges",
    "installment_discount_principal",
    "max_installments",
    "monthly_rate",
    "min_installment",
    "min_down_payment",
    "min_down_payment_rate",
    "validity_days",
)
CHARGE_RATES = ("late_fee_rate", "late_interest_monthly", "fees_rate")
MAX_BANDS = 12
_BUCKET_NAME = re.compile(r"^buckets\[(\d{1,2})\]\.([a-z_]+)$")


def field_labels() -> dict[str, str]:
    """The pt-BR label of each setting, by its name in the file (for labels and errors)."""
    return {
        "name": _("Policy name"),
        "grace_days": _("Grace days before an agreement breaks"),
        "allow_voluntary_prescribed": _("Accept voluntary payment of prescribed debts"),
        "late_fee_rate": _("Late fee (%)"),
        "late_interest_monthly": _("Late interest a month (%)"),
        "fees_rate": _("Collection fees (%)"),
        "monetary_correction": _("Monetary correction"),
        "min_days": _("From (days late)"),
        "max_days": _("To (days late; blank: no limit)"),
        "cash_discount_charges": _("Cash discount on charges (%)"),
        "cash_discount_principal": _("Cash discount on principal (%)"),
        "installment_discount_charges": _("Installment discount on charges (%)"),
        "installment_discount_principal": _("Installment discount on principal (%)"),
        "max_installments": _("Maximum payments (down payment included)"),
        "monthly_rate": _("Installment interest a month (%)"),
        "min_installment": _("Minimum installment (R$)"),
        "min_down_payment": _("Minimum down payment (R$)"),
        "min_down_payment_rate": _("Minimum down payment (% of the balance)"),
        "validity_days": _("Offer validity (days)"),
        "buckets": _("Age bands"),
        "arquivo": _("Policy"),
    }


def label_of(path: str) -> str:
    """A person's name for a field path: ``buckets[1].max_installments`` → "Faixa 2 · …"."""
    labels = field_labels()
    match = _BUCKET_NAME.match(path)
    if match:
        band = int(match.group(1)) + 1
        return _("Band %(n)s") % {"n": band} + " · " + labels.get(match.group(2), match.group(2))
    key = path.split(".")[-1]
    return labels.get(key, path)


@dataclass(frozen=True, slots=True)
class PolicyForm:
    """The editor's fields as typed (text), one mapping per age band."""

    name: str = ""
    portfolio: str = ""
    grace_days: str = "5"
    allow_voluntary_prescribed: bool = False
    late_fee_rate: str = "0"
    late_interest_monthly: str = ""
    fees_rate: str = "0"
    monetary_correction: bool = False
    buckets: tuple[dict[str, str], ...] = field(default_factory=tuple)


def _percent_text(rate: Decimal) -> str:
    text = format((rate * 100).normalize(), "f")
    return text.replace(".", ",")


def _reais_text(cents: int) -> str:
    whole, frac = divmod(cents, 100)
    return f"{whole},{frac:02d}"


def _bucket_form(bucket: AgeBucket) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in BUCKET_FIELDS:
        value = getattr(bucket, name)
        if name in RATE_FIELDS:
            values[name] = _percent_text(value)
        elif name in MONEY_FIELDS:
            values[name] = _reais_text(value)
        else:
            values[name] = "" if value is None else str(value)
    return values


def form_of(policy: NegotiationPolicy) -> PolicyForm:
    """The form showing ``policy`` as it is."""
    charges = policy.charges
    return PolicyForm(
        name=policy.name,
        portfolio=policy.portfolio or "",
        grace_days=str(policy.grace_days),
        allow_voluntary_prescribed=policy.allow_voluntary_prescribed,
        late_fee_rate=_percent_text(charges.late_fee_rate),
        late_interest_monthly=(
            ""
            if charges.late_interest_monthly is None
            else _percent_text(charges.late_interest_monthly)
        ),
        fees_rate=_percent_text(charges.fees_rate),
        monetary_correction=charges.monetary_correction,
        buckets=tuple(_bucket_form(b) for b in policy.buckets),
    )


def form_from_data(data: Mapping[str, str]) -> PolicyForm:
    """The form from a submitted body (input names are the file's paths)."""
    bands: dict[int, dict[str, str]] = {}
    for key, value in data.items():
        match = _BUCKET_NAME.match(key)
        if match and match.group(2) in BUCKET_FIELDS and int(match.group(1)) < MAX_BANDS:
            bands.setdefault(int(match.group(1)), {})[match.group(2)] = str(value)[:30]
    buckets = tuple({name: bands[i].get(name, "") for name in BUCKET_FIELDS} for i in sorted(bands))

    def text(name: str, limit: int = 30) -> str:
        return str(data.get(name, ""))[:limit]

    return PolicyForm(
        name=text("name", 120),
        portfolio=text("portfolio", 80),
        grace_days=text("grace_days"),
        allow_voluntary_prescribed=text("allow_voluntary_prescribed") == "on",
        late_fee_rate=text("charges.late_fee_rate"),
        late_interest_monthly=text("charges.late_interest_monthly"),
        fees_rate=text("charges.fees_rate"),
        monetary_correction=text("monetary_correction") == "on",
        buckets=buckets,
    )


def _string(value: str) -> str:
    # A JSON string is a valid TOML basic string (same escapes, \\uXXXX for controls).
    return json.dumps(value, ensure_ascii=False)


def _count(value: str) -> str:
    text = value.strip()
    return text if text.isdigit() and len(text) < 10 else _string(text)


def _rate(value: str) -> str:
    text = value.strip().rstrip("%").strip()
    return _string(f"{text}%" if text else "")


def _money(value: str) -> str:
    return _string(value.strip())


def to_toml(form: PolicyForm) -> str:
    """The policy file the form describes, in the documented format (not yet checked)."""
    lines = ["version = 1", f"name = {_string(form.name.strip())}"]
    if form.portfolio.strip():
        lines.append(f"portfolio = {_string(form.portfolio.strip())}")
    lines.append(f"grace_days = {_count(form.grace_days)}")
    lines.append(f"allow_voluntary_prescribed = {str(form.allow_voluntary_prescribed).lower()}")
    lines += ["", "[charges]"]
    lines.append(f"late_fee_rate = {_rate(form.late_fee_rate)}")
    if form.late_interest_monthly.strip():
        lines.append(f"late_interest_monthly = {_rate(form.late_interest_monthly)}")
    lines.append(f"fees_rate = {_rate(form.fees_rate)}")
    lines.append(f"monetary_correction = {str(form.monetary_correction).lower()}")
    for band in form.buckets:
        lines += ["", "[[buckets]]"]
        for name in BUCKET_FIELDS:
            value = band.get(name, "")
            if name == "max_days" and not value.strip():
                continue  # no upper limit
            if name in RATE_FIELDS:
                lines.append(f"{name} = {_rate(value)}")
            elif name in MONEY_FIELDS:
                lines.append(f"{name} = {_money(value)}")
            else:
                lines.append(f"{name} = {_count(value)}")
    return "\n".join(lines) + "\n"


def add_band(form: PolicyForm) -> PolicyForm:
    """A new band after the last, copying its terms; the last gets an upper bound."""
    if not form.buckets or len(form.buckets) >= MAX_BANDS:
        return form
    last = dict(form.buckets[-1])
    start = last.get("min_days", "0").strip()
    end = last.get("max_days", "").strip()
    if not end:
        end = str(int(start) + 89) if start.isdigit() else ""
        last["max_days"] = end
    new = dict(last)
    new["min_days"] = str(int(end) + 1) if end.isdigit() else ""
    new["max_days"] = ""
    return replace(form, buckets=(*form.buckets[:-1], last, new))


def remove_band(form: PolicyForm, index: int) -> PolicyForm:
    """Drop band ``index``, keeping the bands contiguous: the next one starts where it did,
    or, when it was the last, the one before it becomes open-ended."""
    bands = [dict(b) for b in form.buckets]
    if len(bands) <= 1 or not 0 <= index < len(bands):
        return form
    removed = bands.pop(index)
    if index < len(bands):
        bands[index]["min_days"] = removed.get("min_days", "")
    else:
        bands[-1]["max_days"] = ""
    return replace(form, buckets=tuple(bands))
