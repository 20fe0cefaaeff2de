"""Benchmarks of the suite against this machine's own limits: `python -m bench.run [--quick]`.

run.py runs the sections in order into one results dict, then prints report.py's tables and
writes its JSON. config.py: the modes and sections; machine.py and timing.py: what is measured
on and how; one module a section (converter, input_rate, training_rate, evaluation_rate,
limits, memory, explore), each with its run_section(); targets.py: the targets as a table.

`python -m bench.scale`: the scripts' cost at 5, 100 and 1,000 classes, each script run as a user
runs it; child_runs.py measures a subprocess, written.py reads back what it wrote.
"""
