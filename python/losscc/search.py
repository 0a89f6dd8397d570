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

`--executor ray [--ray-address ADDR]` fits the candidates as Ray tasks
(losscc.ray_executor), with the same results as threads.

The search's models are LibTorch modules, so its extension (_losscc_search)
links the LibTorch this project was built with: it comes with a source build
(scripts/setup.sh; PYTHONPATH=build/python), not with `pip install .`, and a
process that imports a different PyTorch cannot load it.
"""

import concurrent.futures
import os
import signal
import sys
import threading

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

__all__ = ["Search", "Task", "Candidate", "Result", "evaluate", "ThreadExecutor", "make_executor", "run", "main"]


class Search:
    """A loss search from `losssearch`'s flags (a list of strings), started
    (or, with resume=True or --resume among the flags, resumed from the
    checkpoint in --out)."""

    def __init__(self, args, resume=False, start=True):
        self.args = [str(a) for a in args]
        if resume and "--resume" not in self.args:
            self.args.append("--resume")
        self._session = _native.Session(self.args)
        if start:
            self.start()

    def start(self):
        """Starts the search in --out (or resumes it); Search() does this unless start=False."""
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

    def task_state(self):
        """The task's state as JSON and the folder of the files it names ('{}': a task without state)."""
        return self._session.task_state()

    def set_executor_note(self, note):
        """Appended to the search's progress lines."""
        self._session.set_executor_note(note)

    @property
    def executor(self):
        """--executor: "threads" or "ray"."""
        return self._session.executor

    @property
    def ray_address(self):
        return self._session.ray_address

    @property
    def data(self):
        """--data as given ('' for the family's default)."""
        return self._session.data

    @property
    def out_dir(self):
        return self._session.out_dir

    @property
    def progress_seconds(self):
        return self._session.progress_seconds

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


class ThreadExecutor:
    """Fits a round's candidates on threads of this process, with the search's own task."""

    name = "threads"

    def __init__(self, task, workers):
        self._task = task
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(workers, 1))

    def run(self, candidates, task_state=None):
        return list(self._pool.map(lambda c: evaluate(c, self._task), candidates))

    def note(self):
        return ""

    def close(self):
        self._pool.shutdown()


def make_executor(search, **options):
    """The executor --executor names for `search`; `options` go to the Ray executor
    (losscc.ray_executor.RayExecutor: evaluate, max_retries, node_wait_seconds, ...)."""
    if search.executor == "ray":
        from .ray_executor import RayExecutor

        options.setdefault("progress_seconds", search.progress_seconds)
        options.setdefault("out_dir", search.out_dir)
        options.setdefault("warm", search.workers)
        return RayExecutor(search.args, search.data, search.ray_address or None, **options)
    return ThreadExecutor(search.task, search.workers)


def run(args, **executor_options):
    """`losssearch` with `args`, its candidates fitted by the executor --executor names; the exit code."""
    search = Search(args, start=False)
    executor = make_executor(search, **executor_options)  # a missing Ray fails here, before --out is touched
    search.start()
    # The command the user typed: `losssearch` hands a Ray run to this driver and says so.
    program = os.environ.get("LOSSCC_SEARCH_PROGRAM") or "python -m losscc.search"
    resume = f"{program} {search.resume_command.split(' ', 1)[1]}"
    stop = []
    # Ctrl-C finishes the round in flight, then checkpoints (only the main thread may take signals).
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.append(True)) if main_thread else None
    try:
        while not search.done:
            if stop:
                search.checkpoint()
                print(f"[losssearch] interrupted; checkpoint written. Resume with:\n  {resume}", file=sys.stderr)
                return 130
            candidates = search.propose_round()
            results = executor.run(candidates, search.task_state)
            search.set_executor_note(executor.note())
            search.settle_round(results)
    except RuntimeError as error:
        if executor.name != "ray":
            raise
        raise RuntimeError(f"{error}\nThe checkpoint in {search.out_dir} holds every settled round; when the "
                           f"cluster is back, resume with:\n  {resume}") from None
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
        executor.close()
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
