"""Call-heavy workload: about 1.27 M Python calls (2 x fib(27)) of a tiny recursive function."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


for _ in range(2):
    fib(27)
