"""The suite rule itself (tests/suite_rules.py): skipped, xfailed, xpassed tests fail a run.

Each case runs a tiny pytest session in a subprocess that loads the plugin with
``-p tests.suite_rules`` (and no installed plugin: they only slow it down), once
with the terminal reporter and once without it (``-p no:terminal``), and checks
the exit status and the line naming the tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CASES = {
    "plain pass": ("def test_it():\n    assert True\n", 0, None),
    "skip mark": (
        "import pytest\n\n@pytest.mark.skip(reason='no')\ndef test_it():\n    pass\n",
        1,
        "test_it (skipped)",
    ),
    "skip in a fixture": (
        "import pytest\n\n@pytest.fixture\ndef part():\n    pytest.skip('missing part')\n\n"
        "def test_it(part):\n    pass\n",
        1,
        "test_it (skipped)",
    ),
    "module skipped at collection": (
        "import pytest\n\npytest.importorskip('no_such_module_for_june')\n\n"
        "def test_it():\n    pass\n",
        1,
        "(skipped)",
    ),
    "xfail": (
        "import pytest\n\n@pytest.mark.xfail(reason='known')\ndef test_it():\n    assert False\n",
        1,
        "test_it (xfailed)",
    ),
    "xfail call": (
        "import pytest\n\ndef test_it():\n    pytest.xfail('known')\n",
        1,
        "test_it (xfailed)",
    ),
    "xpass": (
        "import pytest\n\n@pytest.mark.xfail(reason='known')\ndef test_it():\n    assert True\n",
        1,
        "test_it (xpassed)",
    ),
    "a failure stays a failure": ("def test_it():\n    assert False\n", 1, None),
}


@pytest.mark.parametrize("terminal", [True, False], ids=["terminal", "no-terminal"])
@pytest.mark.parametrize("case", list(CASES))
def test_skip_xfail_and_xpass_fail_the_run(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, case: str, terminal: bool
) -> None:
    source, status, named = CASES[case]
    pytester.makepyfile(test_inner=source)
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    args = ["-p", "tests.suite_rules", "-p", "no:cacheprovider"]
    if not terminal:
        args += ["-p", "no:terminal"]
    result = pytester.runpytest_subprocess(*args)
    assert result.ret == status, result.outlines + result.errlines
    lines = result.outlines if terminal else result.errlines
    rule_lines = [line for line in lines if "June's suite skips nothing" in line]
    if named is None:
        assert rule_lines == []
    else:
        assert len(rule_lines) == 1, lines
        assert "test_inner.py" in rule_lines[0] and named in rule_lines[0]


def test_every_offender_is_named_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(
        test_inner="""
        import pytest

        def test_passes():
            pass

        @pytest.mark.skip(reason="no")
        def test_skipped():
            pass

        @pytest.mark.xfail(reason="known")
        def test_xfailed():
            assert False

        @pytest.mark.xfail(reason="known")
        def test_xpassed():
            pass
        """
    )
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest_subprocess("-p", "tests.suite_rules", "-p", "no:terminal")
    assert result.ret == 1
    (line,) = [line for line in result.errlines if "June's suite skips nothing" in line]
    assert line.startswith("FAILED: 3 test(s)")
    for name in ("test_skipped (skipped)", "test_xfailed (xfailed)", "test_xpassed (xpassed)"):
        assert line.count(name) == 1, line
    assert "test_passes" not in line
