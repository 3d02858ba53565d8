#!/usr/bin/env python3
"""Prints the slowest entries of the last ctest run, from the JUnit file that
`ctest --output-junit FILE` writes (`make test` and `make test-fast` do), and
the sum of all entries' times, so a test that grows past the budget in
tests/README.md shows at the end of every run.

    scripts/slowest_tests.py build/Testing/ctest-junit.xml [-n 10]
"""

import argparse
import sys
import xml.etree.ElementTree as ET


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("junit", help="file written by ctest --output-junit")
    ap.add_argument("-n", type=int, default=10, help="how many to print (default 10)")
    a = ap.parse_args()
    try:
        root = ET.parse(a.junit).getroot()
    except (OSError, ET.ParseError) as e:
        print(f"slowest_tests: cannot read {a.junit}: {e}", file=sys.stderr)
        return 1
    cases = []
    for case in root.iter("testcase"):
        try:
            seconds = float(case.get("time", ""))
        except ValueError:
            print(f"slowest_tests: {a.junit}: test '{case.get('name')}' has no numeric time", file=sys.stderr)
            return 1
        cases.append((seconds, case.get("name"), case.get("status", "")))
    if not cases:
        print(f"slowest_tests: {a.junit} lists no tests", file=sys.stderr)
        return 1
    cases.sort(key=lambda c: (-c[0], c[1]))
    width = max(len(name) for _, name, _ in cases[:a.n])
    print(f"The {min(a.n, len(cases))} slowest of {len(cases)} tests "
          f"({sum(c[0] for c in cases):.1f} s in all, summed over parallel jobs):")
    for seconds, name, status in cases[:a.n]:
        note = "" if status in ("run", "") else f"  ({status})"
        print(f"  {seconds:8.2f} s  {name:<{width}}{note}".rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
