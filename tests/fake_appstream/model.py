"""The AppStream API model subset, read at run time from the project's test data.

The model is loaded from ``$TEST_DATA_DIR/appstream`` when ``TEST_DATA_DIR`` is set (CMake
and ``scripts/test`` set it), else from ``tests/data/appstream`` in this tree
(tests/data/README.md says where it comes from). Should that file be missing, the simulator
reads the same operations from Debian's botocore, whose AppStream model the subset was taken
from.

Input validation follows what the Coral framework does in front of a JSON 1.1 service:
a value of the wrong JSON type is a ``SerializationException`` (the request cannot be
deserialised into the model's types), while a well-typed value that breaks a constraint
(required, length, range, enum, pattern) is a ``ValidationException`` listing every
violation with the member path in lower camel case (``names.1.member``). A value that
is not a string is shown as Java shows it (``[a, b]``, ``{k=v}``). A map's keys and values
are judged together, as Coral does: one violation for all its bad keys (``Map keys must
satisfy constraint: [...]``) and one for all its bad values (``Map value must satisfy
constraint: [...]``), the value shown being the whole map.

Patterns are the model's Java regular expressions. The Unicode classes they use
(``\\p{L}``, ``\\p{Z}``, ``\\p{N}`` in the tag shapes, or any other general category)
are spelled out as code point ranges from Python's Unicode database, so a tag key such as
``aws:x`` or ``a*b`` is refused exactly as the model says.
"""

import functools
import json
import os
import pathlib
import re
import sys
import unicodedata

from .errors import ApiError, validation


def data_dir():
    """The directory holding the test data from outside the project (tests/data)."""
    env = os.environ.get("TEST_DATA_DIR")
    if env:
        return pathlib.Path(env)
    return pathlib.Path(__file__).resolve().parents[1] / "data"


def _botocore_model():
    import botocore.loaders

    return botocore.loaders.Loader().load_service_model("appstream", "service-2")


def _lower_camel(name):
    return name[:1].lower() + name[1:]


def _json_type(value):
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "structure or map"


@functools.lru_cache(maxsize=None)
def _category_ranges():
    """General category (one letter and two letters) -> code point ranges, in order."""
    ranges = {}
    for code in range(sys.maxunicode + 1):
        full = unicodedata.category(chr(code))
        for category in (full[0], full):
            spans = ranges.setdefault(category, [])
            if spans and spans[-1][1] == code - 1:
                spans[-1][1] = code
            else:
                spans.append([code, code])
    return ranges


def _category_class(category):
    """The members of a Unicode general category, as the inside of a character class."""
    spans = _category_ranges().get(category)
    if spans is None:
        raise re.error(f"unknown Unicode category {category!r}")

    def char(code):
        return f"\\U{code:08x}"

    return "".join(char(a) if a == b else f"{char(a)}-{char(b)}" for a, b in spans)


_UNICODE_CLASS = re.compile(r"\\(\\|p\{(\w+)\})")


def _java_to_python(pattern):
    """Java's \\p{X} general categories spelled out; the rest reads the same in Python."""
    out, pos, depth = [], 0, 0
    for match in _UNICODE_CLASS.finditer(pattern):
        before = pattern[pos:match.start()]
        out.append(before)
        depth += _class_depth(before)
        pos = match.end()
        if match.group(2) is None:
            out.append(match.group(0))
            continue
        inner = _category_class(match.group(2))
        out.append(inner if depth > 0 else f"[{inner}]")
    out.append(pattern[pos:])
    return "".join(out)


def _class_depth(text):
    """How many character classes text opens minus those it closes (escapes skipped)."""
    depth, escaped = 0, False
    for ch in text:
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
    return depth


def _compile_pattern(pattern):
    try:
        return re.compile(_java_to_python(pattern) if "\\p{" in pattern else pattern)
    except re.error:
        # A construct Java has and Python lacks: the shape's pattern is not checked.
        return None


