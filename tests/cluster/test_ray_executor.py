"""The Ray executor on a local multi-node cluster (ray.cluster_utils.Cluster:
a head with no CPU and two worker nodes of 1 CPU, on this machine).

A Ray run must write the same candidates.jsonl (tokens, status, reward) and
found losses as `losssearch` on threads with the same flags, for every task
family, and still do so through the faults a cluster has: a worker process
that dies, a node that disappears mid-round, a driver killed after a
checkpoint. A fit that fails the normal way is a rejected candidate, not a
retried task; with every node gone the driver stops with a clear error and a
checkpoint to resume from. Nothing here is skipped: without Ray this fails.
"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from losscc import search as losscc_search
from losscc.ray_executor import RayExecutor

import ray_faults

LOSSSEARCH = os.environ["LOSSSEARCH"]
HERE = Path(__file__).resolve().parent
PACKAGE = Path(losscc_search.__file__).resolve().parent.parent  # build/python
QUICK = ["--effect-epochs", "1", "--effect-seeds", "1", "--top-k", "2", "--select-seeds", "0", "--no-baselines",
         "--seed", "5", "--progress-seconds", "0", "--workers", "2"]


@pytest.fixture(scope="module")
def cluster():
    # Dead nodes are noticed within about 2 s instead of Ray's default 20.
    c = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "include_dashboard": False,
        "_system_config": {"health_check_initial_delay_ms": 0, "health_check_period_ms": 500,
                           "health_check_failure_threshold": 4}})
    for _ in range(2):
        c.add_node(num_cpus=1)
    c.wait_for_nodes()
    ray.init(address=c.address, logging_level="warning",
             runtime_env={"env_vars": {"PYTHONPATH": f"{PACKAGE}{os.pathsep}{HERE}"}})
    yield c
    ray.shutdown()
    c.shutdown()


def worker_nodes(c):
    return [n for n in c.list_all_nodes() if n is not c.head_node]


@pytest.fixture(scope="module")
def tiny_rec(tmp_path_factory):
    """A small ratings folder, so that candidates fit in a fraction of a second and --data is a path to ship."""
    root = tmp_path_factory.mktemp("data") / "tiny"
    root.mkdir()
    rng = random.Random(7)
    for split, rows in (("train", 3000), ("validation", 600), ("test", 600)):
        with open(root / f"tiny.{split}.csv", "w") as f:
            f.write("uid\tiid\tlabel\n")
            for _ in range(rows):
                u, i = rng.randrange(60), rng.randrange(80)
                f.write(f"{u}\t{i}\t{int((u * 7 + i * 3) % 5 < 2 or rng.random() < 0.1)}\n")
    return root


def rec_args(tiny_rec, candidates=12):
    return QUICK + ["--data", str(tiny_rec), "--budget-candidates", str(candidates)]


def reference(args, out):
    """`losssearch` on threads."""
    done = subprocess.run([LOSSSEARCH, *args, "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out


def on_ray(c, args, out, **options):
    """The search driven from this process, its candidates fitted on the cluster; the exit code."""
    return losscc_search.run([*args, "--executor", "ray", "--ray-address", c.address, "--out", str(out)], **options)


def wait_for_text(path, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if path.exists() and path.read_text():
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"{path} was not written in {seconds} s")


def first_fitted(out, at_least):
    """The first candidate at or after `at_least` that the search fitted (a duplicate or invalid one never runs)."""
    for line in open(out / "candidates.jsonl"):
        j = json.loads(line)
        if j["id"] >= at_least and j["status"] in ("trained", "filtered"):
            return j["id"]
    raise AssertionError(f"no candidate from {at_least} on was fitted in {out}")


def stall_point(tiny_rec, tmp_path):
    """The rec search's flags, its threads run, and the candidate a fault stalls: the first fitted from 6 on."""
    args = rec_args(tiny_rec)
    threads = reference(args, tmp_path / "threads")
    return args, threads, first_fitted(threads, 6)


def assert_same_search(a, b):
    def read(out):
        lines = [json.loads(line) for line in open(out / "candidates.jsonl")]
        return ([(j["id"], j["tokens"], j["status"], j["reward"], j["expression"]) for j in lines],
                {p.name: p.read_text() for p in sorted(out.glob("found-*.loss"))})
    lines_a, found_a = read(a)
    lines_b, found_b = read(b)
    assert lines_a == lines_b
    assert found_a == found_b and found_a


