"""Fixtures shared by the test modules (helper functions live in helpers.py and naive.py)."""
import pytest

from metabnet.gen import GenConfig, Plan, run


@pytest.fixture(scope="session")
def make_shards(tmp_path_factory):
    """make_shards(count, seed, shard_size, **config): a folder of `metabnet gen` shards,
    made once per session for each set of arguments."""
    made = {}

    def make(count: int, seed: int, shard_size: int, **config):
        key = (count, seed, shard_size, tuple(sorted(config.items())))
        if key not in made:
            out = tmp_path_factory.mktemp("shards")
            run(Plan(out, GenConfig(**config), count, seed=seed, shard_size=shard_size), progress=False)
            made[key] = out
        return made[key]

    return make
