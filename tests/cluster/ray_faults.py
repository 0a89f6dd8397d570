"""Faults injected into a Ray worker's evaluation (tests/cluster): each wraps
losscc.search.evaluate and misbehaves once per run, which a marker file
created with O_EXCL records, so a retried task evaluates normally. Workers
import this module (the tests put tests/cluster on their PYTHONPATH)."""
import os
import threading
import time


def first_time(marker, content=""):
    """True for the one caller that creates `marker`."""
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return False
    os.write(fd, content.encode())
    os.close(fd)
    return True


def _evaluate(candidate, task):
    from losscc.search import evaluate

    return evaluate(candidate, task)


class ExitMidway:
    """The worker process exits (os._exit) while it fits candidate `k`, the first time only."""

    def __init__(self, k, marker):
        self.k, self.marker = k, marker

    def __call__(self, candidate, task):
        if candidate.id == self.k and first_time(self.marker):
            threading.Thread(target=_evaluate, args=(candidate, task), daemon=True).start()
            time.sleep(0.2)  # the fit is under way
            os._exit(1)
        return _evaluate(candidate, task)


class StallOnce:
    """Candidate `k` writes its node's id to `marker` and sleeps before fitting, the first time only, so that a
    test can take its node away in the middle of the round."""

    def __init__(self, k, marker, seconds=60):
        self.k, self.marker, self.seconds = k, marker, seconds

    def __call__(self, candidate, task):
        import ray

        if candidate.id == self.k and first_time(self.marker, ray.get_runtime_context().get_node_id()):
            time.sleep(self.seconds)
        return _evaluate(candidate, task)


class CountCalls:
    """Records every evaluation as a line of `log` (candidate id, process id)."""

    def __init__(self, log):
        self.log = log

    def __call__(self, candidate, task):
        with open(self.log, "a") as f:
            f.write(f"{candidate.id} {os.getpid()}\n")
        return _evaluate(candidate, task)
