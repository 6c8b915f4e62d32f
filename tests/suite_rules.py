"""A pytest plugin for June's suite rule: a test that did not run and pass fails the run.

June's suite skips nothing for a missing part (a model, a binary, a port): every
dependency is installed by ``scripts/bootstrap.sh test``. So a *skipped* test — by a
mark, by ``pytest.skip()`` in a fixture or test, or a whole module skipped at
collection — an *xfailed* test (a known failure kept in the suite) and an
*xpassed* one (an ``xfail`` mark that no longer holds) all turn a passing run
into exit status 1, with a line naming them.

The plugin counts the reports themselves (``pytest_runtest_logreport`` and
``pytest_collectreport``), so it does not depend on the terminal reporter: it
works under ``-p no:terminal`` too, writing its line to stderr there. It is
loaded by ``tests/conftest.py``; another run loads it with ``-p tests.suite_rules``.
"""

from __future__ import annotations

import sys

import pytest

PLUGIN_NAME = "june-suite-rules"


class NothingSkipped:
    """Collects the tests that were skipped, xfailed or xpassed; fails the run on any."""

    def __init__(self) -> None:
        #: node id -> "skipped" | "xfailed" | "xpassed", in the order they happened
        self.offenders: dict[str, str] = {}

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.skipped:  # a module skipped while it was collected
            self.offenders.setdefault(report.nodeid, "skipped")

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.skipped:  # any phase; an xfailed test is reported as skipped
            outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"
            self.offenders.setdefault(report.nodeid, outcome)
        elif report.passed and report.when == "call" and hasattr(report, "wasxfail"):
            self.offenders.setdefault(report.nodeid, "xpassed")

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.offenders:
            return
        names = ", ".join(f"{nodeid} ({outcome})" for nodeid, outcome in self.offenders.items())
        line = (
            f"FAILED: {len(self.offenders)} test(s) skipped, xfailed or xpassed; "
            f"June's suite skips nothing: {names}"
        )
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(line)
        else:
            print(line, file=sys.stderr)
        # "no tests collected" too: a run whose every module was skipped did fail
        if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(PLUGIN_NAME):
        config.pluginmanager.register(NothingSkipped(), PLUGIN_NAME)
