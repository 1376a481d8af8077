"""docs/osc.md is generated from the address table and must be up to date."""

from __future__ import annotations

import subprocess
from pathlib import Path

from bridge import protocol
from bridge.commands.osc_docs import readme_with_table, render_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "osc.md"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_docs_osc_md_is_up_to_date() -> None:
    assert DOC.exists(), "docs/osc.md is missing: run `jasco-bridge osc-docs --write docs/osc.md`"
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/osc.md is stale: run `jasco-bridge osc-docs --write docs/osc.md`"
    )


def test_docs_name_every_address_setting_and_code() -> None:
    text = render_markdown()
    for spec in (*protocol.MESSAGES, *protocol.REPLIES):
        assert f"### `{spec.address}`" in text
        assert spec.signature in text
    for setting in protocol.SETTINGS:
        assert f"| `{setting.name}` |" in text
    for code in protocol.error_codes():
        assert f"| `{code}` |" in text


def test_osc_docs_command_prints_the_same(cli_exe: str, tmp_path: Path) -> None:
    out = subprocess.run([cli_exe, "osc-docs"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == render_markdown()
    target = tmp_path / "osc.md"
    out = subprocess.run([cli_exe, "osc-docs", "--write", str(target)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and target.read_text(encoding="utf-8") == render_markdown()


def test_readme_osc_table_is_up_to_date() -> None:
    text = README.read_text(encoding="utf-8")
    assert readme_with_table(text) == text, "README's OSC table is stale: run `jasco-bridge osc-docs --readme README.md`"
    for spec in protocol.MESSAGES:
        assert f"| `{spec.address}` |" in text
