"""`metabnet bench`: generation, exact solving, model inference and scaling beside the tools a
user would pick instead (`suite`), those tools as functions of a Network (`references`), and
the paper-style Python + networkx generator it is measured against (`paper_reference`)."""
