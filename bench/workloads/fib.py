"""Call-heavy workload: about 450k Python calls (3 x fib(24)) of a tiny recursive function."""


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


for _ in range(3):
    fib(24)
