"""The building blocks of the specs: choice enums, range checks, and config → spec conversion.

A *spec* is a frozen dataclass that says what one part of a run is (the data, the model, the
inference, the output) in plain Python values, validated once when it is built. The Hydra
schema of a config group is derived from its spec (:func:`schema_for`), so every setting is
declared exactly once; :func:`from_node` turns a composed config node into the spec and
rejects any key the spec does not have (an appended ``+model.vcvo=hc1`` included), naming
the allowed ones.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import types
import typing
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from tradeq.errors import ConfigError


class Vcov(enum.StrEnum):
    iid = "iid"
    hc1 = "hc1"
    cluster = "cluster"
    twoway = "twoway"
    crv3 = "crv3"  # model=fe only: the leave-one-cluster-out jackknife (tradeq.specs.inference_clusters)


class InferenceKind(enum.StrEnum):
    fe = "fe"
    bayes = "bayes"
    both = "both"


class Backend(enum.StrEnum):
    numpyro = "numpyro"
    pymc = "pymc"


class Likelihood(enum.StrEnum):
    normal = "normal"
    student_t = "student_t"


class ParenStat(enum.StrEnum):
    se = "se"
    t = "t"


class CIMethod(enum.StrEnum):
    percentile = "percentile"
    bca = "bca"


class Tail(enum.StrEnum):
    none = "none"
    winsorize = "winsorize"
    trim = "trim"


class LagControls(enum.StrEnum):
    current = "current"
    lagged = "lagged"
    both = "both"


class PanelFormat(enum.StrEnum):
    parquet = "parquet"
    csv = "csv"
    dta = "dta"


def check(ok: bool, key: str, value: Any, requirement: str) -> None:
    """Raise ``ConfigError("key=value: requirement")`` unless ``ok``."""
    if not ok:
        raise ConfigError(f"{key}={_show(value)}: {requirement}")


def check_range(key: str, value: float | int | None, lo: float | None = None, hi: float | None = None, *,
                lo_open: bool = False, hi_open: bool = False, integer: bool = False) -> None:
    """``value`` lies in the interval (``None`` passes: an optional setting left unset)."""
    if value is None:
        return
    if integer and (isinstance(value, bool) or int(value) != value):
        raise ConfigError(f"{key}={_show(value)}: must be a whole number")
    above = lo is None or (value > lo if lo_open else value >= lo)
    below = hi is None or (value < hi if hi_open else value <= hi)
    if not (above and below):
        left = "" if lo is None else ("(" if lo_open else "[") + f"{lo:g}"
        right = "" if hi is None else f"{hi:g}" + (")" if hi_open else "]")
        where = f"in {left}, {right}" if lo is not None and hi is not None else (
            f"{'>' if lo_open else '≥'} {lo:g}" if lo is not None else f"{'<' if hi_open else '≤'} {hi:g}")
        raise ConfigError(f"{key}={_show(value)}: must be {where}")


def _show(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_show(v) for v in value) + "]"
    return "null" if value is None else str(value)


def names(value: Any) -> tuple[str, ...]:
    """A column setting given as one name or a list of names → a tuple of names."""
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


# ---------------------------------------------------------------------------------------
# Schemas derived from specs
# ---------------------------------------------------------------------------------------


def _is_spec(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _mutable_type(tp: Any) -> Any:
    """The annotation OmegaConf can hold for a spec's field type (tuples become lists)."""
    origin = typing.get_origin(tp)
    if origin is dict:  # OmegaConf cannot merge a mapping override into an Optional[Dict] that is None
        return Any
    if origin is tuple:
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        if args == [str]:  # column names: one name or a list (model.cluster=firm, model.controls=[a,b])
            return Any
        return list[_mutable_type(args[0])] if args and all(a == args[0] for a in args) else list[Any]
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1:
            return _mutable_type(inner[0]) | None if type(None) in args else _mutable_type(inner[0])
        return Any
    if _is_spec(tp):
        return schema_for(tp)
    return tp


_SCHEMAS: dict[type, type] = {}


