"""One vocabulary across the `lstm-apps` subcommands: argparse's conventions, checked on
every option of every parser (the subcommands and `lstm-apps tune RECIPE`)."""

from __future__ import annotations

import argparse
import re

import pytest

from lstm_apps import cli
from lstm_apps.commands import _config_args
from lstm_apps.commands.tune import recipe_parser
from lstm_apps.recipes import forecast, memory, sentiment


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """`lstm-apps`, each subcommand, and `tune forecast` / `tune sentiment`, by name."""
    top = cli.build_parser()
    sub = next(a for a in top._actions if isinstance(a, argparse._SubParsersAction))
    parsers = {"lstm-apps": top, **sub.choices}
    for recipe in ("forecast", "sentiment"):
        parsers[f"tune {recipe}"] = recipe_parser(recipe)
    return parsers


PARSERS = _parsers()
#: The commands that train: their Keras output is `--verbose {0,1,2}`.
TRAINING = ("forecast", "memory", "sentiment", "tune forecast", "tune sentiment")


def _options(name: str) -> list[argparse.Action]:
    """The shown options of a parser (not -h, not hidden aliases, not positionals)."""
    return [a for a in PARSERS[name]._actions if a.option_strings and a.help != argparse.SUPPRESS
            and not isinstance(a, argparse._HelpAction)
            and not isinstance(a, argparse._VersionAction)]


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0 and not isinstance(action, argparse.BooleanOptionalAction)


def _violations(command: str, action: argparse.Action) -> list[str]:
    """What in one option breaks the convention (empty: nothing)."""
    where = f"lstm-apps {command} {'/'.join(action.option_strings)}"
    found = []
    for option in action.option_strings:  # -v, or --kebab-case
        if not re.fullmatch(r"-[a-z]|--[a-z][a-z0-9]*(-[a-z0-9]+)*", option):
            found.append(f"{where}: {option} is not kebab case")
    if _takes_value(action):
        # A placeholder in upper case (argparse's dest.upper()), or the choices listed.
        metavar = action.metavar or action.dest.upper()
        if action.choices is None and not re.fullmatch(
                r"[A-Z][A-Z0-9_]*([:=][A-Z][A-Z0-9_]*)?", metavar):
            found.append(f"{where}: placeholder {metavar!r} is not an upper-case name")
        if action.choices is not None and action.metavar is not None:
            found.append(f"{where}: placeholder {action.metavar!r} hides the choices")
    text = " ".join((action.help or "").split())
    if not text:
        found.append(f"{where}: no help")
    # One spelling of "no value" and of a switch's state; no Python reprs.
    if re.search(r"\bNone\b|\bTrue\b|\bFalse\b|\('|\['", text):
        found.append(f"{where}: a Python repr in {text!r}")
    required = action.required or any(  # one of a required group: --text or --csv
        group.required and action in group._group_actions
        for group in PARSERS[command]._mutually_exclusive_groups)
    switch = isinstance(action, argparse.BooleanOptionalAction)
    if (_takes_value(action) and not required or switch) and not re.search(
            r"\(default[:s]", text):
        found.append(f"{where}: no (default: ...) in {text!r}")
    shown = re.search(r"\(default: (\w+)\)", text)
    if switch and shown is not None and shown.group(1) not in ("on", "off"):
        found.append(f"{where}: a switch's default is on or off, not {shown.group(1)!r}")
    return found


def test_the_walk_finds_every_subcommand():
    assert {"forecast", "sentiment", "memory", "gates", "tune", "cells"} < set(PARSERS)
    assert sum(len(_options(name)) for name in PARSERS) > 150


@pytest.mark.parametrize("command", PARSERS)
def test_every_option_follows_the_convention(command):
    found = [v for action in _options(command) for v in _violations(command, action)]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("command", TRAINING)
def test_training_output_is_verbose_0_1_2_everywhere(command):
    options = {o: a for a in PARSERS[command]._actions for o in a.option_strings}
    verbose = options["--verbose"]
    assert list(verbose.choices) == [0, 1, 2] and verbose.dest.endswith("verbose")
    assert "Keras training output" in verbose.help
    shown = [a for a in _options(command) if "--progress" in a.option_strings]
    assert not shown  # the old name is at most a hidden alias


@pytest.mark.parametrize("command", ["forecast", "memory"])
def test_progress_is_a_deprecated_alias_of_verbose(command, capsys):
    args = PARSERS[command].parse_args(["--progress", "2"])
    assert args.verbose == 2
    assert f"lstm-apps {command}: warning: --progress is deprecated; use --verbose" in \
        capsys.readouterr().err


def test_the_top_level_logging_flag_never_touches_the_training_output(capsys):
    top = PARSERS["lstm-apps"]
    args = top.parse_args(["-v", "sentiment", "--verbose", "2"])
    assert (args.log_verbose, args.verbose) == (True, 2)
    args = top.parse_args(["--logs", "memory"])
    assert (args.log_verbose, args.verbose) == (True, 0)
    args = top.parse_args(["--verbose", "forecast", "--verbose", "0"])  # the old spelling
    assert (args.log_verbose, args.verbose) == (True, 0)
    assert "--verbose before the command is deprecated; use -v" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "option", "choices"), [
    ("sentiment", "--pooling", list(sentiment.POOLINGS)),
    ("sentiment", "--truncating", ["pre", "post"]),
    ("tune sentiment", "--pooling", list(sentiment.POOLINGS)),
    ("tune sentiment", "--truncating", ["pre", "post"]),
    ("forecast", "--fill", ["raise", "ffill", "interpolate"]),
    ("forecast", "--synthetic", ["default", "weekly_yearly", "hourly_ar"]),
    ("memory", "--task", list(memory.TASKS)),
])
def test_options_with_fixed_values_list_them(command, option, choices):
    action = next(a for a in PARSERS[command]._actions if option in a.option_strings)
    assert list(action.choices) == choices


