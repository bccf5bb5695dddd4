import itertools
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from collection.domain.business_days import is_business_day
from collection.domain.money import apply_rate
from collection.domain.offers import Offer, OfferKind, describe_offer, exclusion_reason, make_offers
from collection.domain.policy import AgeBucket, NegotiationPolicy, PolicyBook
from collection.domain.price import yearly_rate
from collection.domain.valuation import ContractTerms, Debt, valuate
from tests.unit.domain.strategies import ON_DATES, debts_for, policies
from tests.unit.domain.test_cet import cmn_3517_reference

ON = date(2025, 6, 2)
TERMS = ContractTerms(Decimal("0.02"), Decimal("0.01"))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[NegotiationPolicy, list[Debt], date]:
    on = draw(ON_DATES)
    return draw(policies()), draw(debts_for(on)), on


def _buckets(policy: NegotiationPolicy, debts: list[Debt], on: date) -> list[AgeBucket]:
    found = []
    for debt in debts:
        bucket = policy.bucket_for(valuate(debt, on, terms=policy.charges).days_late)
        assert bucket is not None
        found.append(bucket)
    return found


def _families(offers: list[Offer]) -> dict[int, list[Offer]]:
    families: dict[int, list[Offer]] = {}
    for offer in offers:
        if offer.kind is OfferKind.INSTALLMENTS:
            families.setdefault(offer.down_payment, []).append(offer)
    return families


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_no_offer_breaks_the_policy(scenario: tuple[NegotiationPolicy, list[Debt], date]) -> None:
    policy, debts, on = scenario
    buckets = _buckets(policy, debts, on)
    valuations = [valuate(d, on, terms=policy.charges) for d in debts]
    cash_allowed = sum(
        apply_rate(v.charges, b.cash_discount_charges)
        + apply_rate(v.principal, b.cash_discount_principal)
        for v, b in zip(valuations, buckets, strict=True)
    )
    plan_allowed = sum(
        apply_rate(v.charges, b.installment_discount_charges)
        + apply_rate(v.principal, b.installment_discount_principal)
        for v, b in zip(valuations, buckets, strict=True)
    )
    for offer in make_offers(debts, policy, on):
        assert offer.balance == sum(v.total for v in valuations)
        assert offer.payment_count <= min(b.max_installments for b in buckets)
        assert offer.valid_until - on >= timedelta(days=2)
        assert offer.valid_until == on + timedelta(days=min(b.validity_days for b in buckets))
        assert offer.first_due_date >= offer.valid_until
        assert 0 <= offer.discount <= offer.balance
        dates = [p.due_date for p in offer.installments]
        assert all(is_business_day(d) for d in dates)
        assert is_business_day(offer.first_due_date)
        assert dates == sorted(set(dates))
        if offer.kind is OfferKind.CASH:
            assert offer.discount <= cash_allowed
            assert offer.interest == 0
            continue
        assert offer.discount <= plan_allowed
        assert all(offer.monthly_rate <= b.monthly_rate for b in buckets)
        assert offer.yearly_rate == yearly_rate(offer.monthly_rate)
        floor = max(b.min_installment for b in buckets)
        assert all(p.amount >= floor for p in offer.installments)
        if offer.down_payment:
            assert offer.down_payment >= max(b.min_down_payment for b in buckets)
            assert offer.down_payment >= max(
                apply_rate(offer.negotiated, b.min_down_payment_rate) for b in buckets
            )
            assert offer.down_payment >= floor
            assert offer.down_payment_due == offer.first_due_date
        for earlier, later in itertools.pairwise(dates):
            assert (later - earlier).days >= 26  # monthly, give or take a business-day shift


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_installments_sum_to_the_total_to_the_centavo(
    scenario: tuple[NegotiationPolicy, list[Debt], date],
) -> None:
    for offer in make_offers(scenario[1], scenario[0], scenario[2]):
        assert offer.down_payment + sum(p.amount for p in offer.installments) == offer.total
        assert offer.total == offer.balance - offer.discount + offer.interest
        assert offer.interest >= 0


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_more_installments_never_cost_less_in_total(
    scenario: tuple[NegotiationPolicy, list[Debt], date],
) -> None:
    offers = make_offers(scenario[1], scenario[0], scenario[2])
    cash = [o for o in offers if o.kind is OfferKind.CASH]
    for family in _families(offers).values():
        counts = [o.installment_count for o in family]
        assert counts == sorted(counts)
        totals = [o.total for o in family]
        assert totals == sorted(totals)
        for offer in family:
            assert all(c.total <= offer.total for c in cash)


