"""--beam-workers: how many DirectRunner worker processes a local run gets, auto by default."""
import subprocess
import sys

from infra.dataflow import AUTO, AUTO_WORKERS_FROM_MIB, beam_workers_for, direct_runner_args, in_this_process

MIB = 2 ** 20


def test_auto_takes_two_workers_from_the_measured_input_size_on_two_or_more_cores():
    at = AUTO_WORKERS_FROM_MIB * MIB
    assert beam_workers_for(AUTO, at - 1, cores=2) == 0
    assert beam_workers_for(AUTO, at, cores=2) == 2
    assert beam_workers_for(AUTO, 100 * at, cores=64) == 2
    assert beam_workers_for(AUTO, at, cores=1) == 0  # nothing to share the work with
    assert beam_workers_for(AUTO, at, sliced=True, cores=2) == 0  # --max-examples reads a small part
    assert beam_workers_for(0, 100 * at, cores=2) == 0 and beam_workers_for(3, 0, cores=2) == 3  # as asked


def test_only_beam_in_this_process_counts_as_in_this_process():
    # where the local runner may make Beam's pickles in zlib (infra.beam_fixed_cost.zlib_pickles)
    assert in_this_process(direct_runner_args(None))
    assert not in_this_process(direct_runner_args(2)) and not in_this_process(direct_runner_args(0))


def test_the_cli_takes_a_number_or_auto_and_names_a_bad_value():
    done = subprocess.run([sys.executable, "-m", "tfxp_cli", "run", "house_votes", "--beam-workers", "two"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "'two': give a number of worker processes (0: in this process) or auto" in done.stderr


def test_the_benchmark_interpolates_where_two_workers_become_faster():
    from bench.beam_workers import crossing_mib

    points = [{"file_mib": 10.0, "in_process_s": 50.0, "two_workers_s": 60.0},
              {"file_mib": 30.0, "in_process_s": 100.0, "two_workers_s": 90.0}]
    assert crossing_mib(points[::-1]) == 20.0
    assert crossing_mib(points[:1]) is None  # nothing brackets it
