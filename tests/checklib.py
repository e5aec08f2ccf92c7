"""The tiny check layer of the Python tests: count checks, print each
failure, exit non-zero at the end (tests/testutil.h for the C tests)."""
import subprocess
import sys


class Checks:
    def __init__(self, name, tool):
        self.name, self.tool = name, tool
        self.failures = self.checks = 0

    def check(self, cond, what):
        self.checks += 1
        if not cond:
            self.failures += 1
            print(f"FAIL: {what}")

    def run(self, *args, **kw):
        return subprocess.run([self.tool, *args], capture_output=True, text=True, **kw)

    def done(self):
        print(f"{self.name}: {self.checks} checks, {self.failures} failed")
        sys.exit(1 if self.failures else 0)