def test_the_listed_choices_are_what_the_configs_accept():
    for pooling in sentiment.POOLINGS:
        assert sentiment.SentimentConfig(pooling=pooling).pooling == pooling
    for truncating in ("pre", "post"):
        assert sentiment.SentimentConfig(truncating=truncating).truncating == truncating
    with pytest.raises(ValueError, match="truncating"):
        sentiment.SentimentConfig(truncating="middle")


def test_gate_monitor_is_off_by_default_in_every_command(monkeypatch):
    # the same default in Python as on the command line
    assert forecast.ForecastConfig().gate_monitor is False
    assert sentiment.SentimentConfig().gate_monitor is False
    for command in ("forecast", "sentiment"):
        assert PARSERS[command].parse_args([]).gate_monitor is False
    for recipe in ("forecast", "sentiment"):
        text = " ".join(PARSERS[f"tune {recipe}"].format_help().split())
        assert re.search(r"--gate-monitor, --no-gate-monitor .*?\(default: off\)", text)
    from lstm_apps.commands import tune

    for recipe, config in (("forecast", forecast.ForecastConfig),
                           ("sentiment", sentiment.SentimentConfig)):
        assert tune._base_config(recipe_parser(recipe).parse_args([]), config).gate_monitor \
            is False
        on = tune._base_config(recipe_parser(recipe).parse_args(["--gate-monitor"]), config)
        assert on.gate_monitor is True


def test_tuple_defaults_print_as_typed():
    text = " ".join(PARSERS["forecast"].format_help().split())
    combine = " ".join(forecast.ForecastConfig().combine)
    assert re.search(rf"--combine \[COMBINE \.\.\.\] [^(]*(\([^)]*\) )*\(default: {combine}\)",
                     text), text
    text = " ".join(PARSERS["memory"].format_help().split())
    default = memory.MemoryConfig()
    assert f"(default: {' '.join(map(str, default.lengths))})" in text
    shown = " ".join("on" if b else "off" for b in default.unit_forget_bias)
    assert f"(default: {shown})" in text


def test_a_tuple_option_takes_none_for_no_values():
    args = PARSERS["forecast"].parse_args(["--combine", "none", "--covariates", "none"])
    assert args.combine == [None] and args.covariates == [None]
    config = _config_args.config_from_args(forecast.ForecastConfig, args, verbose=0)
    assert (config.combine, config.covariates) == ((), ())
    args = PARSERS["memory"].parse_args(["--unit-forget-bias", "off", "on"])
    assert args.unit_forget_bias == [False, True]


# ---------------------------------------------- config errors name the options
@pytest.mark.parametrize(("argv", "message"), [
    (["forecast", "--horizon", "0"],
     "lstm-apps forecast: error: Received an invalid value for --horizon, expected an "
     "integer >= 1, got 0."),
    (["forecast", "--csv", "sales.csv"],
     "lstm-apps forecast: error: Received --csv sales.csv without --date-col and --target: "
     "both are needed to read a CSV (e.g. --date-col date --target sales)."),
    (["forecast", "--gate-monitor", "--cell", "gru"],
     "lstm-apps forecast: error: Received --gate-monitor with --cell gru: gate monitoring "
     "needs a cell that gate tracing covers (an lstm_apps cell or keras_lstm; not gru)."),
    (["forecast", "--gate-monitor", "--output-dir", "none"],
     "lstm-apps forecast: error: Received --gate-monitor with --output-dir none: the gate "
     "logs go to the run folder's tb/."),
    (["memory", "--lengths", "3"],
     "lstm-apps memory: error: Received an invalid value for --lengths, expected integers >= "
     "22 for the 'adding' task with --marker-window 10, got 3."),
])
def test_config_errors_name_the_options(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    assert capsys.readouterr().err.strip() == message


def test_cli_message_rewrites_only_the_options():
    names = ["fill", "gate_monitor", "output_dir", "covariates"]
    text = _config_args.cli_message(
        "Received `fill`='ffill' with `gate_monitor`=True, `output_dir`=None, "
        "`covariates`=('a', 'b'), `horizon`=3 and argument `fill`; `data` is fine.", names)
    assert text == ("Received --fill ffill with --gate-monitor, --output-dir none, "
                    "--covariates a b, `horizon`=3 and --fill; `data` is fine.")
    assert _config_args.cli_message("`gate_monitor`=False", names) == "--no-gate-monitor"


def test_config_errors_keep_their_type():
    from lstm_apps.commands._fields import config_class_fields

    names = [f.name for f in config_class_fields("lstm_apps.recipes.forecast", "ForecastConfig")]
    with pytest.raises(TypeError, match=r"^Received an invalid value for --horizon, ") as info:
        _config_args.build_config(forecast.ForecastConfig, {"horizon": "ten"}, names)
    assert type(info.value).__name__ in ("TypeError", "WrongTypeError")
