"""Load rule files; a schema or expression error names the file and the line."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ValidationError

from huiqi.core.periods import Period, PeriodError
from huiqi.rules.model import Measure, Parameter, RuleFile

RULES_DIR = Path(__file__).parent / "files"


class RuleFileError(ValueError):
    def __init__(self, path: Path, line: int | None, message: str):
        self.path, self.line, self.message = path, line, message
        where = f"{path.name}:{line}" if line else path.name
        super().__init__(f"{where}: {message}")


def _line_of(node: yaml.Node, loc: tuple) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location."""
    line = node.start_mark.line + 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


_CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class LoadedFile:
    path: Path
    rules: RuleFile
    node: yaml.Node | None  # to report lines for later (expression, lint) errors; None: composed from text when asked
    digest: str
    text: str | None = None  # the file as loaded (the rule cache keeps it instead of the node tree)

    @property
    def tree(self) -> yaml.Node:
        """The YAML node tree. From the rule cache it is composed on the first error message that needs a line
        (libyaml's C parser gives the same line marks): composing all files at every start was ~0.1–0.3 s (START-3)."""
        if self.node is not None:
            return self.node
        tree = self.__dict__.get("_tree")
        if tree is None:
            tree = yaml.compose(self.text, Loader=_CLoader)
            object.__setattr__(self, "_tree", tree)  # frozen: a memo, not a field
        return tree

    def line(self, *loc) -> int | None:
        return _line_of(self.tree, loc)

    def measure_line(self, measure_id: str, *loc) -> int | None:
        index = next(i for i, m in enumerate(self.rules.measures) if m.id == measure_id)
        return self.line("measures", index, *loc)


def read_validated(path: Path, model: type[BaseModel]) -> tuple[BaseModel, yaml.Node]:
    """A YAML file validated against ``model``, with its node tree (for line numbers in later errors). A syntax or
    schema error names the file and the line."""
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise RuleFileError(path, mark.line + 1 if mark else None, f"YAML 格式错误：{e}") from None
    try:
        return model.model_validate(data), node
    except ValidationError as e:
        err = e.errors()[0]
        loc = tuple(err["loc"])
        where = ".".join(map(str, loc))
        raise RuleFileError(path, _line_of(node, loc), f"{where}: {err['msg']}") from None


def load_file(path: Path) -> LoadedFile:
    rules, node = read_validated(path, RuleFile)
    _check_periods(path, node, rules)
    text = path.read_text(encoding="utf-8")
    return LoadedFile(path, rules, node, hashlib.sha256(text.encode("utf-8")).hexdigest())


def _check_periods(path: Path, node: yaml.Node, rules: RuleFile) -> None:
    """Every ``periods`` entry must be a period the one Period type reads (the schema only says "a string"):
    a typo such as 2024Q5 or 2204Q4 would otherwise make a measure silently apply to no data."""
    places = [(("defaults", "periods"), rules.defaults.periods)]
    places += [(("measures", i, "periods"), m.periods or []) for i, m in enumerate(rules.measures)]
    for loc, periods in places:
        for j, text in enumerate(periods):
            try:
                Period.parse(text)
            except PeriodError as e:
                raise RuleFileError(path, _line_of(node, (*loc, j)), f"{'.'.join(map(str, loc))}: {e}") from None


@dataclass(frozen=True)
class RuleSource:
    """All rule files, with a version hash that changes whenever any rule file changes."""

    files: tuple[LoadedFile, ...]

    @property
    def version(self) -> str:
        h = hashlib.sha256()
        for f in self.files:
            h.update(f.path.name.encode())
            h.update(f.digest.encode())
        return h.hexdigest()[:16]

    def measures(self) -> list[tuple[Measure, LoadedFile]]:
        return [(m, f) for f in self.files for m in f.rules.measures]

    def parameters(self) -> dict[str, tuple[Parameter, LoadedFile]]:
        out: dict[str, tuple[Parameter, LoadedFile]] = {}
        for f in self.files:
            for p in [*f.rules.parameters, *(p for m in f.rules.measures for p in m.parameters)]:
                if p.name in out:
                    raise RuleFileError(f.path, None, f"参数名 {p.name} 重复（已在 {out[p.name][1].path.name} 中定义）")
                out[p.name] = (p, f)
        return out


def load_rules(directory: Path = RULES_DIR) -> RuleSource:
    files = tuple(load_file(p) for p in sorted(directory.glob("*.yaml")))
    seen: dict[str, Path] = {}
    for f in files:
        for m in f.rules.measures:
            if m.id in seen:
                raise RuleFileError(f.path, f.measure_line(m.id), f"措施编号 {m.id} 重复（已在 {seen[m.id].name}）")
            seen[m.id] = f.path
    return RuleSource(files)


@lru_cache(maxsize=1)
def default_rules() -> RuleSource:
    from huiqi.rules.cache import load  # validated once per content of the rule files, then unpickled

    return load()[0]
