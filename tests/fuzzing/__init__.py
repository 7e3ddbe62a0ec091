"""A fuzzing harness for econplan: mutated economies and input-output tables run through the
real ``econplan`` command, each case in a forked child with a time limit.

A case is reproducible from its seed and number alone: ``case_rng(seed, number)`` drives every
choice, from the base (the built-in economy, the tiny test economy, a generated input-output
table) to the mutations and their cells. ``cases.write_case`` writes a case's input;
``runner.run_case`` runs it through validate and, when valid, balance, analyse and plan, and
lists what went wrong: a traceback, an exit code outside 0/2/3/4, a bad-input exit whose
message is not one line per problem, a hang (the child is killed after a time limit), or a
crash. ``tests/test_fuzz.py`` runs a fast slice; ``bench/fuzz.py`` the long run
(docs/robustness.md).
"""
