"""Candidates fitted as Ray tasks: a loss search on a cluster.

    losssearch --executor ray --ray-address auto --workers 16 ...   # or python -m losscc.search ...

The driver (this process) keeps what a search decides with: the controller,
the masks, the reward cache and the checkpoint. Each candidate of a round is
one Ray task, `evaluate(candidate, task)` on a worker, and the round's
results are settled in the candidates' order, so a Ray run writes the same
candidates.jsonl and finds the same losses as a threads run with the same
flags.

What travels, and how often:
- the data (`--data`, a file or a folder) goes into Ray's object store once;
  a worker process writes it to a folder of its node's temp dir and builds the
  task from it once, so a node needs the built project, not the data;
- a task with state of its own (the shared reward's model) ships it again only
  when it changed;
- a candidate is its .loss text; a result is its reward (or failure), its
  timings, and the worker's process id and memory.

Each task's time on the driver against its evaluation's time on the worker
(the executor's overhead) and the processes' memory are written to
`executor.json` in --out when the search ends.

Faults: a task whose worker process or node dies is submitted again (up to
`max_retries` times per candidate, counted and shown in the progress lines);
an evaluation that fails the normal way (a non-finite loss, a compile error)
is a rejected candidate, as on threads; any other exception out of an
evaluation is a bug and stops the search. With no node that has a CPU for
`node_wait_seconds`, the search stops with an error; the checkpoint of the
last settled round is there to `--resume` from.
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

INSTALL_HINT = "pip install 'ray>=2.40' (scripts/setup.sh installs it into build/venv)"

__all__ = ["RayExecutor", "ClusterLost", "import_ray"]


class ClusterLost(RuntimeError):
    """No Ray node with a CPU was alive for the executor's node_wait_seconds."""


