"""What makes a run reproducible: seed, package versions, git commit, data fingerprint, timings."""

from __future__ import annotations

import subprocess
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

PACKAGES = ("tradeq", "jax", "jaxlib", "numpy", "scipy", "pandas", "xarray", "formulaic",
            "hydra-core", "numpyro", "pymc", "arviz")


def package_versions(names=PACKAGES) -> dict[str, str | None]:
    out = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(where: Path | None = None) -> dict:
    """HEAD of the checkout holding this package and whether its tracked files differ from it."""
    where = where or Path(__file__).resolve().parent.parent
    def git(*args):
        return subprocess.run(["git", *args], cwd=where, capture_output=True, text=True, timeout=10)
    try:
        head = git("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip() != ""
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.TimeoutExpired):
        return {"commit": None, "dirty": None}


class Timings(dict):
    """Wall-clock seconds per named step: ``with timings("fit"): ...``."""

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self[name] = round(time.perf_counter() - start, 4)


def run_record(spec, panel, timings: dict, config: dict) -> dict:
    """Everything needed to reproduce a run: seed, data fingerprint, timings, versions, commit, config."""
    return {
        "seed": int(spec.seed),
        "data": {"source": panel.source, **panel.fingerprint(), **({"reading": panel.reading} if panel.reading else {})},
        "timings_s": dict(timings),
        "versions": package_versions(),
        "git": git_commit(),
        "config": config,
    }
