#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""bindings/python/examples: each program runs and prints what it should.

Which consumer gets which item is up to the kernel, so the pool programs
are checked as sets of lines.
"""
import os
import subprocess
import sys
import unittest

import tap

EXAMPLES = os.path.join(tap.TOP, "bindings", "python", "examples")


def run(name):
    p = subprocess.run([sys.executable, os.path.join(EXAMPLES, name)],
                       capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        raise AssertionError(f"{name} exited {p.returncode}:\n{p.stderr}")
    return p.stdout.splitlines()


class TestExamples(unittest.TestCase):
    def test_daemon_consumer(self):
        want = []
        for i in range(1, 5):
            want += [f"Working on {i}", f"Finished {i}"]
        self.assertEqual(run("daemon_consumer.py"), want + ["All work completed"])

    def test_consumer_pool(self):
        lines = run("consumer_pool.py")
        self.assertEqual(lines[-1], "All work completed")
        items = sorted(int(line.rsplit(" ", 1)[1]) for line in lines[:-1])
        self.assertEqual(items, [1, 2, 3, 4])
        for line in lines[:-1]:
            self.assertRegex(line, r"^Consumer [01] got [1-4]$")

    def test_sentinel(self):
        lines = run("sentinel.py")
        self.assertEqual(lines[-1], "All consumers stopped")
        squares = sorted(l.split(" (")[0] for l in lines if "squared" in l)
        self.assertEqual(squares, sorted(f"{t} squared is {t * t}" for t in range(1, 7)))
        self.assertEqual(sorted(l for l in lines if l.endswith(" done")),
                         ["Consumer 0 done", "Consumer 1 done"])


if __name__ == "__main__":
    tap.main()
