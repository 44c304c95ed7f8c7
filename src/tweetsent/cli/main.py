"""`tweetsent` command line: one Typer app; user mistakes print one line and exit 2, never a traceback."""

from __future__ import annotations

import logging
import os
import sys
import warnings

# Importing the command modules registers their commands on the app.
from tweetsent.cli import (  # noqa: F401
    compare_command,
    ensemble_command,
    export_command,
    inference_commands,
    predict_command,
    ready_commands,
    train_commands,
)
from tweetsent.cli.app import app, err_console
from tweetsent.core.errors import UserError

EX_IOERR = 74  # sysexits.h: an input/output error (a user's mistake is 2)


def run() -> None:
    """Console-script entry point."""
    # Quiet the banners and tips Lightning prints at every start; its warnings and errors still show.
    os.environ.setdefault("POSSIBLE_USER_WARNING", "off")
    logging.getLogger("lightning.pytorch.utilities.rank_zero").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch.accelerators.cuda").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message=r".*isinstance\(treespec, LeafSpec\)")
    warnings.filterwarnings("ignore", message=r".*does not have many workers")
    warnings.filterwarnings("ignore", message=r".*smaller than the logging interval")  # small hand-labelled sets
    warnings.filterwarnings("ignore", message=r".*Checkpoint directory .* exists and is not empty")
    # Mid-epoch resume is handled by our Reshuffle callback (it skips the batches already trained on).
    warnings.filterwarnings("ignore", message=r".*resuming from a checkpoint that ended before the epoch ended")
    try:
        app()
    except UserError as e:
        err_console.print(f"[bold red]error:[/] {e}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except OSError as e:  # the file system's faults: read-only, full, no permission (atomic writes left nothing half)
        where = f"{e.filename}: " if e.filename else ""
        err_console.print(f"[bold red]error:[/] {where}{e.strerror or e}", highlight=False, soft_wrap=True)
        sys.exit(EX_IOERR)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    run()
