"""What the Python compatibility tests share: the broker argument, checks and the test runner.

Each test is a function; it passes, fails (any exception) or is skipped (Skip: it cannot run here, e.g. a codec
library is missing). run() prints one line per test and a closing `N passed, N failed` and returns the exit code.
"""
import sys
import time
import traceback


class Skip(Exception):
    """A test that cannot run here; reported, not counted as passed."""


def bootstrap(script):
    """The broker (host:port) the script was given, or a usage message and exit code 2."""
    if len(sys.argv) != 2:
        print("usage: %s BOOTSTRAP (host:port)" % script, file=sys.stderr)
        sys.exit(2)
    return sys.argv[1]


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def run(script, tests, bootstrap_servers, run_id):
    passed = failed = skipped = 0
    print("%s: broker %s, run %s" % (script, bootstrap_servers, run_id), flush=True)
    for test in tests:
        started = time.time()
        try:
            test()
        except Skip as e:
            skipped += 1
            print("SKIP %s: %s" % (test.__name__, e), flush=True)
            continue
        except Exception as e:  # any exception is a failure of that test; go on with the others
            failed += 1
            print("FAIL %s (%.1fs): %s: %s" % (test.__name__, time.time() - started, type(e).__name__, e), flush=True)
            traceback.print_exc(file=sys.stdout)
            continue
        passed += 1
        print("PASS %s (%.1fs)" % (test.__name__, time.time() - started), flush=True)
    if skipped:
        print("%d skipped (see SKIP lines)" % skipped)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