def import_ray():
    """Ray, or a RuntimeError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise RuntimeError(f"--executor ray needs Ray, which {sys.executable} cannot import: {INSTALL_HINT}") from None
    return ray


# --- what a worker keeps between tasks (one Ray worker process fits many) ---

_scratch = os.path.join(tempfile.gettempdir(), f"losscc-ray-{os.getuid()}")
_tasks = {}  # (args, data digest) -> [Task, the state key it holds]


def _materialize(digest, bundle):
    """The bundle's files under this node's scratch folder (written once per node); returns their root."""
    root = os.path.join(_scratch, digest)
    if not os.path.isdir(root):
        os.makedirs(_scratch, exist_ok=True)
        staging = tempfile.mkdtemp(dir=_scratch)
        for relative, content in bundle["files"].items():
            path = os.path.join(staging, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(content)
        try:
            os.rename(staging, root)
        except OSError:  # another worker of this node was first: same bytes
            shutil.rmtree(staging, ignore_errors=True)
    return root


def _task_entry(setup):
    """[the Task built from the driver's flags and data, the state key it holds], once per worker process."""
    from . import search

    args, data_digest, data_ref = setup[:3]
    key = (tuple(args), data_digest)
    if key not in _tasks:
        if data_digest:
            import ray

            bundle = ray.get(data_ref[0])
            local = os.path.join(_materialize(data_digest, bundle), bundle["name"])
            args = _with_data(args, local)
        _tasks[key] = [search.Task(list(args)), ""]
    return _tasks[key]


def _warm(setup):
    """Builds the task in a fresh worker process before the search needs it; returns the process id."""
    _task_entry(setup)
    return os.getpid()


def _fit(setup, candidate, evaluate):
    """One candidate on a Ray worker: its result, the seconds it took, this process's id and memory."""
    import ray

    from . import search

    entry = _task_entry(setup)
    state_key, state_ref = setup[3:]
    if state_key and entry[1] != state_key:
        state = ray.get(state_ref[0])
        entry[0].restore_state(state["json"], _materialize("state-" + state_key, state))
        entry[1] = state_key
    started = time.perf_counter()
    result = (evaluate or search.evaluate)(candidate, entry[0])
    return result, time.perf_counter() - started, os.getpid(), _rss_mb()


def _rss_mb():
    """This process's resident memory (MB), from /proc (0 where there is none)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def _with_data(args, path):
    """`args` with --data's value replaced by `path`."""
    out, skip = [], False
    for a in args:
        if skip:
            out.append(path)
            skip = False
        elif a == "--data":
            out.append(a)
            skip = True
        elif a.startswith("--data="):
            out.append("--data=" + path)
        else:
            out.append(a)
    return out


def _bundle_data(path):
    """--data's files as a bundle (its name, {relative path: bytes}) and their digest; None for built-in data."""
    if not path or not os.path.exists(path):
        return None, ""
    root = os.path.abspath(path)
    name = os.path.basename(root.rstrip(os.sep))
    files = {}
    if os.path.isdir(root):
        for folder, subfolders, names in os.walk(root):
            subfolders.sort()
            for n in sorted(names):
                full = os.path.join(folder, n)
                with open(full, "rb") as f:
                    files[os.path.join(name, os.path.relpath(full, root))] = f.read()
    else:
        with open(root, "rb") as f:
            files[name] = f.read()
    digest = hashlib.sha256()
    for relative in sorted(files):
        digest.update(relative.encode() + b"\0" + hashlib.sha256(files[relative]).digest())
    return {"name": name, "files": files}, digest.hexdigest()[:24]


def _state_key(state_json):
    """Names a task state (Session.task_state()'s JSON); "" for a task without state."""
    return hashlib.sha256(state_json.encode()).hexdigest()[:24] if json.loads(state_json).get("files") else ""


def _bundle_state(state_json, folder):
    """The task's state and the files it names, as a bundle."""
    bundle = {"json": state_json, "files": {}}
    for name in json.loads(state_json)["files"]:
        with open(os.path.join(folder, name), "rb") as f:
            bundle["files"][name] = f.read()
    return bundle


class RayExecutor:
    """Fits each candidate of a round as a Ray task on the cluster at `address` ("auto": the one `ray start`
    runs on this machine; None: a new local one, stopped by close()).

    `args` are the search's flags (a worker builds its Task from them and the shipped data); `evaluate(candidate,
    task)` replaces losscc.search.evaluate on the workers (fault tests, instrumentation; it must be picklable).
    `warm` worker processes (the round's size) start and build the task before the first round, as the threads
    executor's task is built before the search starts.
    """

    name = "ray"

    def __init__(self, args, data=None, address=None, *, evaluate=None, max_retries=3, node_wait_seconds=60.0,
                 progress_seconds=3.0, num_cpus=None, out_dir=None, warm=0, log=None):
        ray = import_ray()
        self._ray = ray
        self._log = log or (lambda line: print(line, file=sys.stderr, flush=True))
        self._started = not ray.is_initialized()
        if self._started:
            package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
            env = {"PYTHONPATH": os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH")) if p)}
            if os.environ.get("LOSSCC_JIT_CPU"):
                env["LOSSCC_JIT_CPU"] = os.environ["LOSSCC_JIT_CPU"]
            ray.init(address=address or None, num_cpus=num_cpus if not address else None, include_dashboard=False,
                     runtime_env={"env_vars": env}, logging_level="warning")
        self.address = address or "local"
        self.max_retries = max_retries
        self.node_wait_seconds = node_wait_seconds
        self.progress_seconds = progress_seconds
        self.retried = 0
        self.nodes = 0
        self.out_dir = out_dir
        self._overheads = []   # per task: seconds on the driver minus seconds evaluating on the worker
        self._worker_rss = {}  # worker pid -> its memory (MB) after its last task
        self._evaluate = evaluate
        self._args = [a for a in args]
        bundle, self._data_digest = _bundle_data(data)
        self._data_ref = [ray.put(bundle)] if bundle else None
        if bundle:
            size = sum(len(b) for b in bundle["files"].values())
            self._log(f"[losssearch] ray: the data ({size / 1e6:.1f} MB, {len(bundle['files'])} files) is in the "
                      f"object store once; workers build the task from it")
        self._state_key, self._state_ref = "", None
        self._fit = ray.remote(num_cpus=1, max_retries=0)(_fit)
        self._nodes_checked = 0.0
        self._no_node_since = None
        self._check_nodes(force=True)
        self._log(f"[losssearch] ray: {self.nodes} nodes with {self._cpus} CPUs ({self.address})")
        if warm > 0:
            t0 = time.monotonic()
            setup = (self._args, self._data_digest, self._data_ref)
            pids = ray.get([ray.remote(num_cpus=1, max_retries=3)(_warm).remote(setup)
                            for _ in range(min(warm, max(self._cpus, 1)))])
            self._log(f"[losssearch] ray: {len(set(pids))} workers built the task in {time.monotonic() - t0:.1f} s")

    def close(self):
        if self.out_dir and os.path.isdir(self.out_dir):
            with open(os.path.join(self.out_dir, "executor.json"), "w") as f:
                json.dump(self.stats(), f, indent=1)
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()

    def stats(self):
        """Tasks, retries, the per-task overhead and the memory of the driver and of each worker process."""
        overheads = sorted(self._overheads)
        return {"executor": "ray", "address": self.address, "nodes": self.nodes, "tasks": len(overheads),
                "retried": self.retried,
                "overhead_ms_median": 1e3 * overheads[len(overheads) // 2] if overheads else None,
                "overhead_ms_p90": 1e3 * overheads[int(0.9 * (len(overheads) - 1))] if overheads else None,
                "driver_rss_mb": _rss_mb(), "worker_rss_mb": dict(sorted(self._worker_rss.items()))}

    def note(self):
        """For the search's progress lines."""
        return f"ray: {self.nodes} nodes, {self.retried} retried"

    def run(self, candidates, task_state=None):
        """The results of `candidates`, in their order. `task_state()` (Search.task_state) gives the task's
        state, shipped to the workers when it changed."""
        ray = self._ray
        if not candidates:
            return []
        state_json, folder = task_state() if task_state else ("{}", "")
        key = _state_key(state_json)
        if key != self._state_key:  # shipped once per change
            self._state_key, self._state_ref = key, [ray.put(_bundle_state(state_json, folder))] if key else None
        setup = (self._args, self._data_digest, self._data_ref, self._state_key, self._state_ref)
        submitted = {}

        def submit(k):
            ref = self._fit.remote(setup, candidates[k], self._evaluate)
            submitted[ref] = time.perf_counter()
            return ref

        results = [None] * len(candidates)
        attempts = [0] * len(candidates)
        in_flight = {submit(k): k for k in range(len(candidates))}
        started = last_line = time.monotonic()
        try:
            while in_flight:
                ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=1.0)
                for ref in ready:
                    k = in_flight.pop(ref)
                    try:
                        results[k], worker_seconds, pid, rss = ray.get(ref)
                        self._overheads.append(time.perf_counter() - submitted[ref] - worker_seconds)
                        self._worker_rss[str(pid)] = rss
                    except ray.exceptions.RayTaskError as error:  # the evaluation raised: a bug, as on threads
                        raise RuntimeError(f"candidate {candidates[k].id}: its evaluation failed on a Ray worker:\n"
                                           f"{error}") from None
                    except ray.exceptions.RayError as error:  # the worker process or its node is gone
                        attempts[k] += 1
                        self.retried += 1
                        reason = str(error).strip().splitlines()[0] if str(error).strip() else ""
                        if attempts[k] > self.max_retries:
                            raise RuntimeError(f"candidate {candidates[k].id}: its Ray task was lost "
                                               f"{attempts[k]} times ({type(error).__name__}: {reason})") from None
                        self._log(f"[losssearch] ray: candidate {candidates[k].id}'s task was lost "
                                  f"({type(error).__name__}); submitted again ({attempts[k]}/{self.max_retries})")
                        in_flight[submit(k)] = k
                if in_flight:
                    self._check_nodes()
                    now = time.monotonic()
                    if self.progress_seconds > 0 and now - last_line >= self.progress_seconds:
                        last_line = now
                        self._log(self._round_line(len(candidates), len(in_flight), now - started))
        except BaseException:
            for ref in in_flight:
                ray.cancel(ref, force=True)
            raise
        return results

    def _round_line(self, size, in_flight, seconds):
        ray = self._ray
        used = ray.cluster_resources().get("CPU", 0) - ray.available_resources().get("CPU", 0)
        running = min(in_flight, int(round(used)))
        return (f"[losssearch] ray: round of {size}: {size - in_flight} done, {running} running, "
                f"{in_flight - running} pending | {self.nodes} nodes ({self._cpus} CPUs) | {self.retried} retried "
                f"| {seconds:.0f} s")

    def _check_nodes(self, force=False):
        now = time.monotonic()
        if not force and now - self._nodes_checked < 1.0:
            return
        self._nodes_checked = now
        alive = [n for n in self._ray.nodes() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
        self.nodes = len(alive)
        self._cpus = int(sum(n["Resources"]["CPU"] for n in alive))
        if alive:
            self._no_node_since = None
            return
        if self._no_node_since is None:
            self._no_node_since = now
            self._log(f"[losssearch] ray: no node with a CPU is alive ({self.address}); waiting up to "
                      f"{self.node_wait_seconds:.0f} s for one")
        elif now - self._no_node_since >= self.node_wait_seconds:
            raise ClusterLost(f"no Ray node with a CPU has been alive for {self.node_wait_seconds:.0f} s "
                              f"({self.address})")
