"""Run one function in a forked child process while the caller goes on with other work.

The build has two cores' worth of independent work (the address table, the geometry);
a forked child sees the caller's data as it was at the fork without pickling it. Only
the result (or the exception, with its file/row/field intact) comes back through a pipe,
and optionally one value sent ahead of it (``tell``). Where ``fork`` is missing, the
function simply runs in the caller, before it goes on.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import traceback

_PR_SET_PDEATHSIG = 1  # linux/prctl.h


class Forked:
    """``Forked(fn, *args)`` starts ``fn(*args)`` in a child; ``result()`` waits for it.

    With ``tells=True``, ``fn`` gets a ``tell`` keyword argument: ``tell(value)`` sends
    ``value`` ahead of the result, and ``told()`` waits for it. As a context manager,
    leaving the block stops a child whose result nobody asked for.
    """

    def __init__(self, fn, *args, tells: bool = False):
        self._name, self._process, self._outcome, self._told = fn.__name__, None, None, []
        if "fork" not in multiprocessing.get_all_start_methods():
            self._outcome = _outcome(fn, args, {"tell": self._told.append} if tells else {})
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(send, os.getpid(), fn, args, tells),
                                        daemon=True, name=f"kiezkarte-{fn.__name__}")
        self._process.start()
        send.close()

    def __enter__(self) -> Forked:
        return self

    def __exit__(self, *exc) -> None:
        self.cancel()

    def told(self):
        """The value ``fn`` passed to ``tell``; ``fn``'s exception if it failed first."""
        if not self._told and self._outcome is None:
            kind, value = self._message()
            if kind == "told":
                self._told.append(value)
            else:
                self._outcome = (kind, value)
        if not self._told:
            self.result()  # raises fn's exception
            raise RuntimeError(f"{self._name} returned without telling")
        return self._told[0]

    def result(self):
        """``fn``'s return value, or its exception raised here."""
        while self._outcome is None:
            kind, value = self._message()
            if kind != "told":
                self._outcome = (kind, value)
        self._finish()
        kind, value = self._outcome
        if kind == "ok":
            return value
        cls, args, state, child_traceback = value
        error = cls.__new__(cls)  # not cls(*args): SourceError's args are its formatted message
        error.args = args
        error.__dict__.update(state)
        if child_traceback:
            error.add_note(f"in the child process:\n{child_traceback}")
        raise error

    def cancel(self) -> None:
        """Stop the child if it still runs (the caller failed and will not ask for the result)."""
        if self._process is not None:
            self._process.kill()
            self._finish()
            self._outcome = self._outcome or ("ok", None)

    def _message(self) -> tuple:
        try:
            return self._receive.recv()
        except EOFError:  # the child died without a word (killed, out of memory)
            return "error", (RuntimeError, (f"{self._process.name} died",), {}, "")

    def _finish(self) -> None:
        if self._process is not None:
            self._process.join()
            self._receive.close()
            self._process = None


def _outcome(fn, args, kwargs) -> tuple:
    try:
        return "ok", fn(*args, **kwargs)
    except Exception as exc:
        return "error", (type(exc), exc.args, dict(exc.__dict__), traceback.format_exc())


def _child(send, parent: int, fn, args, tells: bool) -> None:
    _die_with_parent(parent)
    outcome = _outcome(fn, args, {"tell": lambda value: send.send(("told", value))} if tells else {})
    try:
        send.send(outcome)
    except Exception as exc:  # an unpicklable result or exception
        send.send(("error", (RuntimeError, (f"{fn.__name__}: {outcome[0]} could not be sent back: {exc}",), {}, "")))
    send.close()


def _die_with_parent(parent: int) -> None:
    """Linux: the child is killed with its parent (a killed build leaves no writer behind)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
