"""A stand-in ``ray`` for ``ray_runner``'s calls: each task runs in this process when it is
sent, as a cluster's would (the ``in_process`` fixture in conftest.py puts it in place)."""

from __future__ import annotations


class _Ref:
    def __init__(self, call):
        try:
            self.value, self.error = call(), None
        except BaseException as exc:  # raised by ray.get, as a failed task's is
            self.value, self.error = None, exc


class _Remote:
    """``ray.remote(...)(f)``: ``.remote(*args)`` runs ``f`` now; a class gives an actor."""

    def __init__(self, target):
        self.target = target

    def options(self, **_):
        return self

    def remote(self, *args):
        if isinstance(self.target, type):
            actor = self.target(*args)
            return _Actor(actor)
        return _Ref(lambda: self.target(*args))


class _Actor:
    def __init__(self, actor):
        self.actor = actor

    def __getattr__(self, name):
        method = getattr(self.actor, name)
        return _Remote(lambda *args: method(*args))


class _Context:
    def get_node_id(self):
        return "0" * 56


class InProcessRay:
    """The Ray calls ``run_chunks`` makes, each task run in this process when it is sent."""

    def get_runtime_context(self):
        return _Context()

    def remote(self, **_):
        return _Remote

    def put(self, value):
        return value

    def wait(self, refs, num_returns=1, timeout=None):
        return list(refs), []

    def get(self, refs):
        if isinstance(refs, _Ref):
            refs = [refs]
            one = True
        else:
            one = False
        for ref in refs:
            if ref.error is not None:
                raise ref.error
        values = [ref.value for ref in refs]
        return values[0] if one else values

    def cancel(self, ref, force=False):
        pass
