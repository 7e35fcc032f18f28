"""The progress-following deadlines of tests/progress.py."""

import sys

import pytest

from progress import run_advancing, wait_advancing


def test_run_advancing_returns_like_subprocess_run():
    code = "import sys\nfor i in range(4):\n    print(i)\nprint('e', file=sys.stderr); sys.exit(3)"
    done = run_advancing([sys.executable, "-c", code])
    assert done.returncode == 3 and done.stdout.split() == ["0", "1", "2", "3"]
    assert done.stderr == "e\n"


def test_a_command_that_stops_advancing_fails_and_is_killed():
    with pytest.raises(pytest.fail.Exception, match="nothing advanced for 1 s"):
        run_advancing([sys.executable, "-c", "import time; time.sleep(600)"], stall_s=1)


def test_wait_advancing_waits_as_long_as_progress_changes():
    """Progress changes at every poll: never a stall, however long it takes."""
    ticks = iter(range(1000))
    seen = []
    wait_advancing(lambda: len(seen) >= 50, lambda: seen.append(next(ticks)) or seen[-1],
                   "counter", stall_s=0.001, poll_s=0.001)
    assert len(seen) >= 50
