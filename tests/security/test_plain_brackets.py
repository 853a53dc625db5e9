"""Text in square brackets reaches the terminal as written, in help and in messages: the
CLI's formatting never swallows "[loops.NAME]" or a user's "[v2]" (issue 22, item 12)."""

from __future__ import annotations

from typing import Any

from tests.cli.conftest import cli as cli  # the fixture, here too


def test_help_and_messages_keep_their_brackets(cli: Any) -> None:
    assert "[loops.*]" in cli("loops", "--help")
    assert "[monitoring]" in cli("controller", "--help")
    assert "[loops.DEPLOYMENT]" in cli("loops", "status")
    assert "[check]" in cli("check", "--help")
    assert "[serve]" in cli("serve", "--help")
