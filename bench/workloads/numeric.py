"""Numeric loop: arithmetic in one frame, almost no calls."""


def integrate(steps):
    total = 0.0
    dx = 1.0 / steps
    x = 0.0
    for _ in range(steps):
        total += (4.0 / (1.0 + x * x)) * dx
        x += dx
    return total


integrate(3_000_000)
