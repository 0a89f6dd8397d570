"""The loss search from Python: the search `losssearch` runs, driven from here.

    python -m losscc.search --budget-candidates 200 --out search-out   # losssearch's flags

The same flags give the same candidates, rewards and found losses as
`losssearch`. A driver of its own (another executor, a cluster) runs the
rounds itself:

    from losscc.search import Search, Task, evaluate
    search = Search(["--task", "rank", "--budget-candidates", "50", "--out", "s"])
    task = Task(search.args)          # where candidates are fitted: the same data and reward
    while not search.done:
        candidates = search.propose_round()          # picklable, plain data
        search.settle_round([evaluate(c, task) for c in candidates])
    search.finish()                   # choose the found losses, test them, write summary.json

`settle_round` takes the round's results in the order of its candidates
(and refuses anything else); a checkpoint follows every round, and
`Search(args, resume=True)` continues a search from its checkpoint.
`evaluate(candidate, task)` is a pure function: one thread, the GIL
released, a plain `Result` back (`reward`, or `failure` "non_finite" /
"compile" with its `error`).

The search's models are LibTorch modules, so its extension (_losscc_search)
links the LibTorch this project was built with: it comes with a source build
(scripts/setup.sh; PYTHONPATH=build/python), not with `pip install .`, and a
process that imports a different PyTorch cannot load it.
"""

import concurrent.futures
import signal
import sys

import torch

try:
    from . import _losscc_search as _native
except ImportError as error:  # pragma: no cover - depends on how losscc was built
    raise ImportError(
        "losscc.search needs the search extension, built from source with LibTorch "
        "(scripts/setup.sh, then PYTHONPATH=build/python); `pip install .` builds the compiler module only"
    ) from error

if not torch.__version__.startswith(_native.torch_version):  # pragma: no cover
    raise ImportError(
        f"losscc.search was built with LibTorch {_native.torch_version}, but this process imported "
        f"PyTorch {torch.__version__}: run it with the PyTorch it was built with"
    )

Candidate = _native.Candidate
Result = _native.Result
Task = _native.Task
evaluate = _native.evaluate

__all__ = ["Search", "Task", "Candidate", "Result", "evaluate", "main"]


class Search:
    """A loss search from `losssearch`'s flags (a list of strings), started
    (or, with resume=True or --resume among the flags, resumed from the
    checkpoint in --out)."""

    def __init__(self, args, resume=False):
        self.args = [str(a) for a in args]
        if resume and "--resume" not in self.args:
            self.args.append("--resume")
        self._session = _native.Session(self.args)
        self._session.start()

    @classmethod
    def from_checkpoint(cls, args):
        """The search checkpointed in the --out of `args`, resumed."""
        return cls(args, resume=True)

    @property
    def done(self):
        """Whether the budget is spent."""
        return self._session.done

    @property
    def task(self):
        """The search's own Task (data loaded once), for fitting candidates in this process."""
        return self._session.task

    @property
    def workers(self):
        """Candidates in the next round (the --workers flag, or fewer where the task fits one at a time
        or the candidate budget ends sooner)."""
        return self._session.workers

    def propose_round(self):
        """The next round's candidates to fit (possibly none: all were screened out)."""
        return self._session.propose_round()

    def settle_round(self, results):
        """The round's results, one per candidate, in the candidates' order."""
        self._session.settle_round(list(results))

    def checkpoint(self):
        self._session.checkpoint()

    def best(self):
        """The best distinct losses so far, best first: dicts of id, reward, source."""
        return self._session.best()

    def finish(self):
        """The found losses chosen from the finalists, found-K.loss, the effectiveness test, summary.json and
        the table; the tool's exit code."""
        return self._session.finish()

    @property
    def resume_command(self):
        return self._session.resume_command


def run(args):
    """`losssearch` with `args`, its candidates fitted on threads of this process; the exit code."""
    search = Search(args)
    task = search.task
    stop = []
    previous = signal.signal(signal.SIGINT, lambda *_: stop.append(True))
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(search.workers, 1)) as pool:
            while not search.done:
                if stop:
                    search.checkpoint()
                    print(f"[losssearch] interrupted; checkpoint written. Resume with:\n  python -m losscc.search "
                          f"{search.resume_command.split(' ', 1)[1]}", file=sys.stderr)
                    return 130
                candidates = search.propose_round()
                search.settle_round(pool.map(lambda c: evaluate(c, task), candidates))
    finally:
        signal.signal(signal.SIGINT, previous)
    return search.finish()


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except SystemExit as done:  # --help, or a bad flag (already reported)
        return done.code
    except (ValueError, RuntimeError) as error:
        print(f"losssearch: {error}", file=sys.stderr)
        return 2 if isinstance(error, ValueError) else 1


if __name__ == "__main__":
    sys.exit(main())
