"""One dataclass -> argparse builder for every `lstm-apps` subcommand.

Each field of a recipe's config becomes one option, in one way everywhere:

- the flag is the field's name in kebab case (`max_len` -> `--max-len`), the
  placeholder its name in upper case (`--max-len MAX_LEN`), or the choices
  (`--pooling {max,mean,max_mean,last}`);
- `bool` fields are switches (`--plots/--no-plots`), tuples take several
  values (`--covariates price promo`; `none` alone: empty), and `X | None`
  fields also take `none`;
- the help text ends with the default, printed as it is typed: `none`,
  `on`/`off` for a switch, several values separated by spaces;
- a field named `verbose` is Keras's training output, `--verbose {0,1,2}`, in
  every command (the top-level `-v` is logging, a separate option).

`build_config` then creates the config and, when the config's own checks
reject a value, says so with the option (`--fill ffill`), not the field
(`fill='ffill'`).
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "NONE",
    "VERBOSE_HELP",
    "add_config_arguments",
    "build_config",
    "cli_message",
    "config_from_args",
    "deprecated_alias",
    "flag",
    "format_default",
    "none_or",
    "number",
    "on_off",
]

#: How every option spells "no value".
NONE = "none"
#: Help of the training-output option (a config's `verbose` field).
VERBOSE_HELP = "Keras training output: 0 none, 1 progress bar, 2 one line per epoch"
#: The metadata key of `lstm_apps.recipes._base.RUN_SETTING` (not imported: --help
#: loads no recipe module).
_RUN_SETTING = "run_setting"


def flag(name: str) -> str:
    """The option of config field `name`: `max_len` -> `--max-len`."""
    return "--" + name.replace("_", "-")


def format_default(value: Any) -> str:
    """A default as the user would type it: `none`, `on`/`off`, values separated by spaces."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, (tuple, list)):
        return " ".join(format_default(v) for v in value) or NONE
    if isinstance(value, Path):
        return value.as_posix()
    return str(value)


