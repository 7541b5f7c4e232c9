"""Members side by side (rnnkit.tasks.jobs): the LPT schedule's budgets by hand, how many processes, and run_all
returning every result in order from other processes on one thread each, raising a member's error, and stopping the
workers when the caller is terminated."""

import operator
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from rnnkit.tasks.jobs import budgets, cpu_jobs, lpt_order, makespan, run_all


def test_lpt_hands_the_heaviest_task_to_the_least_loaded_worker():
    # 3→A, 3→B, 2→A (5), 2→B (5), 2→A (7): the schedule ends at 7
    assert lpt_order([2, 3, 2, 3, 2]) == [1, 3, 0, 2, 4]
    assert makespan([3, 3, 2, 2, 2], 2) == 7
    assert makespan([3, 3, 2, 2, 2], 1) == 12
    assert makespan([3, 3, 2, 2, 2], 5) == 3


def test_budgets_end_the_schedule_when_the_wall_clock_budget_is_spent():
    assert budgets([3, 3, 2, 2, 2], 2, 14.0) == pytest.approx([6, 6, 4, 4, 4])
    # one worker: the shares are proportional to the weights and sum to the budget (the serial run's rule)
    assert budgets([1, 3], 1, 8.0) == pytest.approx([2, 6])


def test_cpu_jobs_uses_the_cores_on_a_cpu_and_one_process_elsewhere():
    cpu, gpu = torch.device("cpu"), torch.device("cuda", 0)
    assert cpu_jobs(None, 100, cpu) == min(torch.get_num_threads(), os.cpu_count())
    assert cpu_jobs(None, 1, cpu) == 1
    assert cpu_jobs(None, 6, gpu) == 1
    assert cpu_jobs(4, 3, cpu) == 3
    with pytest.raises(ValueError, match="jobs must be at least 1"):
        cpu_jobs(0, 3, cpu)


def test_under_torchrun_members_train_one_after_another(monkeypatch):
    # a loky worker would inherit RANK/WORLD_SIZE and try to join the process group: under torchrun each member
    # trains across the ranks instead, so the default is 1 and asking for more is refused with why
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert cpu_jobs(None, 4, torch.device("cpu")) == 1
    assert cpu_jobs(1, 4, torch.device("cpu")) == 1
    with pytest.raises(ValueError, match="cannot run under torchrun"):
        cpu_jobs(2, 4, torch.device("cpu"))


def test_run_all_returns_results_in_call_order_from_one_thread_workers():
    assert run_all(operator.mul, [(k, 2) for k in range(5)], 2, weights=[1, 5, 2, 4, 3]) == [0, 2, 4, 6, 8]
    pids = run_all(os.getpid, [()] * 4, 2)
    assert os.getpid() not in pids
    assert run_all(torch.get_num_threads, [()] * 2, 2) == [1, 1]
    assert run_all(os.getpid, [()] * 2, 1) == [os.getpid()] * 2  # one job: in this process


def test_a_members_error_reaches_the_caller_with_its_type_and_message():
    with pytest.raises(ValueError, match="invalid literal for int"):
        run_all(int, [("1",), ("x",)], 2)


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the workers' state from /proc")
def test_sigterm_to_the_caller_stops_the_workers_too(tmp_path):
    # given a script whose two members sleep for a minute, when it gets SIGTERM (kill, timeout, a job scheduler)
    # it exits with 128 + 15 as the signal's default would, and its worker processes are gone too — not left to
    # finish their members
    (tmp_path / "sleeper.py").write_text(textwrap.dedent("""
        import os, time
        def sleep(folder, k):
            open(os.path.join(folder, f"worker{os.getpid()}"), "w").close()
            time.sleep(60)
    """))
    script = f"from rnnkit.tasks.jobs import run_all; import sleeper; run_all(sleeper.sleep, [({str(tmp_path)!r}, k) " \
             f"for k in range(4)], 2)"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).parents[1])])}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    deadline = time.monotonic() + 60
    while len(list(tmp_path.glob("worker*"))) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    workers = [int(f.name[len("worker"):]) for f in tmp_path.glob("worker*")]
    assert len(workers) == 2
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 128 + signal.SIGTERM
    deadline = time.monotonic() + 10
    while any(map(_running, workers)) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = [w for w in workers if _running(w)]
    for w in left:
        os.kill(w, signal.SIGKILL)
    assert not left, f"workers {left} still run after their caller was terminated"