def _java_text(value):
    """A value as Java's toString shows it in Coral's messages."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_java_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_java_text(v) for v in value) + "]"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class ApiModel:
    """Operations and shapes of the reference model, with validation helpers."""

    def __init__(self, path=None):
        path = pathlib.Path(path) if path else data_dir() / "appstream" / "image-builder-api.json"
        if path.exists() or os.environ.get("TEST_DATA_DIR"):
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        else:
            data = _botocore_model()
        self.metadata = data["metadata"]
        self.operations = data["operations"]
        self.shapes = data["shapes"]
        self._patterns = {}

    def input_shape(self, operation):
        return self.operations[operation]["input"]["shape"]

    def output_shape(self, operation):
        return self.operations[operation]["output"]["shape"]

    def errors(self, operation):
        """Error codes the model lists for an operation."""
        return [e["shape"] for e in self.operations[operation].get("errors", [])]

    def validate_input(self, operation, params):
        """Raise ApiError unless params deserialise into, and satisfy, the input shape."""
        if not isinstance(params, dict):
            raise ApiError(
                "SerializationException",
                f"Start of {_json_type(params)} found where a structure was expected.",
            )
        problems = []
        self._check(self.input_shape(operation), params, "", problems)
        if problems:
            raise validation(problems)

    def _pattern(self, shape_name, pattern):
        if shape_name not in self._patterns:
            self._patterns[shape_name] = _compile_pattern(pattern)
        return self._patterns[shape_name]

    def _check(self, shape_name, value, path, problems):
        shape = self.shapes[shape_name]
        kind = shape["type"]
        checker = getattr(self, "_check_" + kind, None)
        if checker is None:
            return
        checker(shape_name, shape, value, path, problems)

    def _type_error(self, expected, value, path):
        return ApiError(
            "SerializationException",
            f"Unexpected {_json_type(value)} value at '{path or 'request'}': "
            f"expected {expected}.",
        )

    def _check_structure(self, shape_name, shape, value, path, problems):
        if not isinstance(value, dict):
            raise self._type_error("a structure", value, path)
        for member in shape.get("required", []):
            if value.get(member) is None:
                member_path = f"{path}.{_lower_camel(member)}" if path else _lower_camel(member)
                problems.append(
                    f"Value null at '{member_path}' failed to satisfy constraint: "
                    "Member must not be null"
                )
        for member, spec in shape["members"].items():
            if value.get(member) is None:
                continue
            member_path = f"{path}.{_lower_camel(member)}" if path else _lower_camel(member)
            self._check(spec["shape"], value[member], member_path, problems)

    def _check_list(self, shape_name, shape, value, path, problems):
        if not isinstance(value, list):
            raise self._type_error("a list", value, path)
        self._check_length(shape, len(value), value, path, problems)
        for i, item in enumerate(value, start=1):
            self._check(shape["member"]["shape"], item, f"{path}.{i}.member", problems)

    def _check_map(self, shape_name, shape, value, path, problems):
        if not isinstance(value, dict):
            raise self._type_error("a map", value, path)
        self._check_length(shape, len(value), value, path, problems)
        bad_keys, bad_values = [], []
        for key, item in value.items():
            for found, side, item_path, member in ((bad_keys, "key", f"{path}.key", key),
                                                   (bad_values, "value", f"{path}.{key}", item)):
                side_shape = shape[side]["shape"]
                if self.shapes[side_shape]["type"] != "string":
                    self._check(side_shape, member, item_path, problems)
                    continue
                for constraint in self._string_constraints(side_shape, member, item_path):
                    if constraint not in found:
                        found.append(constraint)
        shown = _java_text(value)
        for found, what in ((bad_keys, "Map keys"), (bad_values, "Map value")):
            if found:
                problems.append(
                    f"Value '{shown}' at '{path}' failed to satisfy constraint: "
                    f"{what} must satisfy constraint: [{', '.join(found)}]"
                )

    def _check_string(self, shape_name, shape, value, path, problems):
        for constraint in self._string_constraints(shape_name, value, path):
            problems.append(f"Value '{value}' at '{path}' failed to satisfy constraint: "
                            f"{constraint}")

    def _string_constraints(self, shape_name, value, path):
        """The constraints of a string shape that value breaks ("Member must ...")."""
        if not isinstance(value, str):
            raise self._type_error("a string", value, path)
        shape = self.shapes[shape_name]
        out = self._length_constraints(shape, len(value))
        if "enum" in shape and value not in shape["enum"]:
            out.append(f"Member must satisfy enum value set: [{', '.join(shape['enum'])}]")
        pattern = self._pattern(shape_name, shape["pattern"]) if "pattern" in shape else None
        if pattern is not None and not pattern.fullmatch(value):
            out.append(f"Member must satisfy regular expression pattern: {shape['pattern']}")
        return out

    def _check_integer(self, shape_name, shape, value, path, problems):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._type_error("an integer", value, path)
        if "min" in shape and value < shape["min"]:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {shape['min']}"
            )
        if "max" in shape and value > shape["max"]:
            problems.append(
                f"Value '{value}' at '{path}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {shape['max']}"
            )

    def _check_boolean(self, shape_name, shape, value, path, problems):
        if not isinstance(value, bool):
            raise self._type_error("a boolean", value, path)

    def _check_timestamp(self, shape_name, shape, value, path, problems):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self._type_error("a timestamp in epoch seconds", value, path)

    def _check_length(self, shape, length, value, path, problems):
        shown = _java_text(value)
        for constraint in self._length_constraints(shape, length):
            problems.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: "
                            f"{constraint}")

    @staticmethod
    def _length_constraints(shape, length):
        out = []
        if "min" in shape and length < shape["min"]:
            out.append(f"Member must have length greater than or equal to {shape['min']}")
        if "max" in shape and length > shape["max"]:
            out.append(f"Member must have length less than or equal to {shape['max']}")
        return out

    def conformance(self, shape_name, value, path="$"):
        """List how an output value departs from the model (unknown members, wrong types,
        values outside an enum, missing required members); empty when it conforms."""
        shape = self.shapes[shape_name]
        kind = shape["type"]
        if kind == "structure":
            return self._conform_structure(shape, value, path)
        if kind == "list":
            if not isinstance(value, list):
                return [f"{path}: expected a list, got {_json_type(value)}"]
            out = []
            for i, item in enumerate(value):
                out += self.conformance(shape["member"]["shape"], item, f"{path}[{i}]")
            return out
        if kind == "map":
            if not isinstance(value, dict):
                return [f"{path}: expected a map, got {_json_type(value)}"]
            out = []
            for key, item in value.items():
                out += self.conformance(shape["value"]["shape"], item, f"{path}.{key}")
            return out
        return self._conform_scalar(kind, shape, value, path)

    def _conform_structure(self, shape, value, path):
        if not isinstance(value, dict):
            return [f"{path}: expected a structure, got {_json_type(value)}"]
        out = [f"{path}: missing required {m}" for m in shape.get("required", []) if m not in value]
        for key, item in value.items():
            if key not in shape["members"]:
                out.append(f"{path}: member {key} is not in the model")
                continue
            out += self.conformance(shape["members"][key]["shape"], item, f"{path}.{key}")
        return out

    def _conform_scalar(self, kind, shape, value, path):
        ok = {
            "string": lambda v: isinstance(v, str),
            "boolean": lambda v: isinstance(v, bool),
            "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "timestamp": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        }.get(kind, lambda v: True)
        if not ok(value):
            return [f"{path}: expected {kind}, got {_json_type(value)}"]
        if kind == "string" and "enum" in shape and value not in shape["enum"]:
            return [f"{path}: {value!r} is not one of {shape['enum']}"]
        return []
