"""Cross-row checks of one file: a contract belongs to one CPF; an installment appears once.

Checking a million-row file needs a record of every contract seen, so memory matters. A
``dict`` of contract strings costs about 150 bytes a contract; this ledger is an
open-addressing hash table in three flat ``array``s instead:

- key: the 64-bit ``hash()`` of the contract text (8 bytes);
- value: the CPF (37 bits) and the line where the contract first appeared (27 bits),
  packed into 8 bytes;
- installments 1 to 64 of the contract as a 64-bit mask (8 bytes); a contract with
  installments above 64 keeps those in a small ``set`` of hashes.

So 24 bytes a slot, at most 70% full: **about 35-70 bytes per distinct contract**
(1,000,000 contracts: 32-64 MiB, plus a transient copy while the table doubles). Rows
of one contract usually come together, so the current contract's slot is remembered and
the common case (same contract as the row before) costs no probing at all.

Keys are hashes, not the texts: two different contracts with the same 64-bit hash would
be taken as one. Python's string hash is randomised per process, so this cannot be
provoked; by chance it happens about once in 3·10^7 files of a million contracts, and
the user then sees one row rejected as a duplicate and can import it again.
"""

from __future__ import annotations

from array import array
from enum import Enum

__all__ = ["Conflict", "ContractLedger"]

_LINE_BITS = 27
_LINE_MASK = (1 << _LINE_BITS) - 1
_MASK_BITS = 64
_LOAD_NUM, _LOAD_DEN = 7, 10  # grow past 70% full


class Conflict(Enum):
    """What a row contradicts in the rows before it."""

    OTHER_CPF = "other_cpf"
    REPEATED_INSTALLMENT = "repeated_installment"


class ContractLedger:
    """Remembers, for every contract of a file, its CPF, first line and installments."""

    __slots__ = (
        "_cpf_lines",
        "_current",
        "_current_cpf",
        "_current_first",
        "_current_slot",
        "_high",
        "_keys",
        "_masks",
        "_size",
    )

    def __init__(self, capacity: int = 1 << 12) -> None:
        size = 1 << max(capacity - 1, 1).bit_length()
        self._keys = array("q", bytes(8 * size))
        self._cpf_lines = array("Q", bytes(8 * size))
        self._masks = array("Q", bytes(8 * size))
        self._size = 0
        self._current: str | None = None  # the contract of the previous accepted row
        self._current_cpf = ""
        self._current_first = 0
        self._current_slot = -1
        self._high: set[int] = set()

    def __len__(self) -> int:
        return self._size

    def check(
        self, contract: str, cpf: str, installment: int, line: int
    ) -> tuple[Conflict, int] | None:
        """Record the row, or return the conflict and the contract's first line.

        A conflicting row is not recorded, so a later row that agrees with the first one
        is still accepted.
        """
        if contract == self._current:
            if cpf != self._current_cpf:
                return Conflict.OTHER_CPF, self._current_first
            slot = self._current_slot
        else:
            slot = self._find_or_add(contract, cpf, line)
            packed = self._cpf_lines[slot]
            first = packed & _LINE_MASK
            if packed >> _LINE_BITS != int(cpf):
                return Conflict.OTHER_CPF, first
            self._current, self._current_cpf = contract, cpf
            self._current_slot, self._current_first = slot, first
        if installment <= _MASK_BITS:
            bit = 1 << (installment - 1)
            masks = self._masks
            if masks[slot] & bit:
                return Conflict.REPEATED_INSTALLMENT, self._current_first
            masks[slot] |= bit
        else:
            key = hash((contract, installment))
            if key in self._high:
                return Conflict.REPEATED_INSTALLMENT, self._current_first
            self._high.add(key)
        return None

    def _find_or_add(self, contract: str, cpf: str, line: int) -> int:
        key = hash(contract) or 1  # 0 marks an empty slot
        keys = self._keys
        mask = len(keys) - 1
        slot = key & mask
        while True:
            found = keys[slot]
            if found == key:
                return slot
            if found == 0:
                break
            slot = (slot + 1) & mask
        keys[slot] = key
        self._cpf_lines[slot] = (int(cpf) << _LINE_BITS) | min(line, _LINE_MASK)
        self._size += 1
        if self._size * _LOAD_DEN > len(keys) * _LOAD_NUM:
            self._grow()
            return self._slot_of(key)
        return slot

    def _slot_of(self, key: int) -> int:
        keys = self._keys
        mask = len(keys) - 1
        slot = key & mask
        while keys[slot] != key:
            slot = (slot + 1) & mask
        return slot

    def _grow(self) -> None:
        old_keys, old_values, old_masks = self._keys, self._cpf_lines, self._masks
        size = len(old_keys) * 2
        keys = self._keys = array("q", bytes(8 * size))
        values = self._cpf_lines = array("Q", bytes(8 * size))
        masks = self._masks = array("Q", bytes(8 * size))
        mask = size - 1
        for key, value, bits in zip(old_keys, old_values, old_masks, strict=True):
            if key:
                slot = key & mask
                while keys[slot]:
                    slot = (slot + 1) & mask
                keys[slot], values[slot], masks[slot] = key, value, bits
        self._current = None  # slots moved
