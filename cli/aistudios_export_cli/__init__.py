"""`aistudios-export`: the command line of the exports API (start, watch, status, list, cancel, download).

It talks to the exports API over HTTP (and to CloudFormation only to read a stack's `ApiUrl`), so it
works the same against a deployed stack (SigV4-signed from the standard AWS credential chain) and the
local one. It is not part
of the Lambda layer: its dependencies are the project's `cli` extra, installed by `uv sync`.

Libraries: click for the command line (Pallets, typed, already in the lock through moto/Flask; its
errors are exceptions we turn into one line and a documented exit code, where typer would add a layer
over it and print usage errors as multi-line panels); rich for the live progress bars and tables (it
knows when it is not on a terminal, and we then print plain lines instead); requests and botocore's
SigV4 signer, which the project already uses.
"""
