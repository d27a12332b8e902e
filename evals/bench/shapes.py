"""The two shapes of scale of the store benchmark: who owns each filled row, and which
scope each query searches.

``one``: every row in one scope (a single user with a very long history). ``many``:
rows dealt round-robin to ``size / per_user`` users (so a user's history is spread over
the table, as when many users write at once), each query searching one user picked at
random. Pure functions: the fill, the searcher and the exact search share them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

ShapeName = Literal["one", "many"]
SHAPES: tuple[ShapeName, ...] = ("one", "many")
PER_USER = 100
"""Episodes per user in ``many``: a user's scope looks the same at every size."""


def user_name(index: int) -> str:
    return f"u{index:05d}"


@dataclass(frozen=True, slots=True)
class Shape:
    name: ShapeName
    size: int
    users: int

    @classmethod
    def of(cls, name: ShapeName, size: int, per_user: int = PER_USER) -> Shape:
        users = 1 if name == "one" else max(1, size // per_user)
        return cls(name, size, users)

    def user_of(self, row: int) -> int:
        return row % self.users

    def users_of(self, start: int, count: int) -> list[str]:
        """The user ids of rows ``start..start+count``."""
        return [user_name((start + i) % self.users) for i in range(count)]

    def rows_of(self, user: int) -> npt.NDArray[np.intp]:
        """Row numbers of ``user``'s episodes, oldest first."""
        return np.arange(user, self.size, self.users, dtype=np.intp)

    def query_users(self, count: int, seed: int) -> list[int]:
        """The user each of ``count`` queries searches (seeded; all 0 in ``one``)."""
        rng = random.Random(seed)
        return [rng.randrange(self.users) for _ in range(count)]
