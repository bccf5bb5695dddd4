"""ORM models of collection: portfolios, debtors and their contacts, debts."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, Timestamped, UUIDPrimaryKey
from core.tenancy import TenantOwned


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
    __table_args__ = (UniqueConstraint("tenant_id", "cpf_hash"),)

    cpf: Mapped[str] = mapped_column(String(11))
    # Keyed hash for look-ups across tenants (debtor site) without scanning clear CPFs.
    cpf_hash: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(100), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    zip_code: Mapped[str] = mapped_column(String(8), default="")

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="debtor", cascade="all, delete-orphan", order_by="Contact.created_at"
    )
    debts: Mapped[list[Debt]] = relationship(back_populates="debtor", order_by="Debt.due_date")


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

    debtor: Mapped[Debtor] = relationship(back_populates="contacts")


class Debt(UUIDPrimaryKey, Timestamped, TenantOwned, Base):
    """One contract of a debtor at a tenant, with its overdue installments."""

    __tablename__ = "debts"
    __table_args__ = (
        UniqueConstraint("tenant_id", "portfolio_id", "contract"),
        Index("ix_debts_tenant_status_due", "tenant_id", "status", "due_date"),
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

    debtor: Mapped[Debtor] = relationship(back_populates="debts")
    portfolio: Mapped[Portfolio] = relationship()
    items: Mapped[list[DebtItem]] = relationship(
        back_populates="debt", cascade="all, delete-orphan", order_by="DebtItem.number"
    )


class DebtItem(UUIDPrimaryKey, TenantOwned, Base):
    """One overdue installment of the original contract."""

    __tablename__ = "debt_items"
    __table_args__ = (UniqueConstraint("debt_id", "number"),)

    debt_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("debts.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger)  # centavos

    debt: Mapped[Debt] = relationship(back_populates="items")
