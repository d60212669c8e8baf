"""One convention across tfxp's commands: no abbreviated options, ``-o json`` wherever data is
printed (one valid JSON document on stdout), ``-q/-v`` everywhere, ``TFXP_OUTPUT_DIR`` as the
default of every ``--output-dir``. Commands that need a run are exercised in the e2e tests."""
import json

import pytest

from tfxp_cli.arguments import leaf_parsers
from tfxp_cli.main import build_parser, main

# Every command that prints data (the rest write files, start runs elsewhere, or delete).
DATA_COMMANDS = {("datasets",), ("fetch",), ("run",), ("report",), ("lineage",), ("predict",), ("predictions",),
                 ("spec", "check"), ("spec", "schema"), ("metadata", "check"), ("cloud-schedule", "list"),
                 ("run-compiled",), ("job-spec",)}


def _leaves():
    return list(leaf_parsers(build_parser()))


def _long_options(parser):
    return [s for a in parser._actions for s in a.option_strings if s.startswith("--") and len(s) > 4]


def test_every_parser_refuses_abbreviated_options():
    leaves = _leaves()
    assert len(leaves) >= 20
    for path, parser in leaves:
        assert parser.allow_abbrev is False, path
        for option in _long_options(parser):
            # Python's own resolution of an option word, as parse_args does it.
            assert parser._parse_optional(option)[0] is not None, (path, option)
            assert parser._parse_optional(option[:-1])[0] is None, (path, option[:-1])


def test_the_issue_case_is_refused_not_taken_for_output_dir(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["report", "house_votes", "--output-d", "json"])
    assert stop.value.code == 2
    assert "unrecognized arguments: --output-d json" in capsys.readouterr().err


def test_every_data_printing_command_has_o_json_and_every_command_has_q_and_v():
    leaves = dict(_leaves())
    assert DATA_COMMANDS <= set(leaves), DATA_COMMANDS - set(leaves)
    for path, parser in leaves.items():
        options = {s: a for a in parser._actions for s in a.option_strings}
        assert "-q" in options and "-v" in options, path
        if path in DATA_COMMANDS:
            assert options["-o"] is options["--output"] and "json" in options["-o"].choices, path
        elif "--output" in options:
            pytest.fail(f"{path}: --output is -o's name; write files with --out")


def test_every_output_dir_defaults_to_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TFXP_OUTPUT_DIR", str(tmp_path))
    with_dir = [(path, parser) for path, parser in _leaves()
                if any("--output-dir" in a.option_strings for a in parser._actions) and path != ("compile",)]
    assert len(with_dir) >= 8
    for path, parser in with_dir:
        [action] = [a for a in parser._actions if "--output-dir" in a.option_strings]
        assert action.default == str(tmp_path), path


@pytest.mark.parametrize("argv", [["datasets"], ["spec", "check", "mammographic"], ["spec", "schema"],
                                  ["job-spec", "house_votes", "--cloud-config", "infra/cloud.example.yaml"]],
                         ids=" ".join)
def test_o_json_prints_one_json_document(capsys, argv):
    assert main([*argv, "-o", "json"]) == 0
    out = capsys.readouterr().out
    assert isinstance(json.loads(out), (dict, list)) and out.strip()


def test_fetch_and_metadata_check_print_json(capsys, tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("TFXP_OUTPUT_DIR", str(tmp_path))
    assert main(["fetch", "house_votes", "--data-dir", str(data_dir), "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["folder"].endswith("house_votes")
    assert main(["metadata", "check", "house_votes", "-o", "json"]) == 0  # no store yet: not an error
    checked = json.loads(capsys.readouterr().out)
    assert checked == {"store": str(tmp_path / "house_votes" / "metadata.sqlite"), "exists": False, "ok": False,
                       "problem": None}
