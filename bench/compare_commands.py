#!/usr/bin/env python3
"""Times two shell commands in alternation and prints their median wall times and ratio.

usage: compare_commands.py NAME RUNS 'COMMAND A' 'COMMAND B'
prints: NAME_a_ms, NAME_b_ms and NAME_ratio (median A / median B) as `name: value` lines.
"""
import statistics
import subprocess
import sys
import time


def timed(command: str) -> float:
    start = time.perf_counter()
    subprocess.run(command, shell=True, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    name, runs, command_a, command_b = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    timed(command_a), timed(command_b)  # warm the page cache and the kernel's tables
    a, b = [], []
    for _ in range(runs):
        a.append(timed(command_a))
        b.append(timed(command_b))
    median_a, median_b = statistics.median(a), statistics.median(b)
    print(f"{name}_a_ms: {median_a * 1000:.2f}")
    print(f"{name}_b_ms: {median_b * 1000:.2f}")
    print(f"{name}_ratio: {median_a / median_b:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
