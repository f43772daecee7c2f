"""The command line around Hydra: quoted formulas in, one ``error:`` line out.

:func:`run` wraps an entry point's ``@hydra.main`` function. It quotes formula overrides
(Hydra's grammar rejects ``(``, ``*``, ``|`` and spaces unquoted), lets Hydra raise instead of
printing its own report (``HYDRA_FULL_ERROR=1``), and turns every error a user can cause —
:class:`tradeq.errors.TradeqError`, a Hydra or OmegaConf configuration error, a missing
launcher plugin, a run folder that cannot be written — into one line on stderr starting
``error:``, exit status 2, no traceback. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import yaml
from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf.errors import OmegaConfBaseException

from tradeq.errors import TradeqError

log = logging.getLogger("tradeq")

# key=value overrides whose value is a formula: "model.formula=y ~ x + I(x**2) | f" after the shell
# has removed the user's quotes. Hydra's grammar rejects (, *, | and spaces unquoted.
_FORMULA_OVERRIDE = re.compile(r"^(?P<key>[+~]{0,2}[\w.]*formula)=(?P<value>.*)$", re.S)

#: Hydra launcher plugins by config name, and the package that provides each.
LAUNCHER_PACKAGES = {
    "submitit_local": "hydra-submitit-launcher",
    "submitit_slurm": "hydra-submitit-launcher",
    "slurm": "hydra-submitit-launcher",
    "ray": "hydra-ray-launcher",
    "joblib": "hydra-joblib-launcher",
}


def quote_formula_overrides(argv: list[str]) -> list[str]:
    """Wrap unquoted formula values in single quotes so Hydra reads them as one string.

    ``model.formula=y ~ x | f`` → ``model.formula='y ~ x | f'``; values already quoted
    (``'...'`` or ``"..."``) pass through unchanged.
    """
    out = []
    for arg in argv:
        m = _FORMULA_OVERRIDE.match(arg)
        value = m.group("value") if m else ""
        if m and value and not (value[0] == value[-1] and value[0] in "'\"" and len(value) > 1):
            arg = f"{m.group('key')}='" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
        out.append(arg)
    return out


def _one_line(text: str) -> str:
    parts = [p.strip() for p in str(text).splitlines() if p.strip()]
    parts = [p for p in parts if not p.startswith(("full_key:", "object_type=", "reference_type="))]
    return "; ".join(parts)


def describe_config_error(err: BaseException) -> str:
    """One line for a Hydra/OmegaConf composition error, naming the setting."""
    cause = err.__cause__ if isinstance(err.__cause__, OmegaConfBaseException) else err
    key = getattr(cause, "full_key", None)
    schema = getattr(cause, "object_type", None)
    name = type(cause).__name__
    if name in ("ConfigAttributeError", "ConfigKeyError") and key and schema is not None:
        import dataclasses

        fields = [f.name for f in dataclasses.fields(schema)] if dataclasses.is_dataclass(schema) else []
        group = key.rsplit(".", 1)[0]
        return (f"{key} is not a setting of {_chosen(group)}"
                + (f"; its settings are: {', '.join(fields)}" if fields else ""))
    if isinstance(err, OverrideParseException):
        override = getattr(err, "override", None) or _one_line(err).split(";")[0].split(": ", 1)[-1]
        key, _, val = str(override).partition("=")
        return (f"cannot read the override {override!r}: quote a value with spaces or symbols inside the "
                f"argument, e.g. '{key}=\"{val}\"'")
    if isinstance(err, MissingConfigException):
        text = _missing_option(err)
        match = re.search(r"hydra/launcher/(\w+)", text)
        if match and match.group(1) in LAUNCHER_PACKAGES:
            text += f" (the launcher is a plugin: pip install {LAUNCHER_PACKAGES[match.group(1)]})"
        return text
    message = _one_line(cause)
    if key and not message.startswith(key):
        message = f"{key}: {message}"
    return message


def _chosen(group: str) -> str:
    """``group=<option>`` as the command line chose it, else the entry point's default option."""
    for arg in reversed(sys.argv[1:]):
        if arg.startswith(f"{group}="):
            return arg
    script = Path(sys.argv[0]).resolve()
    try:
        defaults = yaml.safe_load((script.parent / "conf" / f"{script.stem}.yaml").read_text()).get("defaults", [])
    except (OSError, yaml.YAMLError, AttributeError):
        return group
    option = next((d[group] for d in defaults if isinstance(d, dict) and group in d), None)
    return f"{group}={option}" if option else group


