"""ORM models of collection: portfolios, debtors and their contacts, debts."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from core.db import Base, Timestamped, Updated, UUIDPrimaryKey
from core.tenancy import TenantOwned
from core.text import search_key


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    return Enum(
        cls, name=name, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]
    )


class DebtStatus(enum.StrEnum):
    """Where a debt stands."""

    OPEN = "open"
    IN_AGREEMENT = "in_agreement"
    PAID = "paid"
    REGULARIZED = "regularized"  # settled by the creditor outside Quita
    WRITTEN_OFF = "written_off"


class ContactKind(enum.StrEnum):
    EMAIL = "email"
    PHONE = "phone"


class Portfolio(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A named batch of debts a creditor brings (usually one ERP export)."""

    __tablename__ = "portfolios"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(120))


class Debtor(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A person who owes a tenant money, as that tenant knows them."""

    __tablename__ = "debtors"
    __table_args__ = (
        UniqueConstraint("tenant_id", "cpf_hash"),
        Index("ix_debtors_tenant_search_name", "tenant_id", "search_name"),
        # On PostgreSQL a trigram index serves ``LIKE '%term%'`` (SQLite: a plain one).
        Index(
            "ix_debtors_search_name_trgm",
            "search_name",
            postgresql_using="gin",
            postgresql_ops={"search_name": "gin_trgm_ops"},
        ),
    )

    cpf: Mapped[str] = mapped_column(String(11))
    # Keyed hash for look-ups across tenants (debtor site) without scanning clear CPFs.
    cpf_hash: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # ``name`` folded by core.text.search_key (kept by ``_fold_name`` and the bulk import):
    # the accounts search compares it with LIKE on both backends.
    search_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    zip_code: Mapped[str] = mapped_column(String(8), default="")
    # Set when the retention job removed what identified the person.
    anonymised_at: Mapped[datetime | None] = mapped_column(default=None)

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="debtor", cascade="all, delete-orphan", order_by="Contact.created_at"
    )
    debts: Mapped[list[Debt]] = relationship(back_populates="debtor", order_by="Debt.due_date")

    @validates("name")
    def _fold_name(self, _key: str, value: str) -> str:
        self.search_name = search_key(value)[:200]
        return value


class Contact(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """An e-mail address or phone number on file for a debtor."""

    __tablename__ = "contacts"
    __table_args__ = (UniqueConstraint("tenant_id", "debtor_id", "kind", "value"),)

    debtor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind, "contact_kind"))
    value: Mapped[str] = mapped_column(String(254))  # e-mail lower-cased, phone in E.164
    whatsapp_opt_in: Mapped[bool] = mapped_column(default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(default=None)
    not_mine_at: Mapped[datetime | None] = mapped_column(default=None)
    # The last time the person wrote to Quita's WhatsApp number from this phone: free
    # text may go for 24 hours after it; outside that window only approved templates.
    whatsapp_window_at: Mapped[datetime | None] = mapped_column(default=None)

    debtor: Mapped[Debtor] = relationship(back_populates="contacts")


class DisownedContact(UUIDPrimaryKey, Base):
    """A contact a person said is not theirs ("não é meu", or a wrong number on a call).

    Kept apart from any creditor, so a later import of the same address or number, at
    this creditor or another, comes in already stopped (a report is for every tenant).
    """

    __tablename__ = "disowned_contacts"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    kind: Mapped[ContactKind] = mapped_column(_enum(ContactKind, "disowned_kind"))
    value: Mapped[str] = mapped_column(String(254))  # as in ``contacts.value``
    reported_at: Mapped[datetime]


class Debt(UUIDPrimaryKey, Timestamped, Updated, TenantOwned, Base):
    """One contract of a debtor at a tenant, with its overdue installments."""

    __tablename__ = "debts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "portfolio_id", "contract"),
        Index("ix_debts_tenant_status_due", "tenant_id", "status", "due_date"),
        Index("ix_debts_tenant_updated", "tenant_id", "updated_at", "id"),
    )

    portfolio_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("portfolios.id", ondelete="CASCADE"), index=True
    )
    debtor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), index=True
    )
    contract: Mapped[str] = mapped_column(String(60))
    product: Mapped[str] = mapped_column(String(120), default="")
    original_amount: Mapped[int] = mapped_column(BigInteger)  # centavos, sum of installments
    due_date: Mapped[date] = mapped_column(Date)  # earliest unpaid installment
    status: Mapped[DebtStatus] = mapped_column(
        _enum(DebtStatus, "debt_status"), default=DebtStatus.OPEN
    )
    # Centavos received against this debt through agreements that ended (broken or
    # cancelled) and payments that arrived after: deducted when the debt is valued.
    paid: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Received beyond everything owed: the creditor must give it back (CDC art. 42).
    to_refund: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    debtor: Mapped[Debtor] = relationship(back_populates="debts")
    portfolio: Mapped[Portfolio] = relationship()
    items: Mapped[list[DebtItem]] = relationship(
        back_populates="debt", cascade="all, delete-orphan", order_by="DebtItem.number"
    )


class DebtItem(UUIDPrimaryKey, TenantOwned, Base):
    """One overdue installment of the original contract."""

    __tablename__ = "debt_items"
    __table_args__ = (UniqueConstraint("debt_id", "number"),)
    __touches__ = "debt"

    debt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)  # centavos

    debt: Mapped[Debt] = relationship(back_populates="items")


class ImportStatus(enum.StrEnum):
    """An import job goes preview → confirm → import; each phase is a worker job."""

    NEEDS_MAPPING = "needs_mapping"
    PREVIEW_QUEUED = "preview_queued"
    PREVIEWING = "previewing"
    PREVIEWED = "previewed"
    IMPORT_QUEUED = "import_queued"
    IMPORTING = "importing"
    IMPORTED = "imported"
    FAILED = "failed"

    @property
    def running(self) -> bool:
        return self in {
            ImportStatus.PREVIEW_QUEUED,
            ImportStatus.PREVIEWING,
            ImportStatus.IMPORT_QUEUED,
            ImportStatus.IMPORTING,
        }


class ImportJob(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """One uploaded portfolio file, its dry run (the preview) and its import."""

    __tablename__ = "import_jobs"
    __table_args__ = (Index("ix_import_jobs_tenant_created", "tenant_id", "created_at"),)

    portfolio_name: Mapped[str] = mapped_column(String(120))
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    status: Mapped[ImportStatus] = mapped_column(
        _enum(ImportStatus, "import_status"), default=ImportStatus.PREVIEW_QUEUED
    )
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent of the file read
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    preview: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[str] = mapped_column(String(500), default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)


class ImportColumnChoice(UUIDPrimaryKey, TenantOwned, Base):
    """A column mapping chosen once in the portal and remembered for the tenant."""

    __tablename__ = "import_column_choices"
    __table_args__ = (UniqueConstraint("tenant_id", "header"),)

    header: Mapped[str] = mapped_column(String(120))  # normalised header text
    field: Mapped[str] = mapped_column(String(30))


class DebtorSession(Base):
    """A person on the debtor site: bound to one CPF, verified or not, short-lived.

    The cookie holds a random token and we keep only its digest. ``cpf_hash`` is the
    keyed hash of the CPF typed; nothing about debts is read until ``verified_at``.
    """

    __tablename__ = "debtor_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cpf_hash: Mapped[str] = mapped_column(String(64), index=True)
    verified_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    ip: Mapped[str] = mapped_column(String(45), default="")


class DebtorProof(Base):
    """A creditor for which a debtor session proved the person.

    A proof counts only for the creditors whose own records it matches: the date of
    birth on that creditor's debtor row, or a one-time code sent to a contact that
    creditor holds. Data one creditor supplied never unlocks another creditor's data,
    so every debtor-side read is narrowed to the session's proven creditors.
    """

    __tablename__ = "debtor_proofs"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("debtor_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    tenant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    how: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]


class DebtorAttempt(UUIDPrimaryKey, Base):
    """A failed proof of identity, counted per address, per CPF and per path (``kind``:
    birth_date or code) to slow guessing down without locking the person out."""

    __tablename__ = "debtor_attempts"
    __table_args__ = (
        Index("ix_debtor_attempts_cpf_at", "cpf_hash", "at"),
        Index("ix_debtor_attempts_ip_at", "ip", "at"),
    )

    cpf_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
    kind: Mapped[str] = mapped_column(String(20), default="birth_date", server_default="birth_date")
    at: Mapped[datetime]


class DebtorCodeSend(UUIDPrimaryKey, Base):
    """A request for one-time codes on the debtor site, counted per CPF (and channel) and
    per address, so codes cannot be pumped (issue 26 item 8). Kept for a day.

    ``seq`` numbers the requests of one CPF and channel: two requests racing past the
    checks take the same number, and the unique key lets only one of them send."""

    __tablename__ = "debtor_code_sends"
    __table_args__ = (
        Index("ix_debtor_code_sends_cpf_at", "cpf_hash", "at"),
        Index("ix_debtor_code_sends_ip_at", "ip", "at"),
        UniqueConstraint("cpf_hash", "channel", "seq"),
    )

    cpf_hash: Mapped[str] = mapped_column(String(64))
    ip: Mapped[str] = mapped_column(String(45))
    channel: Mapped[str] = mapped_column(String(10))
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    at: Mapped[datetime]


class Agreement(UUIDPrimaryKey, Timestamped, Updated, TenantOwned, Base):
    """An accepted offer: the terms as disclosed, and the state of its payments."""

    __tablename__ = "agreements"
    __table_args__ = (
        Index("ix_agreements_tenant_updated", "tenant_id", "updated_at", "id"),
        UniqueConstraint("tenant_id", "number"),
    )

    debtor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), index=True
    )
    offer_code: Mapped[str] = mapped_column(String(30))
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(30), index=True)
    balance: Mapped[int] = mapped_column(BigInteger)  # updated balance when accepted
    discount: Mapped[int] = mapped_column(BigInteger)
    total: Mapped[int] = mapped_column(BigInteger)
    down_payment: Mapped[int] = mapped_column(BigInteger)
    monthly_rate: Mapped[str] = mapped_column(String(20))
    cet_yearly: Mapped[str] = mapped_column(String(20))
    grace_days: Mapped[int] = mapped_column(Integer)
    accepted_on: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(30), default="")
    reason_text: Mapped[str] = mapped_column(String(500), default="")
    # Exactly once: a double click or a retried request carries the same key.
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)  # the offer as it was disclosed
    credit: Mapped[int] = mapped_column(BigInteger, default=0)  # paid beyond what was due
    last_event_on: Mapped[date | None] = mapped_column(Date, default=None)
    broken_on: Mapped[date | None] = mapped_column(Date, default=None)
    # The number on its papers (``AC-2026-000045``), unique per tenant (issue 25 item 7).
    number: Mapped[str | None] = mapped_column(String(20), default=None)
    # The policy version in force when the offer was accepted. None: made before versions
    # were recorded (migration 0080), or the tenant had never published a policy of its
    # own (the platform's default policy applied).
    policy_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("policy_versions.id", ondelete="SET NULL"), default=None
    )
    # The monthly income the person told on the budget page when accepting (centavos;
    # None: not told). Checked against the mínimo existencial across their agreements.
    declared_income: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # A voluntary payment of prescribed debts (the person's free choice, policy option
    # allow_voluntary_prescribed): never collected, reminded, escalated or handed over.
    voluntary: Mapped[bool] = mapped_column(default=False, server_default=text("false"))

    installments: Mapped[list[AgreementInstallment]] = relationship(
        back_populates="agreement",
        cascade="all, delete-orphan",
        order_by="AgreementInstallment.number",
    )


class AgreementInstallment(UUIDPrimaryKey, TenantOwned, Base):
    """One payment of an agreement; number 0 is the down payment."""

    __tablename__ = "agreement_installments"
    __table_args__ = (UniqueConstraint("agreement_id", "number"),)
    __touches__ = "agreement"

    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)
    paid: Mapped[int] = mapped_column(BigInteger, default=0)
    # Interest given up by an early payoff (CDC art. 52 §2); owed = amount − paid − waived.
    waived: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")

    agreement: Mapped[Agreement] = relationship(back_populates="installments")


class AgreementDebt(TenantOwned, Base):
    """Which debts an agreement settles."""

    __tablename__ = "agreement_debts"

    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    debt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debts.id", ondelete="CASCADE"), primary_key=True
    )


class AgreementReimport(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A re-import changed a debt under an open agreement (issue 16 item 2): the contract,
    the change (lower, higher, missing), what was done to the agreement, the amounts before
    and after, and who imported. A flagged change is listed for the creditor's review."""

    __tablename__ = "agreement_reimports"
    __table_args__ = (
        UniqueConstraint("agreement_id", "debt_id", "change", "new_amount"),
        Index("ix_agreement_reimports_tenant_created", "tenant_id", "created_at"),
    )

    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    debt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debts.id", ondelete="CASCADE"))
    contract: Mapped[str] = mapped_column(String(60))
    change: Mapped[str] = mapped_column(String(10))  # lower | higher | missing
    action: Mapped[str] = mapped_column(String(15))  # recalculated | closed | flagged
    old_amount: Mapped[int] = mapped_column(BigInteger)  # the debt's balance before
    new_amount: Mapped[int] = mapped_column(BigInteger)  # the file's (0: missing)
    open_before: Mapped[int] = mapped_column(BigInteger)  # unpaid on the agreement before
    open_after: Mapped[int] = mapped_column(BigInteger)  # and after
    actor_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )


