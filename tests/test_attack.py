"""The CLI attack (tests/attack.py): random command lines, --set values, damaged checkpoints, config files and
metrics lines must each end in exit code 0 or 2, with no traceback and nothing changed outside what the command
line names for writing.

The default suite runs a few derandomized cases; ``-m slow`` runs ``GANFORGE_ATTACK_CASES`` (default 150) more from
``GANFORGE_ATTACK_SEED``. benchmarks/attack.py runs thousands and prints the table in docs/reliability.md.
"""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attack import MAKERS, attack_world, make_case, run_case, train_tiny_run


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    return train_tiny_run(tmp_path_factory.mktemp("attack") / "trained")


@pytest.fixture
def sandboxes(tmp_path_factory):
    return lambda: tmp_path_factory.mktemp("case")


QUICK = settings(max_examples=12, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))


@QUICK
@given(rng=st.randoms(use_true_random=False))
def test_no_attack_gets_a_traceback_or_touches_anything_else(rng, trained, sandboxes):
    world = attack_world(trained, sandboxes())
    outcome = run_case(make_case(rng, world), world)
    assert outcome.clean, outcome.describe()


@pytest.mark.parametrize("kind", sorted(MAKERS))
def test_every_kind_of_attack_runs_and_is_clean(kind, trained, sandboxes):
    """One case of each kind, so that a maker broken by a change is noticed even where hypothesis drew none of it."""
    world = attack_world(trained, sandboxes())
    outcome = run_case(MAKERS[kind](random.Random(kind), world), world)
    assert outcome.clean, outcome.describe()


@pytest.mark.slow
def test_many_attacks(trained, sandboxes):
    count = int(os.environ.get("GANFORGE_ATTACK_CASES", "150"))
    seed = int(os.environ.get("GANFORGE_ATTACK_SEED", "0"))
    failures = []
    for index in range(count):
        world = attack_world(trained, sandboxes())
        outcome = run_case(make_case(random.Random(seed * 1_000_003 + index), world), world)
        if not outcome.clean:
            failures.append(f"case {index}: {outcome.describe()}")
    assert not failures, "\n".join(failures)
