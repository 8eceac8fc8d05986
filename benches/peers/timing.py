"""One timing method for every peer, so their figures compare."""

import statistics
import sys
import time

QUERY = "what is the overhead?"


def median_us(run, warmup=200):
    """Median microseconds of `run(QUERY)` over argv[1] (default 2000) calls, after a warm-up."""
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    for _ in range(warmup):
        run(QUERY)
    times = []
    for _ in range(n):
        t = time.perf_counter_ns()
        run(QUERY)
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1000
