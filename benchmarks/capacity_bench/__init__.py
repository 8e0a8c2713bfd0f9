"""The parts of the capacity model (`benchmarks/capacity.py`, which runs them):

figures  what one export uses, measured or read where the other benchmarks and the template say it
limits   the quotas and rates that bound throughput, each with its source and the quota to raise
queue    the request queue: depth and start latency for a rate of arrivals
costs    list prices (us-east-1) and the cost per month of a volume
report   the printed tables
"""
