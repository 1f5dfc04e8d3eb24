"""compare's second process, started before the command imports TensorFlow."""

import pytest

from imbnet.cli._aside import collect_aside, second_process, start_aside


def test_not_wanted_no_process():
    with second_process(wanted=False) as pool:
        assert pool is None


def test_the_early_process_is_stopped_when_the_command_fails_before_using_it():
    with pytest.raises(ValueError, match="bad column"):
        with second_process() as pool:
            assert pool is not None
            processes = list(pool._processes.values())
            raise ValueError("bad column")  # e.g. bad input found after the start
    assert all(not process.is_alive() for process in processes)
    with pytest.raises(RuntimeError):
        pool.submit(abs, -1)


@pytest.mark.slow
def test_the_second_process_runs_each_strategy_in_order():
    with second_process() as pool:
        aside = start_aside(["a", "bb", "ccc"], _length_times, (2,), pool)
        assert collect_aside(aside) == [2, 4, 6]


def _length_times(name, factor):
    return len(name) * factor


@pytest.mark.slow
def test_a_failing_second_process_reports_each_strategy_as_failed():
    with second_process() as pool:
        # a run that fails in the second process
        aside = start_aside(["logreg", "hgb"], divmod, (0,), pool)
        done = collect_aside(aside)
    assert len(done) == 2
    for runs, limit, warned in done:
        assert limit == 0 and warned == []
        assert runs[0]["error"].startswith("TypeError")