class _WithoutHydraJobLine:
    """stderr without Hydra's "Error executing job with overrides" line: the error is reported once, here."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        if text.startswith("Error executing job with overrides:"):
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name):
        return getattr(self._stream, name)


def _missing_option(err: MissingConfigException) -> str:
    """"Could not find 'model/nope'; available options in 'model': fe, lags, ..." (schemas left out)."""
    text = str(err).split("Config search path", 1)[0]
    head, _, options = text.partition("Available options in")
    head = _one_line(head).removeprefix("In 'estimate': ").removeprefix("In 'simulate': ").rstrip(";")
    if not options:
        return head
    group, _, listed = options.partition(":")
    names = [o.strip() for o in listed.split() if o.strip() and not o.strip().startswith("base_")]
    return f"{head}; available options in {group.strip()}: {', '.join(names)}"


def _log_to_file(message: str) -> None:
    """Put the error in the run's log file too (the console gets it once, on stderr)."""
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.emit(logging.makeLogRecord({"name": "tradeq", "levelno": logging.ERROR, "levelname": "ERROR",
                                                "msg": message}))


_UNKNOWN_PLUGIN = re.compile(r"Unknown plugin class : '(hydra_plugins\.(\w+)\.[\w.]+)'")


def _missing_plugin(err: RuntimeError) -> str | None:
    """The line for a launcher config whose plugin is not installed (Hydra's "Unknown plugin class")."""
    match = _UNKNOWN_PLUGIN.search(str(err))
    if not match:
        return None
    package = match.group(2).replace("_", "-")
    chosen = next((a for a in sys.argv[1:] if a.startswith("hydra/launcher=")), "the launcher")
    return f"{chosen} needs its plugin, which is not installed: pip install {package}"


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A Python warning as one ``warning:`` line on the console and in the run's log (no source line)."""
    log.warning("warning: %s", str(message).strip().splitlines()[0] if str(message).strip() else category.__name__)


def fail(message: str) -> int:
    _log_to_file(message)
    print(f"error: {message}", file=sys.stderr)
    return 2


def run(main: Callable[[], None]) -> int:
    """Run a ``@hydra.main`` function as a command (module docstring); return the exit status."""
    os.environ["HYDRA_FULL_ERROR"] = "1"
    sys.argv = quote_formula_overrides(sys.argv)
    stderr, sys.stderr = sys.stderr, _WithoutHydraJobLine(sys.stderr)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_warning
            main()
    except TradeqError as err:
        return fail(str(err))
    except (HydraException, OmegaConfBaseException) as err:
        return fail(describe_config_error(err))
    except (PermissionError, NotADirectoryError, FileExistsError, IsADirectoryError) as err:  # the run folder
        return fail(f"cannot write {err.filename or 'the run folder'}: {err.strerror} (choose another hydra.run.dir)")
    except RuntimeError as err:
        from tradeq.models.bayes.diagnostics import ConvergenceError  # only on this path: numpyro is heavy

        if isinstance(err, ConvergenceError):  # inference.fail_on_warning=true asked for it
            return fail(f"{err} (inference.fail_on_warning=true)")
        plugin = _missing_plugin(err)
        if plugin is None:
            raise
        return fail(plugin)
    except KeyboardInterrupt:
        print("interrupted: the run folder keeps the last complete set of files", file=sys.stderr)
        return 130
    finally:
        sys.stderr = stderr
    return 0


def show(table: str, console: str, run_dir) -> None:
    """What the console shows after a run (also written to the run's log)."""
    log.info("%s", table.rstrip("\n"))
    if console:
        log.info("%s", console)
    log.info("outputs written to %s", run_dir)