FAMILIES = {
    "rec": lambda tiny: rec_args(tiny),
    "rec-shared": lambda tiny: QUICK + ["--data", "builtin:synthetic", "--reward", "shared", "--num-aggregate", "2",
                                        "--controller-steps", "1", "--budget-candidates", "8"],
    "rank": lambda tiny: QUICK + ["--task", "rank", "--budget-candidates", "40"],
    "mtl": lambda tiny: QUICK + ["--task", "mtl", "--budget-candidates", "6", "--reward-epochs", "1"],
}


@pytest.mark.parametrize("family", FAMILIES)
def test_a_ray_run_equals_a_threads_run(cluster, tiny_rec, tmp_path, family):
    args = FAMILIES[family](tiny_rec)
    assert on_ray(cluster, args, tmp_path / "ray") == 0
    assert_same_search(reference(args, tmp_path / "threads"), tmp_path / "ray")
    if family == "rec-shared":  # the shared model changed, and the workers followed it
        summary = json.load(open(tmp_path / "ray" / "summary.json"))
        assert summary["search"]["model_updates"] > 0


def test_a_worker_that_dies_mid_candidate_is_retried(cluster, tiny_rec, tmp_path):
    args = rec_args(tiny_rec)
    threads = reference(args, tmp_path / "threads")
    k = first_fitted(threads, 5)
    lines = []
    fault = ray_faults.ExitMidway(k, str(tmp_path / "exited"))
    assert on_ray(cluster, args, tmp_path / "ray", evaluate=fault, log=lines.append) == 0
    assert (tmp_path / "exited").exists()
    assert any(f"candidate {k}'s task was lost" in line for line in lines), lines
    assert_same_search(threads, tmp_path / "ray")


def test_a_node_removed_mid_round_is_replaced(cluster, tiny_rec, tmp_path):
    args, threads, k = stall_point(tiny_rec, tmp_path)
    marker = tmp_path / "stalled"
    lines, outcome = [], []
    search = threading.Thread(target=lambda: outcome.append(on_ray(
        cluster, args, tmp_path / "ray", evaluate=ray_faults.StallOnce(k, str(marker)), log=lines.append)))
    search.start()
    node_id = wait_for_text(marker)
    node = next(n for n in worker_nodes(cluster) if n.node_id == node_id)
    cluster.remove_node(node, allow_graceful=False)  # no warning: the raylet and its workers are killed
    cluster.add_node(num_cpus=1)
    search.join()
    assert outcome == [0]
    assert any(f"candidate {k}'s task was lost" in line for line in lines), lines
    assert_same_search(threads, tmp_path / "ray")