class Dispute(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A person contests a debt; its collection is frozen until the creditor answers."""

    __tablename__ = "disputes"
    __table_args__ = (
        Index("ix_disputes_tenant_status", "tenant_id", "status"),
        UniqueConstraint("tenant_id", "protocol"),
    )

    debt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # not_mine | wrong_amount | already_paid
    text: Mapped[str] = mapped_column(String(1000), default="")
    status: Mapped[str] = mapped_column(String(20), default="open")  # open | answered
    outcome: Mapped[str] = mapped_column(String(20), default="")  # upheld | rejected
    answer: Mapped[str] = mapped_column(String(1000), default="")
    answered_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    answered_at: Mapped[datetime | None] = mapped_column(default=None)
    # The number the person quotes (``CT-2026-000123``), unique per tenant (issue 25 item 4).
    protocol: Mapped[str | None] = mapped_column(String(20), default=None)

    debt: Mapped[Debt] = relationship()


class DisputeAttachment(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A document the person attached to a dispute (PDF, JPEG or PNG, checked by its
    first bytes); only the creditor's staff of that tenant see it."""

    __tablename__ = "dispute_attachments"

    dispute_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("disputes.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class DocumentCounter(UUIDPrimaryKey, TenantOwned, Base):
    """The last number given to a kind of document (dispute protocol, agreement) in a
    year, per tenant: numbers are consecutive and never reused."""

    __tablename__ = "document_counters"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "year"),)

    kind: Mapped[str] = mapped_column(String(10))
    year: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer, default=0)


