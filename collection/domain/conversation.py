"""The guided conversation over SMS or WhatsApp, as a pure state machine: what a text
from the person asks for, given where the conversation stands.

It never reveals a debt before the identity proof (LGPD: the number may be someone
else's): until the person gives the right date of birth, every request for debts, the
Pix code or offers is answered by asking for it. Proof lapses after ``PROOF_LIFETIME``
of silence; too many wrong dates lock the conversation (the site's throttle decides how
many, and the service counts them). The service performs each action (look the debts
up, issue the Pix code, accept the offer through the site's exactly-once path) and
writes the pt-BR text; this module only decides.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from collection.domain.stop_words import normalise

PROOF_LIFETIME = timedelta(minutes=30)


class Step(enum.StrEnum):
    NEW = "new"
    AWAIT_BIRTH_DATE = "await_birth_date"
    MENU = "menu"
    OFFERS = "offers"  # the offers were listed; a number picks one
    CONFIRM_OFFER = "confirm_offer"  # "SIM" accepts the chosen offer
    WITH_PERSON = "with_person"  # an agent or the creditor's staff answers from now on
    LOCKED = "locked"  # too many wrong dates of birth


class Action(enum.StrEnum):
    ASK_BIRTH_DATE = "ask_birth_date"
    CHECK_BIRTH_DATE = "check_birth_date"
    SHOW_MENU = "show_menu"
    SHOW_DEBTS = "show_debts"
    SEND_PIX = "send_pix"
    SHOW_OFFERS = "show_offers"
    CONFIRM_OFFER = "confirm_offer"
    ACCEPT_OFFER = "accept_offer"
    HAND_OVER = "hand_over"  # the account enters the agency or creditor queue
    RELAY = "relay"  # the text goes to the person answering; no automatic reply
    HELP = "help"
    LOCKED_OUT = "locked_out"


# Actions that show something about the debts: only ever after the identity proof.
REVEALING = frozenset(
    {
        Action.SHOW_DEBTS,
        Action.SEND_PIX,
        Action.SHOW_OFFERS,
        Action.CONFIRM_OFFER,
        Action.ACCEPT_OFFER,
    }
)


@dataclass(frozen=True, slots=True)
class State:
    """Where a conversation stands (stored by the service between texts)."""

    step: Step = Step.NEW
    verified_at: datetime | None = None
    offer_count: int = 0  # how many offers were listed (OFFERS)
    chosen: int | None = None  # 1-based, the offer to confirm (CONFIRM_OFFER)

    def verified(self, now: datetime) -> bool:
        """True while the identity proof holds (it lapses after silence)."""
        return self.verified_at is not None and now - self.verified_at < PROOF_LIFETIME


@dataclass(frozen=True, slots=True)
class Turn:
    """What to do with a text and where the conversation goes next."""

    action: Action
    state: State
    birth_date: date | None = None  # CHECK_BIRTH_DATE: the date the person gave
    offer: int | None = None  # CONFIRM_OFFER / ACCEPT_OFFER: 1-based offer number


_MENU_WORDS = {
    "1": Action.SHOW_DEBTS,
    "dividas": Action.SHOW_DEBTS,
    "minhas dividas": Action.SHOW_DEBTS,
    "ver dividas": Action.SHOW_DEBTS,
    "2": Action.SEND_PIX,
    "pix": Action.SEND_PIX,
    "codigo pix": Action.SEND_PIX,
    "3": Action.SHOW_OFFERS,
    "ofertas": Action.SHOW_OFFERS,
    "negociar": Action.SHOW_OFFERS,
    "acordo": Action.SHOW_OFFERS,
    "4": Action.HAND_OVER,
    "atendente": Action.HAND_OVER,
    "falar com atendente": Action.HAND_OVER,
    "pessoa": Action.HAND_OVER,
    "humano": Action.HAND_OVER,
}
_GREETINGS = frozenset({"oi", "ola", "bom dia", "boa tarde", "boa noite", "menu", "inicio"})
_YES = frozenset({"sim", "s", "aceito", "confirmo"})
_NO = frozenset({"nao", "n", "voltar", "cancelar oferta"})
_DATE = re.compile(r"(\d{1,2})\D{0,3}(\d{1,2})\D{0,3}(\d{4})")
_DATE_DIGITS = re.compile(r"(\d{2})(\d{2})(\d{4})")


def birth_date_in(text: str) -> date | None:
    """A date written as 31/12/1980, 31-12-1980, 31 12 1980 or 31121980; else None."""
    compact = text.strip()
    match = _DATE_DIGITS.fullmatch(compact) or _DATE.fullmatch(compact)
    if match is None:
        return None
    day, month, year = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def next_turn(state: State, text: str, now: datetime) -> Turn:
    """Decide what the person's ``text`` asks for (stop words are handled before)."""
    if state.step is Step.LOCKED:
        return Turn(Action.LOCKED_OUT, state)
    if state.step is Step.WITH_PERSON:
        return Turn(Action.RELAY, state)
    words = normalise(text)
    if not state.verified(now):
        return _before_proof(state, text)
    if state.step is Step.OFFERS and words.isdigit():
        number = int(words)
        if 1 <= number <= state.offer_count:
            chosen = replace(state, step=Step.CONFIRM_OFFER, chosen=number)
            return Turn(Action.CONFIRM_OFFER, chosen, offer=number)
    if state.step is Step.CONFIRM_OFFER and state.chosen is not None:
        if words in _YES:
            done = replace(state, step=Step.MENU, chosen=None, offer_count=0)
            return Turn(Action.ACCEPT_OFFER, done, offer=state.chosen)
        if words in _NO:
            return Turn(Action.SHOW_OFFERS, replace(state, step=Step.OFFERS, chosen=None))
    menu = replace(state, step=Step.MENU, chosen=None)
    action = _MENU_WORDS.get(words)
    if action is Action.SHOW_OFFERS:
        return Turn(action, replace(menu, step=Step.OFFERS))
    if action is Action.HAND_OVER:
        return Turn(action, replace(menu, step=Step.WITH_PERSON))
    if action is not None:
        return Turn(action, menu)
    if words in _GREETINGS:
        return Turn(Action.SHOW_MENU, menu)
    return Turn(Action.HELP, state)


def _before_proof(state: State, text: str) -> Turn:
    waiting = State(step=Step.AWAIT_BIRTH_DATE)
    if state.step is Step.AWAIT_BIRTH_DATE:
        given = birth_date_in(text)
        if given is not None:
            return Turn(Action.CHECK_BIRTH_DATE, waiting, birth_date=given)
        if _MENU_WORDS.get(normalise(text)) is Action.HAND_OVER:
            # Talking to a person needs no proof; the agent proves identity in turn.
            return Turn(Action.HAND_OVER, State(step=Step.WITH_PERSON))
    return Turn(Action.ASK_BIRTH_DATE, waiting)


def after_proof(state: State, *, ok: bool, locked: bool, now: datetime) -> State:
    """The conversation after the service checked the date of birth (``locked``: the
    throttle refuses more tries for now)."""
    if ok:
        return State(step=Step.MENU, verified_at=now)
    if locked:
        return State(step=Step.LOCKED)
    return State(step=Step.AWAIT_BIRTH_DATE)


def offers_listed(state: State, count: int) -> State:
    """The service listed ``count`` offers: a number from 1 to ``count`` picks one."""
    if count == 0:
        return replace(state, step=Step.MENU, offer_count=0)
    return replace(state, step=Step.OFFERS, offer_count=count)
