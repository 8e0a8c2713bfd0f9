"""DeepBrain AI Studios API simulator: a real HTTP server on loopback for tests and local runs.

Public API: ``Simulator``, ``SimulatorConfig``, ``Fault``, ``synthetic_video_bytes``,
``synthetic_video_sha256``. Run ``python -m local.simulator --help`` for the CLI.
"""

from .config import Fault, SimulatorConfig
from .server import Simulator
from .video import synthetic_video_bytes, synthetic_video_sha256

__all__ = ["Fault", "Simulator", "SimulatorConfig", "synthetic_video_bytes", "synthetic_video_sha256"]
