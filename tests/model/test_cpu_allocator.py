"""Keeping freed CPU memory: reused activations must not fault in fresh pages.

Each case runs in a child process because the setting is process-wide and
cannot be undone. The child counts its minor page faults (a kernel counter,
not a timing) over rounds that each compute a chain of 64 MiB tensors and free
every link once the next exists, as a generator pass does.
"""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES_IN_64_MIB = (64 << 20) // 4096

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the setting applies to glibc's malloc only")


def _run_child(setup: str) -> list[str]:
    """Run `setup`, then eight rounds of a chain of 64 MiB tensors; return the printed lines."""
    loop = """
faults = []
for _ in range(8):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    link = torch.ones(16 << 20)  # 64 MiB of float32, every page written
    for _ in range(4):
        link = link + 1
    del link
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print("faults", *faults)
"""
    code = "import resource\nimport torch\n" + textwrap.dedent(setup) + loop
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def _later_faults(lines: list[str]) -> list[int]:
    """Page faults of the last two rounds; a kept heap has grown to serve them by then."""
    values = next(line for line in lines if line.startswith("faults")).split()[1:]
    return [int(value) for value in values[-2:]]


def test_default_allocator_faults_every_round() -> None:
    # The control: without the setting, each 64 MiB link is a fresh mapping.
    faults = _later_faults(_run_child("pass"))
    assert min(faults) > PAGES_IN_64_MIB // 2


def test_kept_memory_stops_page_faults() -> None:
    lines = _run_child(
        """
        from container.model.cpu_allocator import keep_freed_memory
        print("applied", keep_freed_memory(), keep_freed_memory())
        """
    )
    assert "applied True True" in lines
    assert max(_later_faults(lines)) < PAGES_IN_64_MIB // 20


@pytest.mark.parametrize(("keep", "expected"), [(True, "True"), (False, "False")])
def test_stylizer_keep_cpu_memory_option(keep: bool, expected: str) -> None:
    lines = _run_child(
        f"""
        from container.model.cpu_allocator import allocator_tuned
        from container.model.inference import GanStylizer
        from tests.model.factories import seeded_network, small_config
        config = small_config(mode="light")
        GanStylizer(seeded_network(config, "genA2B"), image_size=config.image_size, keep_cpu_memory={keep})
        print("tuned", allocator_tuned())
        """
    )
    assert f"tuned {expected}" in lines
    faults = _later_faults(lines)
    if keep:
        assert max(faults) < PAGES_IN_64_MIB // 20
    else:
        assert min(faults) > PAGES_IN_64_MIB // 2
