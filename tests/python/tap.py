# SPDX-License-Identifier: GPL-2.0
"""Run unittest test cases and report them in TAP for tests/run-tests.

    import tap
    tap.main(ClassA, ClassB)   # or tap.main() for every TestCase of __main__

One TAP line per test method: "ok N - Class.method", "ok N - ... # SKIP
reason" or "not ok N - ..." followed by the traceback as "# " lines. The
plan comes last; the exit status is 1 if anything failed. Also puts
bindings/python first on sys.path, so the tree's mpqdev is the one tested,
unless MPQ_INSTALLED is set (tests/installed: the installed mpqdev).
"""
import os
import sys
import time
import traceback
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if not os.environ.get("MPQ_INSTALLED"):
    sys.path.insert(0, os.path.join(TOP, "bindings", "python"))
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [os.path.join(TOP, "bindings", "python")] +
        [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])


class TapResult(unittest.TestResult):
    def __init__(self):
        super().__init__()
        self.n = 0
        self.failed = 0
        self.start = time.monotonic()
        self._sub_failed = False

    def _line(self, test, status, extra=""):
        self.n += 1
        name = test.id().split(".", 1)[-1] if isinstance(test, unittest.TestCase) else str(test)
        if not extra:
            extra = f" ({time.monotonic() - self.start:.2f} s)"
        print(f"{status} {self.n} - {name}{extra}", flush=True)

    def _diag(self, err):
        text = "".join(traceback.format_exception(*err))
        for line in text.rstrip().splitlines():
            print("# " + line, flush=True)

    def startTest(self, test):
        super().startTest(test)
        self.start = time.monotonic()
        self._sub_failed = False

    def addSuccess(self, test):
        if not self._sub_failed:
            self._line(test, "ok")

    def addSubTest(self, test, subtest, err):
        if err is not None:
            if not self._sub_failed:
                self._sub_failed = True
                self.failed += 1
                self._line(test, "not ok")
            self._diag(err)

    def addFailure(self, test, err):
        self.failed += 1
        self._line(test, "not ok")
        self._diag(err)

    addError = addFailure

    def addSkip(self, test, reason):
        self._line(test, "ok", f" # SKIP {reason}")

    def addExpectedFailure(self, test, err):
        self._line(test, "ok", " # TODO expected failure")

    def addUnexpectedSuccess(self, test):
        self.failed += 1
        self._line(test, "not ok", " (unexpected success)")


def main(*classes):
    if not classes:
        mod = sys.modules["__main__"]
        classes = [v for v in vars(mod).values()
                   if isinstance(v, type) and issubclass(v, unittest.TestCase)
                   and v.__module__ == "__main__" and not v.__name__.startswith("_")]
    loader = unittest.TestLoader()
    suite = unittest.TestSuite(loader.loadTestsFromTestCase(c) for c in classes)
    if not os.path.exists("/dev/mpq/control"):
        print("1..0 # SKIP /dev/mpq/control is missing: is mpq.ko loaded?")
        sys.exit(4)
    result = TapResult()
    suite.run(result)
    print(f"1..{result.n}", flush=True)
    sys.exit(1 if result.failed else 0)
