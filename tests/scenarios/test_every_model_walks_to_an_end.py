"""The generic driver: every procedure, started with its example data, ends in an end event
within 300 steps whatever valid data its users give and whichever messages arrive."""

from __future__ import annotations

import random

import pytest
from model_coverage import PROCESSES

from engine.demo import read_examples
from scenarios.scenario_support import walk

EXAMPLES = read_examples(PROCESSES / "examples")


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.process_key for e in EXAMPLES])
def test_random_walks_end(bi, example):
    for seed in range(3):
        started = bi.start(example.process_key, example.data, as_group=example.as_group,
                           business_key=f"{example.business_key}-walk-{seed}")
        steps = walk(bi, started["id"], random.Random(seed))
        assert bi.state(started["id"]) == "completed"
        assert 0 < steps < 300
        assert bi.ended_at(started["id"]), "no end event in the trail"
