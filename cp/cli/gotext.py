"""Go's text forms of JSON values, as kubectl's JSONPath and custom-columns printers write them:
`fmt`'s `%v` (`go_sprint`: `map[a:b]`, `[x y]`, `<nil>`), `%#v` (`go_sharp`), `%q`
(`go_quote`), `strconv.FormatFloat(f, 'g', -1, 64)` (`go_float`: `1e+06`), `json.Marshal`
(`go_json`: compact, sorted keys, `<>&` escaped), and client-go's `PrintResults` for one
value (`print_result`: maps and lists as JSON, the rest as `%v`)."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Final

__all__ = ["go_float", "go_json", "go_quote", "go_sharp", "go_sprint", "go_type", "print_result"]


def _digits(value: float) -> tuple[str, int]:
    """The shortest decimal digits that read back as `value`, and the decimal point position
    (`12.5` -> `("125", 2)`), as strconv's shortest formatting finds them."""
    _, digits, exponent = Decimal(repr(abs(value))).as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent
    stripped = text.lstrip("0")
    point -= len(text) - len(stripped)
    return stripped.rstrip("0") or "0", point


def _go_exponent(digits: str, point: int) -> str:
    mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    exp = point - 1
    return f"{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def _go_fixed(digits: str, point: int) -> str:
    if point <= 0:
        return "0." + "0" * -point + digits
    if point >= len(digits):
        return digits + "0" * (point - len(digits))
    return digits[:point] + "." + digits[point:]


def go_float(value: float) -> str:
    """Go's `%v` of a float64: `%g` with the shortest digits, in exponent form below 1e-4 and
    from 1e6 on (strconv's `'g'` with precision -1 decides with 6): `1e+06`, `123456`,
    `0.0001`, `1e-05`, `2.5`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    sign = "-" if math.copysign(1.0, value) < 0 else ""
    if value == 0:
        return sign + "0"
    digits, point = _digits(value)
    exp = point - 1
    if exp < -4 or exp >= 6:
        return sign + _go_exponent(digits, point)
    return sign + _go_fixed(digits, point)


def _json_float(value: float) -> str:
    """encoding/json's float64: `'f'` form, `'e'` below 1e-6 and from 1e21 (`1e-7`, `1e+21`)."""
    sign = "-" if value < 0 else ""
    if value == 0:
        return "0" if math.copysign(1.0, value) > 0 else "-0"
    digits, point = _digits(value)
    if abs(value) < 1e-6 or abs(value) >= 1e21:
        text = _go_exponent(digits, point)
        return sign + re.sub(r"e-0(\d)$", r"e-\1", text)
    return sign + _go_fixed(digits, point)


_JSON_ESCAPES: Final = {
    '"': '\\"',
    "\\": "\\\\",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\b": "\\b",
    "\f": "\\f",
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}
_JSON_SPECIAL: Final = re.compile('["\\\\<>&\u2028\u2029\x00-\x1f]')


def _json_string(text: str) -> str:
    """encoding/json's string: HTML-safe (`<` is `\\u003c`), control characters escaped."""
    escape = _JSON_ESCAPES.get
    return '"' + _JSON_SPECIAL.sub(lambda m: escape(m[0]) or f"\\u{ord(m[0]):04x}", text) + '"'


def go_json(value: Any, indent: str = "", prefix: str = "") -> str:
    """Go's `json.Marshal` of unstructured data (map keys sorted), or `json.MarshalIndent`
    with `indent`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _json_float(value)
    if isinstance(value, str):
        return _json_string(value)
    inner = prefix + indent
    newline = "\n" if indent else ""
    if isinstance(value, dict):
        if not value:
            return "{}"
        colon = ": " if indent else ":"
        fields = [
            f"{newline}{inner}{_json_string(key)}{colon}{go_json(value[key], indent, inner)}"
            for key in sorted(value)
        ]
        return "{" + ",".join(fields) + newline + prefix + "}"
    if not value:
        return "[]"
    items = [f"{newline}{inner}{go_json(item, indent, inner)}" for item in value]
    return "[" + ",".join(items) + newline + prefix + "]"


def go_sprint(value: Any) -> str:
    """Go's `fmt.Sprint` of unstructured data: `map[a:1 b:x]`, `[x y]`, `<nil>`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{key}:{go_sprint(value[key])}" for key in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_sprint(item) for item in value) + "]"
    return str(value)


def go_quote(text: str) -> str:
    """Go's `strconv.Quote` (`%q`)."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        elif char in "\a\b\f\n\r\t\v":
            out.append(repr(char)[1:-1] if char not in "\a\v" else {"\a": "\\a", "\v": "\\v"}[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    return "".join(out) + '"'


def go_sharp(value: Any) -> str:
    """Go's `%#v` of unstructured data, as kubectl's jsonpath error shows the object."""
    if value is None:
        return "interface {}(nil)"
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, dict):
        fields = ", ".join(f"{go_quote(key)}:{go_sharp(value[key])}" for key in sorted(value))
        return "map[string]interface {}{" + fields + "}"
    if isinstance(value, list):
        return "[]interface {}{" + ", ".join(go_sharp(item) for item in value) + "}"
    return go_sprint(value)


def go_type(value: Any) -> str:
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    return {bool: "bool", int: "int64", float: "float64", str: "string"}.get(type(value), "<nil>")


def print_result(value: Any) -> str:
    """client-go's `PrintResults` for one value: maps and lists as JSON, the rest as `%v`."""
    if isinstance(value, dict | list):
        return go_json(value)
    return go_sprint(value)
