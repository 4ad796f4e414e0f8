"""Where a policy's test cases live, and how they are read.

The cases of ``policies/NAME.yaml`` are in ``policies/tests/NAME/``, in two forms:

* a **folder** per case::

      policies/tests/default/small-sample/
          args.yaml       # optional: sample, seed, input, key, ignore, description
          input.json      # the document (or input.yaml; or `sample:` in args.yaml;
                          #   or `input: PATH` relative to the folder)
          expected.json   # the whole expected result (or expected.yaml), or
          error.txt       # text the error message must contain

* a **YAML file** (``*.yaml``) holding one case or a list of them, in the format of
  ``learnexport.cases`` (``given``/``expect``/``error``/``ignore``/``key``), plus
  ``sample: SIZE`` and ``seed: N`` in place of ``given``. A case with its own ``rule`` or
  ``rules`` tests those instead of the policy (and counts for no rule's coverage).

``sample: small`` (with ``seed``, default 0) is the collected document of a generated
sample project, made deterministic (``samples``). Unknown keys are errors.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import docio, yamlsafe
from ..errors import LearnexportError, Location, did_you_mean

ARGS_KEYS = ("description", "sample", "seed", "input", "key", "ignore")
CASE_KEYS = ("name", "description", "rule", "rules", "unmatched", "stamp", "key", "given",
             "sample", "seed", "expect", "error", "ignore")
INPUTS = ("input.json", "input.yaml")
EXPECTED = ("expected.json", "expected.yaml")
ERROR = "error.txt"


@dataclass(frozen=True)
class CaseSpec:
    name: str
    source: str  # the folder, or file:line of the case in a YAML file
    case: dict[str, Any]  # in the format of learnexport.cases (``sample`` not yet made)
    problem: str | None = None  # the case cannot be read: it fails with this
    expected_file: Path | None = None  # where --update writes (folder cases without
    #                                    error.txt); a case with neither is incomplete


def tests_folder(policy_path: Path) -> Path:
    return policy_path.parent / "tests" / policy_path.stem


def discover(policy_path: Path) -> list[CaseSpec]:
    folder = tests_folder(policy_path)
    if not folder.is_dir():
        return []
    out: list[CaseSpec] = []
    for entry in sorted(folder.iterdir()):
        if entry.is_dir():
            out.append(folder_case(entry))
        elif entry.suffix in (".yaml", ".yml"):
            out.extend(yaml_cases(entry))
    return out


def _failed(name: str, source: str, problem: str) -> CaseSpec:
    return CaseSpec(name, source, {}, problem)


def _unknown(keys: Any, allowed: tuple[str, ...]) -> str | None:
    for key in keys:
        if key not in allowed:
            return (f"unknown key '{key}'{did_you_mean(str(key), allowed)}; a case takes "
                    f"{', '.join(allowed)}")
    return None


def _read(path: Path) -> Any:
    return docio.read_document(str(path))


def folder_case(folder: Path) -> CaseSpec:
    name, source = folder.name, str(folder)
    try:
        args = _args(folder)
        case: dict[str, Any] = {k: v for k, v in args.items() if k in ("key", "ignore",
                                                                       "sample", "seed")}
        inputs = [folder / n for n in INPUTS if (folder / n).exists()]
        given = len(inputs) + ("sample" in args) + ("input" in args)
        if given != 1:
            return _failed(name, source, "give the input once: input.json, input.yaml, "
                           "`sample:` or `input:` in args.yaml" + (" (found several)"
                                                                   if given else ""))
        if inputs or "input" in args:
            case["given"] = _read(inputs[0] if inputs else folder / str(args["input"]))
        expected = [folder / n for n in EXPECTED if (folder / n).exists()]
        if (folder / ERROR).exists():
            if expected:
                return _failed(name, source, f"give {ERROR} or an expected result, not both")
            case["error"] = (folder / ERROR).read_text("utf-8").strip()
            return CaseSpec(name, source, case)
        if len(expected) > 1:
            return _failed(name, source, "give expected.json or expected.yaml, not both")
        if expected:
            case["expect"] = _read(expected[0])
        return CaseSpec(name, source, case, None, expected[0] if expected
                        else folder / EXPECTED[0])
    except LearnexportError as exc:
        return _failed(name, source, exc.render())


def _load_yaml(path: Path) -> tuple[Any, yamlsafe.Marks]:
    try:
        return yamlsafe.load(path.read_bytes(), str(path))
    except yamlsafe.YamlProblem as exc:
        raise LearnexportError(str(exc), hint=exc.hint,
                               location=Location(str(path), exc.line, exc.column)) from None
    except OSError as exc:
        raise LearnexportError(f"cannot be read: {exc.strerror}",
                               location=Location(str(path))) from None


def _args(folder: Path) -> dict[str, Any]:
    path = folder / "args.yaml"
    if not path.exists():
        return {}
    args, _ = _load_yaml(path)
    args = args or {}
    if not isinstance(args, dict):
        raise LearnexportError("is not a mapping of arguments", location=Location(str(path), 1))
    problem = _unknown(args, ARGS_KEYS)
    if problem:
        raise LearnexportError(problem, location=Location(str(path)))
    return args


def yaml_cases(path: Path) -> list[CaseSpec]:
    try:
        data, marks = _load_yaml(path)
    except LearnexportError as exc:
        return [_failed(path.stem, str(path), exc.render())]
    items = data if isinstance(data, list) else [data]
    out = []
    for number, item in enumerate(items, 1):
        where = (number - 1,) if isinstance(data, list) else ()
        source = f"{path}:{marks.at(where).line}"
        if not isinstance(item, dict):
            out.append(_failed(f"{path.stem}#{number}", source, "a case is a mapping"))
            continue
        name = str(item.get("name") or f"{path.stem}#{number}")
        problem = _unknown(item, CASE_KEYS)
        if problem is None and ("given" in item) == ("sample" in item):
            problem = "give the input once: `given:` or `sample:`"
        if problem is None and ("expect" in item) == ("error" in item):
            problem = "give `expect:` or `error:` (one of them)"
        out.append(CaseSpec(name, source, item, problem))
    return out
