"""The local stack's S3 as a server of its own: moto's server (same arguments) with the S3 patches of
local/stack/moto_patches/. The delivery benchmark runs it.

    PYTHONPATH=shared:. .venv/bin/python -m local.stack.s3_server -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import sys

from .moto_patches import s3_patches


def main(argv: list[str]) -> None:
    from moto.server import main as serve

    s3_patches()
    serve(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
