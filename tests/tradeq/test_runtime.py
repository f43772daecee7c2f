"""tradeq.runtime: the XLA CPU device count asked for through XLA_FLAGS, float64, no import side effects."""

import os
import subprocess
import sys

import jax

from tradeq.runtime import HOST_DEVICES, cpu_devices, request_host_devices


def test_request_appends_the_flag(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    request_host_devices(3)
    assert os.environ["XLA_FLAGS"] == ("--xla_cpu_enable_fast_math=false "
                                       "--xla_force_host_platform_device_count=3")


def test_request_keeps_a_count_the_user_set(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=2")
    request_host_devices(4)
    assert os.environ["XLA_FLAGS"] == "--xla_force_host_platform_device_count=2"


def test_request_without_flags(monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    request_host_devices()
    assert os.environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count={HOST_DEVICES}"


def test_this_process_has_the_devices():
    # conftest.py called setup_runtime() before JAX started its CPU backend.
    assert jax.default_backend() == "cpu"
    assert len(cpu_devices()) == HOST_DEVICES


def test_importing_changes_no_process_state():
    """Importing every package leaves XLA_FLAGS and JAX's precision alone: only setup_runtime() sets them."""
    code = (
        "import os, jax\n"
        "import tradeq, tradeq.models, tradeq.models.bayes, tradeq.montecarlo.engine, tradeq.analyses\n"
        "assert 'XLA_FLAGS' not in os.environ, os.environ.get('XLA_FLAGS')\n"
        "assert not jax.config.jax_enable_x64\n"
        "tradeq.setup_runtime()\n"
        "assert jax.config.jax_enable_x64 and 'device_count=4' in os.environ['XLA_FLAGS']\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
