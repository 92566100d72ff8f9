#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Throughput of mpqdev next to multiprocessing's queues, as a table.

    tests/rig/mpq-vm -- /usr/bin/python3 tests/bench/python.py [--quick] [--out FILE]

Shapes: 1 producer -> 1 consumer and 4 -> 4 processes (fork), each
producer putting its share and each consumer getting its share. Objects:
a small int, 100-byte bytes, a 10-item dict and 64 KiB bytes. Columns:
mpqdev.Queue with single calls, with put_many/get_many batches of 64,
multiprocessing.Queue, multiprocessing.SimpleQueue, and faster_fifo.Queue
(single and get_many) when it is importable. Figures are items per second
from the first put to the last get, in one run: under TCG they compare
mechanisms with each other, nothing more.
"""
import argparse
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "bindings", "python"))
import mpqdev  # noqa: E402

try:
    import faster_fifo  # noqa: F401
except ImportError:
    faster_fifo = None

ctx = multiprocessing.get_context("fork")
BATCH = 64

OBJECTS = {
    "int": 12345,
    "bytes 100": b"x" * 100,
    "dict 10": {f"k{i}": i for i in range(10)},
    "bytes 64K": b"y" * 65536,
}


def producer(q, obj, n, batched, start):
    start.wait()
    if batched:
        for i in range(0, n, BATCH):
            q.put_many([obj] * min(BATCH, n - i))
    else:
        for _ in range(n):
            q.put(obj)


def consumer(q, n, batched, done):
    got = 0
    if batched == "ff":
        while got < n:
            got += len(q.get_many(max_messages_to_get=min(BATCH, n - got)))
    elif batched:
        while got < n:
            got += len(q.get_many(min(BATCH, n - got)))
    else:
        for _ in range(n):
            q.get()
    done.put(time.monotonic())


def run(make, obj, n, procs, batched):
    q = make()
    start = ctx.Event()
    done = ctx.SimpleQueue()
    share = n // procs
    ps = [ctx.Process(target=producer, args=(q, obj, share, batched is True, start))
          for _ in range(procs)]
    cs = [ctx.Process(target=consumer, args=(q, share, batched, done))
          for _ in range(procs)]
    for p in ps + cs:
        p.start()
    t0 = time.monotonic()
    start.set()
    t1 = max(done.get() for _ in cs)
    for p in ps + cs:
        p.join()
    return share * procs / (t1 - t0)


def slab_kb():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                return int(line.split()[1])
    raise RuntimeError("no Slab: line in /proc/meminfo")


def memory_per_item(n=50000):
    """Kernel memory (slab) per queued small item, next to its pickle."""
    import pickle
    q = mpqdev.Queue()
    obj = 12345
    before = slab_kb()
    q.put_many([obj] * n)
    after = slab_kb()
    q.get_many(n)
    q.close()
    per = (after - before) * 1024 / n
    return (f"Kernel memory per queued int ({n} queued): {per:.0f} B "
            f"(slab growth), its pickle {len(pickle.dumps(obj))} B.")


def columns():
    cols = [("mpqdev", mpqdev.Queue, False),
            ("mpqdev batch", mpqdev.Queue, True),
            ("mp.Queue", ctx.Queue, False),
            ("mp.SimpleQueue", ctx.SimpleQueue, False)]
    if faster_fifo is not None:
        big = lambda: faster_fifo.Queue(max_size_bytes=64 << 20)  # noqa: E731
        cols += [("faster-fifo", big, False), ("faster-fifo get_many", big, "ff")]
    return cols


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="a tenth of the items")
    ap.add_argument("--out", help="also write the table (Markdown) here")
    args = ap.parse_args()
    scale = 0.1 if args.quick else 1.0
    cols = columns()
    lines = ["| shape | object | " + " | ".join(c[0] for c in cols) + " |",
             "| --- | --- | " + " | ".join("---:" for _ in cols) + " |"]
    print("\n".join(lines), flush=True)
    for procs in (1, 4):
        for oname, obj in OBJECTS.items():
            cells = []
            for cname, make, batched in cols:
                fast = cname.startswith(("mpqdev", "faster"))
                n = 2000 if oname == "bytes 64K" else (20000 if fast else 5000)
                n = max(procs * BATCH, int(n * scale)) // (procs * BATCH) * procs * BATCH
                rate = run(make, obj, n, procs, batched)
                cells.append(f"{rate / 1000:.1f}k")
            line = f"| {procs}->{procs} | {oname} | " + " | ".join(cells) + " |"
            lines.append(line)
            print(line, flush=True)
    mem = memory_per_item()
    print(mem, flush=True)
    lines += ["", mem]
    if args.out:
        with open(args.out, "w") as f:
            f.write("Items per second (k = 1000), one run under tests/rig/mpq-vm.\n\n")
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