class DebtorCode(UUIDPrimaryKey, Base):
    """A one-time code sent to a contact on file, to prove a CPF on the debtor site."""

    __tablename__ = "debtor_codes"

    session_id: Mapped[str] = mapped_column(String(64), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    # None when the CPF has no e-mail on file: nothing is sent, the answer looks the same.
    contact_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    # The CPF the code proves: any session of that CPF may use it, so codes someone else
    # asked for still let the person in (asking cannot be used to lock them out).
    cpf_hash: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    # A keyed hash of the contact's kind and value: codes to one phone or address are
    # limited whichever CPF or creditor asked (issue 26 item 8).
    contact_key: Mapped[str | None] = mapped_column(String(64), default=None, index=True)
    created_at: Mapped[datetime | None] = mapped_column(default=None)
    expires_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(default=None)


class PrivacyRequest(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A data-subject request made on the debtor site (LGPD art. 18), shown to the creditor."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_tenant_created", "tenant_id", "created_at"),)

    debtor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))  # opt_out | correction | copy | not_mine
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answered_at: Mapped[datetime | None] = mapped_column(default=None)

    debtor: Mapped[Debtor] = relationship()


class PaymentMethod(enum.StrEnum):
    PIX = "pix"
    BOLETO = "boleto"
    CARD = "card"


