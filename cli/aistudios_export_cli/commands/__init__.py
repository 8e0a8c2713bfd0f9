"""The commands of `aistudios-export`, grouped by what they do (main.py puts them in the group):

lifecycle  start an export, watch it to its end, cancel it, retry it
reading    status of one export, list of exports
video      download the video of a SUCCEEDED export
"""

from __future__ import annotations

from .lifecycle import cancel, retry, start, watch
from .reading import list_exports, status
from .video import download

COMMANDS = (start, watch, status, list_exports, cancel, retry, download)
