"""What every part of the delivery benchmark agrees on: where the repository and the entry script
are, the variants and sizes, the issue's targets, the project and bucket, and moto's credentials."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "delivery.py"  # each variant's child process runs it with --child
MIB = 1024 * 1024
VARIANTS = ("naive", "single", "ours")
DEFAULT_SIZES_MIB = (256, 1024)
REFERENCE_SIZE_MIB = 1024  # the size of the last line
RSS_TARGET_MIB = 256
SPEEDUP_TARGET = 3.0
PROJECT = "65fa6b07dca2e367461a2925"
BUCKET = "bench-delivery"
AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",  # moto accepts any credentials
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
