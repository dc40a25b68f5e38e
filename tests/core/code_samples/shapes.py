"""Shapes."""

import math


class Shape:
    """A shape."""

    def area(self) -> float:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return type(self).__name__


def circle_area(radius: float) -> float:
    return math.pi * radius**2


async def fetch_shape(key: str) -> Shape:
    return Shape()
