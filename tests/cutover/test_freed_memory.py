"""migrate_legacy's freed big blocks go back to the system (fynlo/cutover/common.py
return_freed_blocks): glibc's moving mmap threshold would otherwise keep them in the process."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# In a process of its own (the threshold is process-wide): a freed 8 MB block raises glibc's
# threshold; then 1 MB blocks (a batch's lists, say) are made and freed while one made after them
# stays. The RSS they leave behind is printed (MB).
PROGRAM = """
import sys
from fynlo.cutover.common import return_freed_blocks

def rss():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

fixed = return_freed_blocks() if sys.argv[1] == "fixed" else None
big = bytearray(8 << 20)
del big
before = rss()
blocks = [bytearray(1 << 20) for _ in range(120)]
kept = bytearray(1 << 20)
del blocks
print(fixed, round(rss() - before))
"""


def left_behind(mode: str) -> tuple[str, int]:
    done = subprocess.run([sys.executable, "-c", PROGRAM, mode], cwd=ROOT, capture_output=True, text=True,
                          check=True, timeout=60)
    fixed, megabytes = done.stdout.split()
    return fixed, int(megabytes)


@pytest.mark.skipif(not Path("/proc/self/status").exists() or not sys.platform.startswith("linux"),
                    reason="reads the RSS from /proc (Linux)")
def test_freed_big_blocks_leave_the_process():
    fixed, megabytes = left_behind("fixed")
    if fixed != "True":
        pytest.skip("no glibc mallopt here: the threshold cannot be fixed")
    # the 120 MB made and freed left (almost) nothing behind
    assert megabytes < 20, megabytes
