"""Stage entry points: thin wrappers that read inputs, call pure logic, write declared outputs.

Each module has ``run(args) -> int``; the ``mlpipe`` CLI imports one only when its subcommand
runs, so ``mlpipe --help`` stays fast.
"""
