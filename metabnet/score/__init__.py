"""Answering networks users give: a model's answer or the exact solver's for each network
(`scorer`), runs over files and folders with their summary (`runs`), and every reaction
knock-out of one network (`knockout`)."""
from metabnet.score.runs import Tally, score_files, solve_files
from metabnet.score.scorer import Scorer

__all__ = ["Scorer", "Tally", "score_files", "solve_files"]
