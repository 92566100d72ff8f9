#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Consumers that stop on a sentinel: one None per consumer.

The producer puts six tasks, then one None per consumer; each consumer
works until it gets its None. (mpqdev also offers queue.shutdown(), which
ends the stream for every consumer at once, without sentinels.) With
multiprocessing, replace the import by: from multiprocessing import Queue.
"""
from multiprocessing import Process

from mpqdev import Queue

CONSUMERS = 2
TASKS = 6


def consumer(identifier, tasks, results):
    for task in iter(tasks.get, None):
        results.put((identifier, task, task * task))
    print(f"Consumer {identifier} done", flush=True)


if __name__ == "__main__":
    tasks, results = Queue(), Queue()
    workers = [Process(target=consumer, args=(i, tasks, results))
               for i in range(CONSUMERS)]
    for w in workers:
        w.start()
    for task in range(1, TASKS + 1):
        tasks.put(task)
    for _ in range(CONSUMERS):
        tasks.put(None)
    for _ in range(TASKS):
        identifier, task, square = results.get()
        print(f"{task} squared is {square} (consumer {identifier})", flush=True)
    for w in workers:
        w.join()
    print("All consumers stopped", flush=True)
