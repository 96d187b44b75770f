"""Named random streams are stable (they depend on the seed and the name only) and
independent; replication seeds differ."""

import numpy as np
import pytest

from reporting_sim.model.streams import Streams, replication_seed


def test_streams_depend_on_seed_and_name_only():
    s1, s2 = Streams(11), Streams(11)
    s2.get("unrelated:stream")  # asking for other streams first changes nothing
    assert s1.get("work:u2").random(5).tolist() == s2.get("work:u2").random(5).tolist()
    assert s1.get("work:g2").random(5).tolist() != Streams(11).get("work:u2").random(5).tolist()
    assert Streams(12).get("work:u2").random(5).tolist() != Streams(11).get("work:u2").random(5).tolist()


def test_streams_are_statistically_independent():
    s = Streams(5)
    a, b = s.get("a").random(20000), s.get("b").random(20000)
    assert abs(np.corrcoef(a, b)[0, 1]) < 0.03


def test_bad_seed_is_refused_and_replication_seeds_differ():
    with pytest.raises(ValueError):
        Streams(-1)
    seeds = {replication_seed(100, r) for r in range(50)}
    assert len(seeds) == 50
