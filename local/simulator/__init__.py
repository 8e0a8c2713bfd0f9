"""DeepBrain AI Studios API simulator: a real HTTP server on loopback for tests and local runs.

Public API: ``Simulator``, ``SimulatorConfig``, ``Fault``, ``RenderedVideo`` (what
``Simulator.render_video`` returns), ``synthetic_video_bytes``, ``synthetic_video_sha256``. Run ``python -m local.simulator --help`` for the CLI.
"""

from .config import Fault, SimulatorConfig
from .render import RenderedVideo
from .server import Simulator
from .video import synthetic_video_bytes, synthetic_video_sha256

__all__ = [
    "Fault",
    "RenderedVideo",
    "Simulator",
    "SimulatorConfig",
    "synthetic_video_bytes",
    "synthetic_video_sha256",
]
