"""tradeq.host_devices: the XLA CPU device count asked for through XLA_FLAGS."""

import os

import jax

import tradeq.montecarlo.engine  # noqa: F401  (asks for the devices on import)
from tradeq.host_devices import HOST_DEVICES, cpu_devices, request_host_devices


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
    # The package asked before JAX started its CPU backend (the test session imports it first).
    assert jax.default_backend() == "cpu"
    assert len(cpu_devices()) == HOST_DEVICES