class PaymentPurpose(enum.StrEnum):
    """What a payment is for."""

    INSTALLMENT = "installment"  # the next open installment
    PAYOFF = "payoff"  # everything that remains, at present value (CDC art. 52 §2)


class PaymentStatus(enum.StrEnum):
    """A payment's life at the gateway; only ``succeeded`` counts towards the agreement."""

    PENDING = "pending"  # waiting for the person (Pix code, boleto, card form)
    PROCESSING = "processing"  # paid, clearing at the gateway
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    DISPUTED = "disputed"  # charged back


class Payment(UUIDPrimaryKey, Timestamped, Updated, TenantOwned, Base):
    """One attempt to pay an agreement installment through the payment gateway."""

    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_tenant_updated", "tenant_id", "updated_at", "id"),)

    agreement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), index=True
    )
    installment_number: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[PaymentPurpose] = mapped_column(
        _enum(PaymentPurpose, "payment_purpose"),
        default=PaymentPurpose.INSTALLMENT,
        server_default=PaymentPurpose.INSTALLMENT.value,
    )
    method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    amount: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[PaymentStatus] = mapped_column(
        _enum(PaymentStatus, "payment_status"), default=PaymentStatus.PENDING, index=True
    )
    # Sent with every gateway call, so a retried request never charges twice.
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    provider_id: Mapped[str | None] = mapped_column(String(80), unique=True, default=None)
    pix_code: Mapped[str] = mapped_column(String(1000), default="")
    boleto_line: Mapped[str] = mapped_column(String(80), default="")
    voucher_url: Mapped[str] = mapped_column(String(500), default="")
    expires_at: Mapped[datetime | None] = mapped_column(default=None)
    paid_on: Mapped[date | None] = mapped_column(Date, default=None)
    failure: Mapped[str] = mapped_column(String(300), default="")
    # How the agreement used it ([[installment number, centavos], ...] and the credit
    # left), so a refund or chargeback reverses exactly that.
    applied: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    applied_credit: Mapped[int] = mapped_column(BigInteger, default=0)
    # Refunded so far (the gateway reports the running total); the payment counts for
    # ``amount - refunded`` while it stays succeeded.
    refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # An early payoff's interest given up per installment ([[number, centavos], ...]),
    # given back if the payment is reversed.
    waived: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    # The day an early payoff's amount was computed for (it settles when paid later).
    quoted_on: Mapped[date | None] = mapped_column(Date, default=None)
    # A Pix with a due date (cobv): the terms the charge carried (due date, late fee,
    # interest, discounts by date; ``collection.domain.due_charge``), what the person's
    # bank actually paid, and the late fee and interest that payment covered.
    due_charge: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    received: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    late_charges: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class GatewayEvent(UUIDPrimaryKey, Base):
    """A payment-gateway webhook event, stored once by its id before it is applied."""

    __tablename__ = "gateway_events"

    provider_event_id: Mapped[str] = mapped_column(String(80), unique=True)
    type: Mapped[str] = mapped_column(String(80))
    account: Mapped[str] = mapped_column(String(80), default="")
    object_id: Mapped[str] = mapped_column(String(80), default="", index=True)
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(40), default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReminderAnchor(enum.StrEnum):
    """What a step of the régua counts its days from."""

    DEBT_DUE = "debt_due"  # an open debt's original due date
    # The day an open debt entered Quita, when it came in already past the régua's
    # first reminder (an old debt imported today): the "primeiro contato".
    DEBT_ENTERED = "debt_entered"
    INSTALLMENT_DUE = "installment_due"  # an agreement installment's due date
    AGREEMENT_BROKEN = "agreement_broken"  # the day an agreement broke


