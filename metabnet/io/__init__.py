"""Network files and result records: reading and writing the formats of DESIGN §5 (`formats`,
with SBML in `sbml`), the shards' networks as records (`export`) and the JSON-lines and CSV
record writers (`records`)."""
from metabnet.io.export import shard_records
from metabnet.io.formats import iter_network_files, read_networks, write_networks
from metabnet.io.records import csv_out, jsonl_out

__all__ = ["csv_out", "iter_network_files", "jsonl_out", "read_networks", "shard_records", "write_networks"]
