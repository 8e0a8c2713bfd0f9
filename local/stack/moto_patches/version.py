"""The moto versions the patches were written against and tested with.

Every patch reaches into moto's private internals (its backends' methods, its response class, its
Step Functions interpreter), which moto changes without notice between releases: a patch applied to
another moto may silently do nothing, or break S3 in a way that only shows much later. So applying
them checks the installed moto first and refuses one outside the tested range, naming both.

To move to a newer moto: widen the range here and the moto pin in pyproject.toml's dev group
together (tests/unit/test_moto_patches.py keeps them equal), run `.tools/bin/uv lock`, and run the
tests; each patch's docstring says what moto did wrong, to check whether the new moto still does.
"""

from __future__ import annotations

import re

# The dev group's pin in pyproject.toml: ">=5.2.5,<5.3".
TESTED_FROM = (5, 2, 5)
TESTED_BELOW = (5, 3)
TESTED_RANGE = ">={},<{}".format(".".join(map(str, TESTED_FROM)), ".".join(map(str, TESTED_BELOW)))

# A final release (a post-release or local label allowed): pre-releases and dev builds are untested.
_RELEASE = re.compile(r"(\d+(?:\.\d+)*)(?:[.-]?post\d+)?(?:\+[\w.]+)?")


class UntestedMotoVersionError(RuntimeError):
    """The installed moto is not one the local stack's patches to moto were tested with."""


def check_moto_version(version: str) -> None:
    """Raises UntestedMotoVersionError unless `version` is a moto release in TESTED_RANGE."""
    match = _RELEASE.fullmatch(version.strip())
    release = tuple(int(n) for n in match.group(1).split(".")) if match else None
    if release is None or not TESTED_FROM <= release < TESTED_BELOW:
        raise UntestedMotoVersionError(
            f"moto {version} is installed, but the local stack's patches to moto's internals "
            f"(local/stack/moto_patches/) were tested with moto {TESTED_RANGE} only: install a "
            f"tested moto (`make setup`, or `.tools/bin/uv sync --frozen`), or move the patches to "
            f"this moto (see local/stack/moto_patches/version.py)"
        )


def check_installed_moto() -> None:
    """check_moto_version for the moto this process imports."""
    import moto

    check_moto_version(moto.__version__)
