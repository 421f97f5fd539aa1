"""Where local state lives when nothing is configured: the Dagster home and the embedded catalog.

``dagster dev`` and ``dagster job execute`` read a ``.env`` file in the folder they start in, so
the first local command records ``DAGSTER_HOME`` there; every later command, ours or Dagster's,
started in the same folder then shares one instance (its runs, partitions and materializations).
"""

from __future__ import annotations

import os
from pathlib import Path

from dotenv import dotenv_values

ENV_FILE = ".env"


def ensure_dagster_home(folder: Path | None = None) -> Path:
    """Return DAGSTER_HOME, setting it to ``folder`` (default: cwd) and recording it in ``.env``
    when neither the environment nor ``.env`` names one."""
    folder = (folder or Path.cwd()).resolve()
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    env_file = folder / ENV_FILE
    recorded = dotenv_values(env_file).get("DAGSTER_HOME") if env_file.exists() else None
    if not recorded:
        recorded = str(folder)
        with env_file.open("a") as fh:
            fh.write(f"DAGSTER_HOME={recorded}\n")
    Path(recorded).mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = recorded
    return Path(recorded)
