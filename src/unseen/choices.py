"""Modes named by strings (cover styles, threshold policies, score scales, ...)."""

from __future__ import annotations

from enum import Enum
from typing import TypeVar

from unseen.errors import unknown_choice

ChoiceT = TypeVar("ChoiceT", bound="Choice")


class Choice(str, Enum):
    """An Enum of string values whose `parse` refuses an unknown name, listing the valid ones."""

    @classmethod
    def parse(cls: type[ChoiceT], value: str | ChoiceT, argument: str | None = None) -> ChoiceT:
        try:
            return cls(value)
        except ValueError:
            raise unknown_choice(argument or cls.__name__, value, [m.value for m in cls]) from None
