"""The web process's periodic malloc_trim: it runs where glibc does, and can be switched off."""

import ctypes
import time

import pytest

from stressapp import malloc_trim


def test_zero_switches_it_off():
    assert malloc_trim.malloc_trim_start(0) is None


def test_it_trims_in_the_background_where_glibc_is(monkeypatch):
    if malloc_trim._libc_trim() is None:
        pytest.skip("not glibc")
    calls = []

    def fake_trim():
        def trim(pad):
            calls.append(pad)
            return 1

        return ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_size_t)(trim)

    monkeypatch.setattr(malloc_trim, "_libc_trim", fake_trim)
    thread = malloc_trim.malloc_trim_start(0.01)
    assert thread is not None and thread.daemon
    deadline = time.monotonic() + 5
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert calls and calls[0] == 0


def test_the_real_trim_answers():
    trim = malloc_trim._libc_trim()
    if trim is None:
        pytest.skip("not glibc")
    assert trim(0) in (0, 1)
