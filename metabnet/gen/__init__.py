"""Making labelled networks: the generator's settings (`config`), the driver (`generate`), the
HDF5 shard format - its one writer and one reader (`shard`) - and folders of shards
(`dataset`: plan, run, resume, summarise)."""
from metabnet.gen.config import FAMILIES, GenConfig
from metabnet.gen.dataset import Plan, run, summarize
from metabnet.gen.driver import generate
from metabnet.gen.shard import ShardError, open_shard, read_shard

__all__ = ["FAMILIES", "GenConfig", "Plan", "ShardError", "generate", "open_shard", "read_shard", "run", "summarize"]