@settings(max_examples=100, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_the_same_inputs_give_the_same_offers(
    scenario: tuple[NegotiationPolicy, list[Debt], date], rnd: object
) -> None:
    policy, debts, on = scenario
    first = make_offers(debts, policy, on)
    shuffled = list(debts)
    rnd.shuffle(shuffled)  # type: ignore[attr-defined]
    assert make_offers(debts, policy, on) == first
    assert make_offers(shuffled, policy, on) == first
    assert len({o.code for o in first}) == len(first)


@settings(max_examples=100, deadline=None)
@given(scenarios())
def test_sem_juros_is_never_said_when_interest_is_charged(
    scenario: tuple[NegotiationPolicy, list[Debt], date],
) -> None:
    for offer in make_offers(scenario[1], scenario[0], scenario[2]):
        text = describe_offer(offer)
        if offer.monthly_rate > 0:
            assert "sem juros" not in text
        if offer.interest > 0:
            assert "sem juros" not in text


def _simple_policy(**bucket: object) -> NegotiationPolicy:
    fields: dict[str, object] = {
        "min_days": 0,
        "max_installments": 12,
        "monthly_rate": Decimal("0.02"),
        "min_installment": 1000,
    }
    fields.update(bucket)
    return NegotiationPolicy((AgeBucket(**fields),), charges=TERMS)  # type: ignore[arg-type]


def test_plan_for_ten_thousand_at_two_percent_in_twelve_pays_945_60() -> None:
    policy = _simple_policy()
    debt = Debt.single("c", 1_000_000, date(2025, 6, 2))  # not late yet: balance = principal
    offers = {o.code: o for o in make_offers([debt], policy, ON)}
    plan = offers["installments-12"]
    assert plan.negotiated == 1_000_000
    assert [p.amount for p in plan.installments][:11] == [94560] * 11
    assert plan.monthly_rate == Decimal("0.02")
    assert plan.yearly_rate == Decimal("0.2682")
    assert offers["cash"].total == 1_000_000


def test_cet_of_every_offer_follows_the_cmn_3517_method() -> None:
    policy = _simple_policy(max_installments=8, min_down_payment=50000)
    debt = Debt.single("c", 1_000_000, date(2025, 2, 10))
    offers = [o for o in make_offers([debt], policy, ON) if o.kind is OfferKind.INSTALLMENTS]
    assert offers
    for offer in offers:
        flows = [(offer.start_date, offer.negotiated)]
        if offer.down_payment:
            flows.append((offer.start_date, offer.down_payment))
        flows += [(p.due_date, p.amount) for p in offer.installments]
        assert abs(offer.cet_yearly - cmn_3517_reference(flows)) <= Decimal("0.0001")


def test_cash_offer_gets_the_best_discount_of_the_debts_age() -> None:
    policy = NegotiationPolicy(
        (
            AgeBucket(0, 90, cash_discount_charges=Decimal("0.5")),
            AgeBucket(91, cash_discount_charges=Decimal(1), cash_discount_principal=Decimal("0.3")),
        ),
        charges=TERMS,
    )
    young = Debt.single("a", 100000, date(2025, 4, 2))
    old = Debt.single("b", 100000, date(2024, 6, 2))
    vy, vo = valuate(young, ON, terms=TERMS), valuate(old, ON, terms=TERMS)
    (cash,) = make_offers([young, old], policy, ON)
    assert cash.discount_on_charges == apply_rate(vy.charges, Decimal("0.5")) + vo.charges
    assert cash.discount_on_principal == 30000
    assert cash.total == vy.total + vo.total - cash.discount


def test_several_buckets_take_the_most_restrictive_plan_terms() -> None:
    policy = NegotiationPolicy(
        (
            AgeBucket(
                0, 90, max_installments=6, monthly_rate=Decimal("0.03"), min_installment=2000
            ),
            AgeBucket(91, max_installments=24, monthly_rate=Decimal("0.01"), min_installment=1000),
        ),
        charges=TERMS,
    )
    debts = [Debt.single("a", 500000, date(2025, 4, 2)), Debt.single("b", 500000, date(2024, 6, 2))]
    offers = make_offers(debts, policy, ON)
    plans = [o for o in offers if o.kind is OfferKind.INSTALLMENTS]
    assert max(o.payment_count for o in plans) == 6
    assert {o.monthly_rate for o in plans} == {Decimal("0.01")}


def test_prescribed_debts_are_not_offered() -> None:
    policy = _simple_policy()
    prescribed = Debt.single("old", 100000, date(2019, 1, 10))
    assert make_offers([prescribed], policy, ON) == []
    assert exclusion_reason(prescribed, policy, ON) == "dívida prescrita: não pode ser cobrada"
    # Asked for voluntary payment, but the policy does not allow it: still nothing.
    assert make_offers([prescribed], policy, ON, include_prescribed=True) == []


def test_prescribed_debt_offered_only_for_voluntary_payment_when_the_policy_allows() -> None:
    policy = NegotiationPolicy(
        (AgeBucket(0, cash_discount_charges=Decimal(1)),),
        charges=TERMS,
        allow_voluntary_prescribed=True,
    )
    prescribed = Debt.single("old", 100000, date(2019, 1, 10))
    assert make_offers([prescribed], policy, ON) == []
    (offer,) = make_offers([prescribed], policy, ON, include_prescribed=True)
    assert offer.includes_prescribed


def test_prescribed_items_are_left_out_of_a_debt_offer() -> None:
    from collection.domain.valuation import DebtItem

    debt = Debt("x", (DebtItem(100000, date(2019, 1, 10)), DebtItem(50000, date(2025, 5, 2))))
    (cash, *_) = make_offers([debt], _simple_policy(), ON)
    assert cash.valuations[0].principal == 50000
    assert not cash.includes_prescribed


def test_debt_outside_every_bucket_is_left_out_with_a_reason() -> None:
    policy = NegotiationPolicy((AgeBucket(31),), charges=TERMS)
    young = Debt.single("a", 100000, date(2025, 5, 20))
    assert make_offers([young], policy, ON) == []
    reason = exclusion_reason(young, policy, ON)
    assert reason is not None and "faixa" in reason


def test_policy_book_applies_each_portfolios_discount() -> None:
    default = NegotiationPolicy((AgeBucket(0),), charges=TERMS)
    generous = NegotiationPolicy(
        (AgeBucket(0, cash_discount_principal=Decimal("0.5")),), charges=TERMS
    )
    book = PolicyBook(default, {"cartoes": generous})
    debts = [
        Debt.single("a", 100000, ON, portfolio="cartoes"),
        Debt.single("b", 100000, ON, portfolio="veiculos"),
    ]
    (cash,) = make_offers(debts, book, ON)
    assert cash.discount_on_principal == 50000


def test_single_installment_policy_offers_cash_only() -> None:
    offers = make_offers([Debt.single("a", 100000, ON)], _simple_policy(max_installments=1), ON)
    assert [o.kind for o in offers] == [OfferKind.CASH]


def test_zero_rate_plan_says_sem_juros_and_costs_the_cash_price() -> None:
    policy = _simple_policy(monthly_rate=Decimal(0))
    offers = make_offers([Debt.single("a", 120000, ON)], policy, ON)
    plan = next(o for o in offers if o.code == "installments-3")
    assert plan.total == 120000
    assert "3x de R$\u00a0400,00 sem juros" in describe_offer(plan)


def test_extreme_rate_and_term_never_give_a_negative_installment() -> None:
    policy = _simple_policy(max_installments=120, monthly_rate=Decimal("0.10"), min_installment=1)
    offers = make_offers([Debt.single("a", 175003, ON)], policy, ON)
    assert offers
    for family in _families(offers).values():
        totals = [o.total for o in family]
        assert totals == sorted(totals)
    for offer in offers:
        assert all(p.amount >= 1 for p in offer.installments)
        assert offer.down_payment + sum(p.amount for p in offer.installments) == offer.total


def test_disclosure_states_rates_cet_total_and_the_right_to_pay_early() -> None:
    offers = make_offers([Debt.single("a", 1_000_000, ON)], _simple_policy(), ON)
    text = describe_offer(next(o for o in offers if o.code == "installments-12"))
    for fragment in ("12x de R$\u00a0945,60", "2,00% ao mês", "26,82% ao ano", "CET de"):
        assert fragment in text
    assert "redução proporcional dos juros" in text
    assert "válida até" in text


def test_offer_with_a_prescribed_debt_says_payment_is_voluntary() -> None:
    policy = NegotiationPolicy((AgeBucket(0),), charges=TERMS, allow_voluntary_prescribed=True)
    prescribed = Debt.single("old", 100000, date(2019, 1, 10))
    (offer,) = make_offers([prescribed], policy, ON, include_prescribed=True)
    assert "prescrita" in describe_offer(offer)
    assert "voluntário" in describe_offer(offer)