def schema_for(spec: type) -> type:
    """A mutable dataclass with ``spec``'s fields and defaults (OmegaConf cannot override a frozen one)."""
    if spec in _SCHEMAS:
        return _SCHEMAS[spec]
    hints = typing.get_type_hints(spec)
    fields = []
    for f in dataclasses.fields(spec):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
        tp = _mutable_type(hints[f.name])
        if _is_spec(type(default)):
            default = _as_schema_instance(default)
            fields.append((f.name, tp, dataclasses.field(default_factory=lambda d=default: d)))
        elif isinstance(default, (tuple, list, dict)):
            value = list(default) if isinstance(default, tuple) else default
            fields.append((f.name, tp, dataclasses.field(default_factory=lambda v=value: type(v)(v))))
        else:
            fields.append((f.name, tp, dataclasses.field(default=default)))
    schema = dataclasses.make_dataclass(f"{spec.__name__}Config", fields)
    schema.__doc__ = spec.__doc__
    _SCHEMAS[spec] = schema
    return schema


def _as_schema_instance(value: Any) -> Any:
    schema = schema_for(type(value))
    kwargs = {}
    for f in dataclasses.fields(value):
        v = getattr(value, f.name)
        kwargs[f.name] = _as_schema_instance(v) if _is_spec(type(v)) else (list(v) if isinstance(v, tuple) else v)
    return schema(**kwargs)


# ---------------------------------------------------------------------------------------
# Config node → spec
# ---------------------------------------------------------------------------------------


def check_keys(node: DictConfig, spec: type, prefix: str, option: str | None = None) -> None:
    """Every key of ``node`` is a field of ``spec`` (recursively); else one error naming it."""
    allowed = [f.name for f in dataclasses.fields(spec)]
    hints = typing.get_type_hints(spec)
    for key in node.keys():
        key = str(key)
        if key not in allowed:
            close = difflib.get_close_matches(key, allowed, n=1)
            where = f"{prefix}={option}" if option else prefix
            hint = f" (did you mean {prefix}.{close[0]}?)" if close else ""
            raise ConfigError(f"{prefix}.{key} is not a setting of {where}{hint}; its settings are: {', '.join(allowed)}")
        sub = node._get_node(key)
        tp = hints[key]
        nested = next((a for a in (tp, *typing.get_args(tp)) if _is_spec(a)), None)
        if nested is not None and isinstance(sub, DictConfig) and not sub._is_none():
            check_keys(sub, nested, f"{prefix}.{key}")


def _plain(value: Any) -> Any:
    if isinstance(value, (DictConfig, ListConfig)):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _convert(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        inner = [a for a in typing.get_args(tp) if a is not type(None)]
        return _convert(inner[0], value, key) if len(inner) == 1 else value
    if value is None:  # a list setting left empty (model.cluster=null) is the empty tuple
        return () if origin is tuple else None
    if origin is tuple:
        args = [a for a in typing.get_args(tp) if a is not Ellipsis]
        item = args[0] if args else Any
        if isinstance(value, str):  # a column setting given as one name: model.cluster=firm
            value = [value]
        return tuple(_convert(item, v, key) for v in value)
    if _is_spec(tp):
        try:
            return build(tp, value, key)
        except ConfigError:
            raise
        except ValueError as err:  # a record that validates itself (the simulator's parameters)
            raise ConfigError(f"{key}: {err}") from None
    if isinstance(tp, type) and issubclass(tp, enum.Enum) and not isinstance(value, tp):
        return tp(value)
    return value


def build(spec: type, values: Any, prefix: str) -> Any:
    """The frozen ``spec`` from a plain mapping (nested specs built recursively).

    Values are converted by the field's type (a name where a tuple of names is expected
    becomes a one-name tuple, strings become enum members); the spec's ``__post_init__``
    validates.
    """
    values = dict(_plain(values) or {})
    hints = typing.get_type_hints(spec)
    kwargs = {f.name: _convert(hints[f.name], values[f.name], f"{prefix}.{f.name}")
              for f in dataclasses.fields(spec) if f.name in values}
    return spec(**kwargs)


def from_node(node: DictConfig, spec: type, prefix: str, option: str | None = None) -> Any:
    """Check the node's keys against ``spec`` and build it (see the module docstring)."""
    check_keys(node, spec, prefix, option)
    return build(spec, node, prefix)
