"""The tiny check layer of the Python tests: count checks, print each
failure, exit non-zero at the end (tests/testutil.h for the C tests)."""
import os
import subprocess
import sys


def sample_header(td):
    """The header lines of testdata/swegen_sample.vcf (a CSQ-annotated VCF)."""
    with open(os.path.join(td, "swegen_sample.vcf")) as f:
        return [l for l in f if l.startswith("#")]


def write_sites(path, header, n, more_info=False):
    """A VCF of `n` sorted biallelic sites on contig 1 (lines end in a
    VQSLOD=d.ddd with `more_info`)."""
    with open(path, "w") as f:
        f.writelines(header)
        for i in range(n):
            f.write(f"1\t{1000 + 10 * i}\t.\tA\tG\t{50 + i % 50}\tPASS\t"
                    f"AC={1 + i % 7};AN=2000;AC_Hom={i % 3}")
            f.write(f";DP={1000 + i};VQSLOD={i % 13}.{i % 997:03d}\n" if more_info else "\n")


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