class Channel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    WHATSAPP = "whatsapp"


class ReminderStep(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """One step of a tenant's régua de cobrança: when, on which channel, with what text."""

    __tablename__ = "reminder_steps"

    name: Mapped[str] = mapped_column(String(80))
    anchor: Mapped[ReminderAnchor] = mapped_column(_enum(ReminderAnchor, "reminder_anchor"))
    offset_days: Mapped[int] = mapped_column(Integer)  # D+3 is 3, D-3 is -3
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "channel"))
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(String(2000))
    is_active: Mapped[bool] = mapped_column(default=True)
    # The last day the planner ran this step for (so a run plans only the days since).
    planned_through: Mapped[date | None] = mapped_column(Date, default=None)
    # WhatsApp outside the 24-hour window: the provider-approved template (Twilio
    # Content SID or template name) and, in order, the variables that fill it.
    whatsapp_template: Mapped[str] = mapped_column(String(64), default="", server_default="")
    template_variables: Mapped[str] = mapped_column(String(200), default="", server_default="")


class ChannelOptOut(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """The person stopped one channel of one creditor (the signed link of a message);
    the row's existence is the stop, an undo removes it (the privacy requests keep both)."""

    __tablename__ = "channel_opt_outs"
    __table_args__ = (UniqueConstraint("debtor_id", "channel"),)

    debtor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "opt_out_channel"))


