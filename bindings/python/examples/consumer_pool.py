#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A pool of two daemon consumer processes on one JoinableQueue.

The producer puts the items 1 to 4; join() returns once the two consumers
together have called task_done() for every item. Which consumer gets which
item is up to the kernel. With multiprocessing, replace the import by:
from multiprocessing import JoinableQueue.
"""
from multiprocessing import Process

from mpqdev import JoinableQueue


def consumer(identifier, queue):
    while True:
        item = queue.get()
        print(f"Consumer {identifier} got {item}", flush=True)
        queue.task_done()


if __name__ == "__main__":
    queue = JoinableQueue()
    for identifier in range(2):
        Process(target=consumer, args=(identifier, queue), daemon=True).start()
    for item in range(1, 5):
        queue.put(item)
    queue.join()
    print("All work completed", flush=True)