def test_a_killed_driver_resumes_on_the_same_cluster(cluster, tiny_rec, tmp_path):
    args = rec_args(tiny_rec, candidates=24) + ["--reward-epochs", "6", "--reward-patience", "6"]
    out = tmp_path / "ray"
    command = [sys.executable, "-m", "losscc.search", *args, "--executor", "ray", "--ray-address", cluster.address,
               "--out", str(out)]
    env = dict(os.environ, PYTHONPATH=str(PACKAGE))
    driver = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    state = out / "checkpoint" / "state.json"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and driver.poll() is None:
        try:
            if json.loads(state.read_text())["counters"]["candidates"] >= 6:
                break
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    assert driver.poll() is None, f"the search ended before it could be killed: {driver.stderr.read()}"
    driver.send_signal(signal.SIGKILL)
    driver.wait()
    covered = json.loads(state.read_text())["counters"]["candidates"]
    assert 6 <= covered < 24
    resumed = subprocess.run(command + ["--resume"], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_search(reference(args, tmp_path / "threads"), out)


def test_a_failed_fit_is_a_rejected_candidate_not_a_retried_task(cluster, tiny_rec, tmp_path):
    calls = tmp_path / "calls"
    executor = RayExecutor(rec_args(tiny_rec), str(tiny_rec), cluster.address,
                           evaluate=ray_faults.CountCalls(str(calls)), log=lambda line: None)
    candidates = []
    for k, source in enumerate(["pred +",                                   # does not compile
                                "exp(exp(exp(exp(30 * pred)))) * label",    # overflows to inf
                                "-(label * log(pred) + (1 - label) * log(1 - pred))"]):
        c = losscc_search.Candidate()
        c.id, c.source = k, source
        candidates.append(c)
    results = executor.run(candidates)
    assert [r.id for r in results] == [0, 1, 2]
    assert results[0].failure == "compile" and "compile error" in results[0].error
    assert results[1].failure == "non_finite" and "non-finite" in results[1].error
    assert results[2].failure == "" and 0 < results[2].reward < 1
    assert executor.retried == 0
    assert sorted(int(line.split()[0]) for line in calls.read_text().splitlines()) == [0, 1, 2]  # once each
    executor.close()  # it joined this cluster: the cluster stays up
    assert ray.is_initialized()


def test_with_every_node_gone_the_driver_stops_and_resumes_later(cluster, tiny_rec, tmp_path):
    args, threads, k = stall_point(tiny_rec, tmp_path)
    marker = tmp_path / "stalled"
    lines, outcome = [], []

    def search():
        try:
            on_ray(cluster, args, tmp_path / "ray", evaluate=ray_faults.StallOnce(k, str(marker)),
                   log=lines.append, node_wait_seconds=4)
        except RuntimeError as error:
            outcome.append(error)

    driver = threading.Thread(target=search)
    driver.start()
    wait_for_text(marker)
    for node in worker_nodes(cluster):
        cluster.remove_node(node, allow_graceful=False)
    driver.join()
    assert len(outcome) == 1, lines
    stopped = outcome[0]
    message = str(stopped)
    assert "no Ray node with a CPU has been alive for 4 s" in message
    assert "resume with" in message and "--resume" in message
    state = json.loads((tmp_path / "ray" / "checkpoint" / "state.json").read_text())
    assert state["counters"]["candidates"] == k - k % 2  # every round (of 2) before the stalled one was settled
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    assert losscc_search.run([*args, "--executor", "ray", "--ray-address", cluster.address,
                              "--out", str(tmp_path / "ray"), "--resume"]) == 0
    assert_same_search(threads, tmp_path / "ray")


def test_losssearch_hands_a_ray_run_to_the_python_driver(cluster, tiny_rec, tmp_path):
    args = rec_args(tiny_rec, candidates=6)
    done = subprocess.run([LOSSSEARCH, *args, "--executor", "ray", "--ray-address", cluster.address,
                           "--out", str(tmp_path / "ray")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "[losssearch] ray: 2 nodes with 2 CPUs" in done.stderr
    assert_same_search(reference(args, tmp_path / "threads"), tmp_path / "ray")


def test_without_ray_the_flag_says_how_to_install_it(tmp_path):
    # Debian's python3 has torch but no Ray (Ray lives in the project's venv).
    done = subprocess.run([LOSSSEARCH, "--data", "builtin:synthetic", "--budget-candidates", "2", "--executor", "ray",
                           "--out", str(tmp_path / "s")], capture_output=True, text=True,
                          env=dict(os.environ, LOSSCC_PYTHON="/usr/bin/python3"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "losssearch: --executor ray needs Ray, which /usr/bin/python3 cannot import: pip install 'ray>=2.40' "
        "(scripts/setup.sh installs it into build/venv)")
    assert not (tmp_path / "s").exists()  # nothing was started


def test_data_travels_as_a_bundle_of_its_files(tmp_path):
    from losscc import ray_executor

    single = tmp_path / "census-income.test.gz"  # a file, as mtl's --data may be
    single.write_bytes(b"\x1f\x8b not really gzip")
    bundle, digest = ray_executor._bundle_data(str(single))
    root = ray_executor._materialize(digest, bundle)
    assert (Path(root) / bundle["name"]).read_bytes() == single.read_bytes()
    folder = tmp_path / "letor"
    (folder / "sub").mkdir(parents=True)
    (folder / "S1.txt").write_text("a")
    (folder / "sub" / "x").write_text("b")
    bundle, digest2 = ray_executor._bundle_data(str(folder) + "/")
    local = Path(ray_executor._materialize(digest2, bundle)) / bundle["name"]
    assert (local / "S1.txt").read_text() == "a" and (local / "sub" / "x").read_text() == "b"
    assert digest2 != digest and ray_executor._bundle_data(str(folder))[1] == digest2
    assert ray_executor._bundle_data("builtin:synthetic") == (None, "")
    assert ray_executor._with_data(["--task", "mtl", "--data", "d", "--seed", "1"], "/x") == \
        ["--task", "mtl", "--data", "/x", "--seed", "1"]
    assert ray_executor._with_data(["--data=d"], "/x") == ["--data=/x"]