class MessageStatus(enum.StrEnum):
    PLANNED = "planned"  # waiting for its time (and the person's hours)
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    BLOCKED = "blocked"  # a contact rule stopped it; ``rule`` says which
    FAILED = "failed"  # the channel refused it after every retry


class Message(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """The outbox of the régua: one row per (step, debt or installment), planned once."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("step_id", "subject_key"),
        Index("ix_messages_due", "status", "send_after"),
    )

    step_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("reminder_steps.id", ondelete="SET NULL"), default=None
    )
    # "d:<debt id>" or "i:<installment id>": what the message is about, for uniqueness.
    subject_key: Mapped[str] = mapped_column(String(40))
    debtor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), index=True
    )
    debt_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("debts.id", ondelete="CASCADE"), default=None, index=True
    )
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), default=None, index=True
    )
    installment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agreement_installments.id", ondelete="CASCADE"), default=None
    )
    channel: Mapped[Channel] = mapped_column(_enum(Channel, "message_channel"))
    planned_for: Mapped[date] = mapped_column(Date)
    send_after: Mapped[datetime]
    status: Mapped[MessageStatus] = mapped_column(
        _enum(MessageStatus, "message_status"), default=MessageStatus.PLANNED
    )
    rule: Mapped[str] = mapped_column(String(40), default="")
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(default=None)
    sent_at: Mapped[datetime | None] = mapped_column(default=None)
    provider_id: Mapped[str] = mapped_column(String(120), default="")
    error: Mapped[str] = mapped_column(String(300), default="")
    subject: Mapped[str] = mapped_column(String(200), default="")
    body: Mapped[str] = mapped_column(String(4000), default="")


# -- agency work ------------------------------------------------------------------------


class HandoverRule(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """Which accounts a tenant hands to which agency, at which commission.

    Every condition that is set must hold (unset ones are ignored); the rules are tried
    in ``position`` order and the first that matches places the account.
    """

    __tablename__ = "handover_rules"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)
    min_days_overdue: Mapped[int | None] = mapped_column(Integer, default=None)
    min_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)  # centavos
    on_broken_agreement: Mapped[bool] = mapped_column(default=False)
    after_regua: Mapped[bool] = mapped_column(default=False)  # no answer to the whole régua
    commission_rate: Mapped[str] = mapped_column(String(12))  # Decimal fraction, "0.15"
    is_active: Mapped[bool] = mapped_column(default=True)


class HandoverStatus(enum.StrEnum):
    ACTIVE = "active"  # with the agency
    RECALLED = "recalled"  # taken back by the creditor (or its grant ended)
    CLOSED = "closed"  # nothing left to collect


class Handover(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """An account (a debtor at a tenant) placed with an agency: the unit of the work queue.

    At most one agent holds it at a time (``claimed_by``), taken by a conditional
    update so two agents claiming at once cannot both win.
    """

    __tablename__ = "handovers"
    __table_args__ = (
        Index(
            "ux_handovers_active_debtor",
            "tenant_id",
            "debtor_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
        Index("ix_handovers_agency_status", "agency_id", "status"),
    )

    debtor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id", ondelete="CASCADE"))
    rule_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("handover_rules.id", ondelete="SET NULL"), default=None
    )
    commission_rate: Mapped[str] = mapped_column(String(12))
    status: Mapped[HandoverStatus] = mapped_column(
        _enum(HandoverStatus, "handover_status"), default=HandoverStatus.ACTIVE
    )
    handed_over_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    claimed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None, index=True
    )
    claimed_at: Mapped[datetime | None] = mapped_column(default=None)
    score: Mapped[int] = mapped_column(Integer, default=0)  # higher comes first
    follow_up_on: Mapped[date | None] = mapped_column(Date, default=None)
    last_contact_at: Mapped[datetime | None] = mapped_column(default=None)
    debtor: Mapped[Debtor] = relationship()


class CaseEntryKind(enum.StrEnum):
    NOTE = "note"
    CALL = "call"
    PROMISE = "promise"


class CaseEntry(UUIDPrimaryKey, TenantOwned, Base):
    """Staff work on an account: a note, a call with its outcome, or a promise to pay."""

    __tablename__ = "case_entries"
    __table_args__ = (Index("ix_case_entries_debtor_at", "debtor_id", "at"),)

    debtor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    handover_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("handovers.id", ondelete="SET NULL"), default=None
    )
    author_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    author_label: Mapped[str] = mapped_column(String(254), default="")
    kind: Mapped[CaseEntryKind] = mapped_column(_enum(CaseEntryKind, "case_entry_kind"))
    text: Mapped[str] = mapped_column(String(2000), default="")
    call_outcome: Mapped[str] = mapped_column(String(30), default="")
    contact_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL"), default=None
    )
    promised_amount: Mapped[int | None] = mapped_column(BigInteger, default=None)
    promised_on: Mapped[date | None] = mapped_column(Date, default=None)
    follow_up_on: Mapped[date | None] = mapped_column(Date, default=None)
    promise_status: Mapped[str] = mapped_column(String(20), default="")  # open | kept | broken
    at: Mapped[datetime]


class SiteVisit(UUIDPrimaryKey, TenantOwned, Base):
    """The debtor on the debtor site, as the creditor may see it: verified, offers seen."""

    __tablename__ = "site_visits"
    __table_args__ = (Index("ix_site_visits_debtor_at", "debtor_id", "at"),)

    debtor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debtors.id", ondelete="CASCADE"))
    what: Mapped[str] = mapped_column(String(30))  # verified | offer_seen | ...
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]


class SpecialOfferStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for the creditor
    APPROVED = "approved"  # shown to the debtor until valid_until
    REJECTED = "rejected"
    ACCEPTED = "accepted"  # became an agreement
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"


class SpecialOffer(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """An offer beyond the tenant's policy, proposed by staff, approved by the creditor."""

    __tablename__ = "special_offers"
    __table_args__ = (Index("ix_special_offers_tenant_status", "tenant_id", "status"),)

    debtor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debtors.id", ondelete="CASCADE"), index=True
    )
    handover_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("handovers.id", ondelete="SET NULL"), default=None
    )
    proposed_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    proposed_by_label: Mapped[str] = mapped_column(String(254), default="")
    status: Mapped[SpecialOfferStatus] = mapped_column(
        _enum(SpecialOfferStatus, "special_offer_status"), default=SpecialOfferStatus.PENDING
    )
    debt_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    balance: Mapped[int] = mapped_column(BigInteger)  # updated balance when proposed
    discount_rate: Mapped[str] = mapped_column(String(12))  # Decimal fraction of the balance
    installments: Mapped[int] = mapped_column(Integer, default=1)  # 1: pay at once
    monthly_rate: Mapped[str] = mapped_column(String(12), default="0")
    justification: Mapped[str] = mapped_column(String(1000), default="")
    valid_until: Mapped[date] = mapped_column(Date)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the computed offer
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decided_at: Mapped[datetime | None] = mapped_column(default=None)
    decision_reason: Mapped[str] = mapped_column(String(500), default="")
    agreement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agreements.id", ondelete="SET NULL"), default=None
    )


