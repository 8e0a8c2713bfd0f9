"""The parts of the polling benchmark (`benchmarks/polling.py`, which runs them):

renders    the simulated AI Studios renders: progress as a function of virtual time
schedules  the wait schedules (planned, fixed) and their replay on a render, webhooks included
costs      the list prices, and a round's state transitions read from the state machine
report     one row per schedule (lag, polls, transitions, cost) and the printed table
"""
