"""``streamlit run`` with every interaction's script run under cProfile: ``python -m benchmarks.profiled_server DIR ARGS…``.

An interaction is a rerun that carries widget states (a first load carries none). Each one's
profile, taken in the script thread from the start of the run to its end (the page script,
Streamlit's work in that thread and the garbage collection after it), is written to
``DIR/<n>.pstats``; ``benchmarks.load.profile_summary`` adds them up. The event loop's work
(serialising the messages, the websocket) is in another thread and not profiled.
"""

from __future__ import annotations

import cProfile
import itertools
import sys
from pathlib import Path
from typing import Any


def main() -> None:
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.web.cli import main as streamlit_main

    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.pstats"):
        old.unlink()
    numbers = itertools.count(1)
    original = script_runner.ScriptRunner._run_script

    def profiled(self: Any, rerun_data: Any) -> None:
        if rerun_data.widget_states is None or not rerun_data.widget_states.widgets:
            return original(self, rerun_data)
        profile = cProfile.Profile()
        profile.enable()
        try:
            return original(self, rerun_data)
        finally:
            profile.disable()
            profile.dump_stats(folder / f"{next(numbers)}.pstats")

    script_runner.ScriptRunner._run_script = profiled  # type: ignore[method-assign]
    sys.argv = ["streamlit", *sys.argv[2:]]
    streamlit_main()


if __name__ == "__main__":
    main()
