"""Members side by side (rnnkit.tasks.jobs): the LPT schedule's budgets by hand, how many processes, and run_all
returning every result in order from other processes on one thread each, and raising a member's error."""

import operator
import os

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


def test_run_all_returns_results_in_call_order_from_one_thread_workers():
    assert run_all(operator.mul, [(k, 2) for k in range(5)], 2, weights=[1, 5, 2, 4, 3]) == [0, 2, 4, 6, 8]
    pids = run_all(os.getpid, [()] * 4, 2)
    assert os.getpid() not in pids
    assert run_all(torch.get_num_threads, [()] * 2, 2) == [1, 1]
    assert run_all(os.getpid, [()] * 2, 1) == [os.getpid()] * 2  # one job: in this process


def test_a_members_error_reaches_the_caller_with_its_type_and_message():
    with pytest.raises(ValueError, match="invalid literal for int"):
        run_all(int, [("1",), ("x",)], 2)
