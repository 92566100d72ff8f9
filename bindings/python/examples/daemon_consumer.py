#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A daemon consumer process on a JoinableQueue, and join().

The producer puts the items 1 to 4 and waits with join() until the
consumer has called task_done() for each; the consumer is a daemon, so
the program ends with the producer. With multiprocessing, replace the
import by: from multiprocessing import JoinableQueue.
"""
from multiprocessing import Process

from mpqdev import JoinableQueue


def consumer(queue):
    while True:
        item = queue.get()
        print(f"Working on {item}", flush=True)
        print(f"Finished {item}", flush=True)
        queue.task_done()


if __name__ == "__main__":
    queue = JoinableQueue()
    Process(target=consumer, args=(queue,), daemon=True).start()
    for item in range(1, 5):
        queue.put(item)
    queue.join()
    print("All work completed", flush=True)
