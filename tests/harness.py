"""What the black-box test files share: their command line and the run of
their unittest classes. A test file's main() reads

    args, rest = harness.parse(__doc__, "cli_test")   # fixtures=True adds --fixtures
    ENCLAVE, WORKDIR = args.enclave, args.workdir
    return harness.run(rest)

and CTest passes the class to run in `rest` (tests/CMakeLists.txt).
"""

import argparse
import os
import sys
import time
import unittest


def parse(doc, name, fixtures=False):
    """--enclave (an executable, made absolute), --workdir (created), and the
    arguments left for unittest. Exits 1 naming the binary when it is missing."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--enclave", required=True)
    ap.add_argument("--workdir", required=True)
    if fixtures:
        ap.add_argument("--fixtures", help="folder made by tests/fixtures.py (default: made under --workdir)")
    args, rest = ap.parse_known_args()
    if not os.access(args.enclave, os.X_OK):
        sys.exit(f"{name}: enclave binary not found or not executable: {args.enclave}")
    args.enclave = os.path.abspath(args.enclave)
    args.workdir = os.path.abspath(args.workdir)
    os.makedirs(args.workdir, exist_ok=True)
    return args, rest


class TimedResult(unittest.TextTestResult):
    """Records each test's seconds (setUpClass goes to the class's first test)."""

    durations = []

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def stopTest(self, test):
        super().stopTest(test)
        TimedResult.durations.append((time.monotonic() - self._started, test.id().split(".", 1)[-1]))


def run(rest):
    """Runs the classes named in rest (all when none), verbosely, and lists the
    slowest tests (the test time budget is kept by looking at them); 0 when all pass."""
    runner = unittest.TextTestRunner(verbosity=2, resultclass=TimedResult)
    result = unittest.main(argv=[sys.argv[0], "-v", *rest], exit=False, testRunner=runner).result
    slowest = sorted(TimedResult.durations, reverse=True)[:5]
    print("slowest: " + ", ".join(f"{name} {seconds:.1f}s" for seconds, name in slowest), file=sys.stderr)
    return 0 if result.wasSuccessful() else 1
