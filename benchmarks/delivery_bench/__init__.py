"""The parts of the delivery benchmark (`benchmarks/delivery.py`, which runs them):

config   what every part agrees on: the repository, sizes, variants, targets, the bucket
options  the command line
servers  the servers it starts or talks to: the local stack's S3 (moto) and the simulator's API
variant  the child process: one variant copying one video into S3, measuring itself
runner   the parent's side of a variant: runs its child, times moto, verifies the stored object
report   the table's rows, the ratios, the targets and the last line
"""