def none_or(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse `type` that reads `none` as None and anything else with `kind`."""

    def parse(text: str) -> Any:
        return None if text.lower() == NONE else kind(text)

    parse.__name__ = getattr(kind, "__name__", "value")
    return parse


def number(text: str) -> int | float:
    """An int when the text is an integer literal (a count), else a float (a fraction)."""
    try:
        return int(text)
    except ValueError:
        return float(text)


def on_off(text: str) -> bool:
    """An argparse `type` for one switch value among several: on/off (true/false, 1/0, yes/no)."""
    value = text.lower()
    if value in ("on", "true", "1", "yes"):
        return True
    if value in ("off", "false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}")


on_off.__name__ = "on/off"


class _Switch(argparse.BooleanOptionalAction):
    """`--name/--no-name` whose help is ours (Python 3.11's adds "(default: True)")."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        text = kwargs.get("help")
        super().__init__(*args, **kwargs)
        self.help = text


class _DeprecatedAlias(argparse.Action):
    """An old spelling: stores into the new option's dest and says it is deprecated."""

    def __init__(self, *args: Any, new: str, **kwargs: Any) -> None:
        self.new = new
        super().__init__(*args, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        print(f"{parser.prog}: warning: {option_string} is deprecated; use {self.new}",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def deprecated_alias(parser: argparse.ArgumentParser | Any, old: str, new: str) -> None:
    """Adds `old` as a hidden, deprecated spelling of the option `new` (same values)."""
    action = next(a for a in parser._actions if new in a.option_strings)
    parser.add_argument(
        old, dest=action.dest, type=action.type, choices=action.choices, nargs=action.nargs,
        default=argparse.SUPPRESS, help=argparse.SUPPRESS, action=_DeprecatedAlias, new=new,
    )


def _annotation(field: dataclasses.Field) -> tuple[str, bool]:
    """(the annotation without `None`, whether `None` is allowed), from the string form."""
    text = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    parts = [p.strip() for p in text.split("|")]
    return "|".join(p for p in parts if p != "None"), "None" in parts


def _default(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def _options(field: dataclasses.Field) -> dict[str, Any]:
    """The `add_argument` keywords of one field (before the command's overrides)."""
    base, optional = _annotation(field)
    meta = field.metadata
    options: dict[str, Any] = {"metavar": field.name.upper()}
    if base == "bool":
        return {"action": _Switch}
    if base.startswith("tuple["):
        item = base[len("tuple["):].split(",")[0].strip()
        kind = {"int": int, "float": float, "bool": on_off}.get(item, str)
        options.update(nargs="*", type=none_or(kind))  # `none` alone: no values
    elif base == "int":
        options["type"] = int
    elif base == "float":
        options["type"] = float
    elif base in ("int|float", "float|int"):
        options["type"] = number
    else:
        options["type"] = str
    if optional and "nargs" not in options:
        options["type"] = none_or(options["type"])
    if field.name == "verbose":
        options.update(type=int, choices=(0, 1, 2), help=VERBOSE_HELP)
    if "choices" in meta:
        options["choices"] = list(meta["choices"])
    if "choices" in options:
        options.pop("metavar")
        if options["type"] is str:
            options.pop("type")
    return options


def add_config_arguments(
    parser: argparse.ArgumentParser | Any,
    fields: Iterable[dataclasses.Field],
    *,
    skip: Iterable[str] = (),
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
    dest_prefix: str = "",
    suppress_defaults: bool = False,
) -> None:
    """Adds one option per config field (help from the field's `help` metadata).

    The fields of the run itself (those of `lstm_apps.recipes._base.RunConfig`,
    marked `run_setting` in their metadata, which a dataclass puts first) come
    after the recipe's own, in their order.

    Args:
        parser: The parser or argument group.
        fields: The config's `dataclasses.fields` (`_fields.config_class_fields`).
        skip: Fields that get no option.
        overrides: Field -> `add_argument` keywords that replace the built ones;
            `shown_default` sets the default printed in the help (default: the
            option's default).
        dest_prefix: Prefix of each option's `dest` (the field's name).
        suppress_defaults: Leave fields not given out of the namespace (the
            config's default, or a saved config's value, applies); the help
            still prints the config's default.
    """
    skip, overrides = set(skip), overrides or {}
    for field in sorted(fields, key=lambda f: bool(f.metadata.get(_RUN_SETTING))):
        if field.name in skip:
            continue
        options = _options(field)
        options.setdefault("help", field.metadata.get("help", ""))
        options["default"] = _default(field)
        options.update(overrides.get(field.name, {}))
        shown = format_default(options.pop("shown_default", options["default"]))
        text = options["help"]
        if "(default" not in text:
            options["help"] = f"{text} (default: {shown})" if text else f"(default: {shown})"
        if suppress_defaults:
            options["default"] = argparse.SUPPRESS
        parser.add_argument(flag(field.name), dest=dest_prefix + field.name, **options)


_VALUE = r"'[^']*'|\"[^\"]*\"|True|False|None|\([^()]*\)|\[[^\[\]]*\]|[-+]?[\w.]+"


def cli_message(text: str, names: Iterable[str] | Mapping[str, str]) -> str:
    """A config error in the command line's words.

    `` `fill`='x' `` becomes `--fill x`, `` `gate_monitor`=True `` `--gate-monitor`,
    `` argument `fill` `` and `` `fill` `` `--fill`. Only the fields in `names` (those that are
    options) are rewritten; a mapping gives each name its option where the two differ
    (`{"seed": "--search-seed"}`).
    """
    options = (dict(names) if isinstance(names, Mapping)
               else {name: flag(name) for name in names})
    names = set(options)

    def assignment(match: re.Match[str]) -> str:
        name, value = match.group(1), match.group(2)
        if name not in names:
            return match.group(0)
        if value == "True":
            return options[name]
        if value == "False":
            return "--no-" + options[name][2:]
        try:
            parsed = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            parsed = value
        return f"{options[name]} {format_default(parsed)}"

    def mention(match: re.Match[str]) -> str:
        return options[match.group(1)] if match.group(1) in names else match.group(0)

    text = re.sub(rf"`(\w+)`\s*=\s*({_VALUE})", assignment, text)
    text = re.sub(r"argument `(\w+)`", lambda m: mention(m) if m.group(1) in names
                  else m.group(0), text)
    return re.sub(r"`(\w+)`", mention, text)


def build_config(config_cls: type, values: Mapping[str, Any],
                 names: Iterable[str] | None = None) -> Any:
    """`config_cls(**values)`; a ValueError/TypeError of its checks names the options.

    Args:
        names: The fields that are options of the command (default: all).
    """
    try:
        return config_cls(**values)
    except (ValueError, TypeError) as error:
        if names is None:
            names = [f.name for f in dataclasses.fields(config_cls)]
        raise reworded(error, names) from None


def reworded(error: ValueError | TypeError,
             names: Iterable[str] | Mapping[str, str]) -> ValueError | TypeError:
    """`error` again, its message in the command line's words (see `cli_message`).

    The exception keeps its type where it can (a `TypeError` that is also a
    `ValueError` stays one), else becomes a plain `ValueError` / `TypeError`.
    """
    message = cli_message(str(error), names)
    try:
        return type(error)(message)
    except Exception:  # noqa: BLE001  (a type that takes other arguments)
        return (ValueError if isinstance(error, ValueError) else TypeError)(message)


def config_from_args(config_cls: type, args: argparse.Namespace, *, dest_prefix: str = "",
                     **extra: Any) -> Any:
    """Builds a config from the parsed options (plus `extra` fields), see `build_config`.

    Lists become tuples; in a tuple field, `none` stands for no value.
    """
    values: dict[str, Any] = {}
    for field in dataclasses.fields(config_cls):
        dest = dest_prefix + field.name
        if field.name in extra or not hasattr(args, dest):
            continue
        value = getattr(args, dest)
        if isinstance(value, (list, tuple)):
            value = tuple(v for v in value
                          if v is not None and not (isinstance(v, str) and v.lower() == NONE))
        values[field.name] = value
    names = [n for n in values if n not in extra]
    return build_config(config_cls, {**values, **extra}, names)