class NoticeBatch(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """A batch of prior written notices (before negativação), printed and posted."""

    __tablename__ = "notice_batches"

    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    letters: Mapped[int] = mapped_column(Integer, default=0)
    posted_on: Mapped[date | None] = mapped_column(Date, default=None)  # starts the wait


class BureauFile(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """One file sent to the credit bureau (remessa): the inclusions and removals it
    carried, numbered per tenant and kept as sent, so a download gives the same rows.
    Number 0 stands for the listings made before files were tracked (migration 0101)."""

    __tablename__ = "bureau_files"
    __table_args__ = (UniqueConstraint("tenant_id", "number"),)

    number: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    inclusions: Mapped[int] = mapped_column(Integer, default=0)
    removals: Mapped[int] = mapped_column(Integer, default=0)
    rows: Mapped[list[list[str]]] = mapped_column(JSON, default=list)


class EscalationKind(enum.StrEnum):
    NEGATIVACAO = "negativacao"
    PROTESTO = "protesto"
    JUDICIAL = "judicial"


class Escalation(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """One escalation step of one debt, from decision to its end; every change is audited.

    Negativação: notice_pending → notice_posted → listed → removal_requested (after
    payment) or cancelled. Protesto and judicial referral: decided (exported) or cancelled.
    """

    __tablename__ = "escalations"
    __table_args__ = (Index("ix_escalations_tenant_kind_status", "tenant_id", "kind", "status"),)

    debt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("debts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[EscalationKind] = mapped_column(_enum(EscalationKind, "escalation_kind"))
    status: Mapped[str] = mapped_column(String(30))
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("notice_batches.id", ondelete="SET NULL"), default=None
    )
    amount: Mapped[int] = mapped_column(BigInteger)  # the updated balance at decision
    eligible_on: Mapped[date | None] = mapped_column(Date, default=None)  # end of the wait
    listed_on: Mapped[date | None] = mapped_column(Date, default=None)
    paid_on: Mapped[date | None] = mapped_column(Date, default=None)
    removal_due_on: Mapped[date | None] = mapped_column(Date, default=None)
    removal_requested_on: Mapped[date | None] = mapped_column(Date, default=None)
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    reason: Mapped[str] = mapped_column(String(500), default="")
    # The bureau files that sent this listing's inclusion and its removal (None: not yet).
    listing_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bureau_files.id"), default=None
    )
    removal_file_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("bureau_files.id"), default=None
    )
    debt: Mapped[Debt] = relationship()
