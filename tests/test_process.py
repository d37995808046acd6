"""seqae.process: the settings of a whole process (signals that raise, held during an import)."""

from __future__ import annotations

import signal

import pytest


class _Frame:
    def __init__(self, filename: str, back: _Frame | None = None) -> None:
        self.f_code = type("Code", (), {"co_filename": filename})()
        self.f_back = back


def test_a_signal_during_an_import_waits_for_its_end(monkeypatch):
    from seqae import process as app

    timers = []
    monkeypatch.setattr(app.signal, "setitimer", lambda which, s: timers.append(s))
    monkeypatch.setattr(app, "_PENDING", [])
    plain = _Frame("train.py")
    importing = _Frame("torch/__init__.py", _Frame("<frozen importlib._bootstrap>", plain))
    with pytest.raises(app.Terminated):
        app._interrupt(signal.SIGTERM, plain)
    assert app._interrupt(signal.SIGTERM, importing) is None  # held, retried in 50 ms
    assert app._PENDING == [signal.SIGTERM] and timers == [0.05]
    app._retry(signal.SIGALRM, importing)  # still importing: held again
    assert app._PENDING == [signal.SIGTERM] and timers == [0.05, 0.05]
    with pytest.raises(app.Terminated):  # the import is over: it lands
        app._retry(signal.SIGALRM, plain)
    assert app._PENDING == []
    app._interrupt(signal.SIGINT, importing)
    with pytest.raises(KeyboardInterrupt):  # a second Ctrl-C while one waits: at once
        app._interrupt(signal.SIGINT, importing)
