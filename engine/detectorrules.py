"""The detectors themselves: each kind of sensitive text as its patterns, with the cheap
necessary conditions (needs, triggers, anchors) that let a scanner skip clean text.

``detectors`` compiles them into scanners and offers ``find``, ``first`` and ``redact``;
docs/detectors.md lists what each one matches, what it leaves alone and what it misses.

Patterns carry no global flags (only scoped ones such as ``(?i:...)``) and start with a
literal where they can, with any boundary check written as a lookbehind *after* that
literal: Python's ``re`` then skips ahead to the literal instead of trying every position.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

# A rule's need: None (always run the pattern); a literal (found with ``in``); words of
# which one is found in the lower-cased text; or a regex that starts with a literal (so
# ``re`` looks for it with a fast substring search).
Need = str | tuple[str, ...] | re.Pattern[str] | None


@dataclass(frozen=True)
class Detector:
    """One kind of sensitive text: its name, what it means, and its rules.

    ``patterns[i]`` comes with ``needs[i]``: a cheap test that passes on every text the
    pattern matches, so a scanner runs an expensive pattern only where its need passes
    (patterns that start with a literal are cheap already and have no need).
    ``triggers`` are the detector's own necessary condition: literal-led regexes whose
    first character is rare in benign text (``KIA`` for ``AKIA...``), so that the
    triggers of many detectors join into one fast *gate*. ``anchors`` are plain ASCII
    literals, lower-case, one of which every match of every pattern contains (compared
    after ASCII lower-casing): the leak check looks for all of them at once in a whole
    column of strings (see ``leakscan``). The tests check all three conditions on every
    example and on generated text.
    """

    name: str
    description: str
    patterns: tuple[re.Pattern[str], ...]
    needs: tuple[Need, ...]
    triggers: tuple[str, ...]
    anchors: tuple[str, ...]

    @property
    def trigger(self) -> re.Pattern[str]:
        """The triggers as one regex."""
        return re.compile("|".join(self.triggers))


def _need(spec: str) -> Need:
    """``""``: none; ``"i:w1 w2"``: words in the lower-cased text; a regex; a literal."""
    if not spec:
        return None
    if spec.startswith("i:"):
        return tuple(spec[2:].split())
    return re.compile(spec) if re.search(r"[\\\[\](){}?*+|^$.]", spec) else spec


def _detector(name: str, description: str, triggers: str, anchors: str,
              *rules: tuple[str, str]) -> Detector:
    """``triggers``: literal-led regexes separated by spaces; ``anchors``: literals
    separated by spaces; ``rules``: (need, pattern)."""
    needs = tuple(_need(need) for need, _ in rules)
    patterns = tuple(re.compile(source) for _, source in rules)
    return Detector(name, description, patterns, needs, tuple(triggers.split()),
                    tuple(anchors.split()))


def _kw(word: str) -> str:
    """``word`` as a whole word: the literal first, the boundary checked behind it."""
    return rf"{word}(?<![\w$]{word})(?![\w$])"


# ---- path -------------------------------------------------------------------------------
_SEG = r"(?:[\w\-+@%=~$]|\.(?=[\w\-+@%=~$./\\]))+"  # a segment; a final '.' stays outside
_PATH = _detector(
    "path",
    "absolute POSIX, Windows drive, UNC and home-relative (~/, ~user/) file paths",
    r"/ \\",
    "/ \\",  # every kind has a separator (a ~user/ path a slash)
    # one pattern for the kinds that start with a literal: one search instead of three
    ("", rf"/(?<![^\s\"'`(\[{{=:,;|>]/){_SEG}(?:/{_SEG})*/?"  # after a space, quote, ...
     rf"|\\\\(?<![\w\\]\\\\){_SEG}\\{_SEG}(?:\\+{_SEG})*\\?"  # \\server\share
     rf"|~(?<![\w/\\.~]~)(?:[A-Za-z_][\w.\-]*)?/{_SEG}(?:/{_SEG})*/?"),  # ~/x, ~user/x
    (r":[\\/]", rf"(?<![\w\\/])[A-Za-z]:[\\/]+{_SEG}(?:[\\/]+{_SEG})*[\\/]?"),
)

# ---- email ------------------------------------------------------------------------------
_EMAIL = _detector(
    "email",
    "e-mail addresses (local@domain.tld)",
    "@",
    "@",
    ("@", r"(?<![\w.+%\-])[\w+%\-]+(?:\.[\w+%\-]+)*@"
     r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![\w\-])"),
)

# ---- url --------------------------------------------------------------------------------
_URL_END = r"[^\s<>\"'`{}|\\^]*[^\s<>\"'`{}|\\^.,;:!?)\]]"  # trailing punctuation stays out
_SCHEME = r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,15}://"
_URL = _detector(
    "url",
    "URLs with a scheme (http, https, ftp, ssh, git, file, postgres, ...)",
    "://",
    "://",
    ("://", rf"{_SCHEME}{_URL_END}"),
)
_URL_CREDENTIALS = _detector(
    "url_credentials",
    "URLs that carry a password (scheme://user:password@host)",
    "://",
    "://",
    (r"://[^\s/?#@]*@",
     rf"{_SCHEME}[^\s/?#@:<>\"'`]*:[^\s/?#@<>\"'`]+@[\w\-.~%:\[\]]*[\w\]](?:[/?#]{_URL_END})?"),
)

# ---- ip ---------------------------------------------------------------------------------
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_V4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H = r"[0-9A-Fa-f]{1,4}"
_V6_FORMS = (  # the forms with an IPv4 tail first, so that the tail is not cut off
    rf"(?:{_H}:){{6}}{_V4}", rf"(?:{_H}:){{1,5}}:{_V4}", rf"::(?:[fF]{{4}}(?::0{{1,4}})?:)?{_V4}",
    rf"(?:{_H}:){{7}}{_H}", rf"(?:{_H}:){{1,6}}:{_H}", rf"(?:{_H}:){{1,5}}(?::{_H}){{1,2}}",
    rf"(?:{_H}:){{1,4}}(?::{_H}){{1,3}}", rf"(?:{_H}:){{1,3}}(?::{_H}){{1,4}}",
    rf"(?:{_H}:){{1,2}}(?::{_H}){{1,5}}", rf"{_H}:(?::{_H}){{1,6}}", rf"(?:{_H}:){{1,7}}:",
    rf":(?::{_H}){{1,7}}",
)
_DOTTED4 = r"\.\d{1,3}\.\d{1,3}\.\d"
_IP = _detector(
    "ip",
    "IPv4 addresses (four octets 0-255) and IPv6 addresses (full, compressed, v4-mapped)",
    rf"{_DOTTED4} :",
    ".0 .1 .2 .3 .4 .5 .6 .7 .8 .9 :",  # a dot before a digit (v4), a colon (v6)
    (_DOTTED4, rf"(?<![\w.])(?<![=~<>!]=){_V4}(?!\w|\.\d)"),
    (rf"::|:{_H}:{_H}:{_H}:{_H}:",  # two colons together, or a run of five
     rf"(?<![\w:.])(?=[0-9A-Fa-f:.]*\d)(?:{'|'.join(_V6_FORMS)})(?![\w:]|\.\d)"),
)

# ---- timestamp --------------------------------------------------------------------------
_HMS = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:[.,]\d{1,9})?)?"
_ZONE = r"(?:\s?(?:Z|UTC|[+\-](?:[01]\d|2[0-3]):?[0-5]\d))?"
_DATE = r"(?<!\d)\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
_TIMESTAMP = _detector(
    "timestamp",
    "a date with a time of day, or a bare time of day (HH:MM:SS, h:mm am/pm)",
    ":",
    ":",  # every form has a time of day
    (r"-\d\d[T\x20,]", rf"{_DATE}(?:[T ]|, ){_HMS}{_ZONE}(?!\d)"),
    (r":\d\d:", r"(?<![\d:.])(?:[01]?\d|2[0-3]):[0-5]\d:[0-5]\d(?:[.,]\d{1,9})?(?![\d:])"),
    (r":\d\d\s?[AaPp]",
     r"(?<![\d:.])(?:1[0-2]|0?[1-9]):[0-5]\d(?::[0-5]\d)?\s?[AaPp]\.?[Mm]\.?(?![A-Za-z])"),
)

# ---- secret -----------------------------------------------------------------------------
_KEYWORDS = (
    "secret_access_key", "client_secret", "private_key", "secret_key", "access_key",
    "access_token", "refresh_token", "auth_token", "api_token", "api_key", "apikey",
    "password", "passwd", "passphrase", "pwd", "secret", "token", "credentials", "credential",
)
_STEMS = "i:pass pwd secret token credential private access apik api_k api-k"  # in each keyword


def _keyword_regex(words: Iterable[str]) -> str:
    """Each word as ``snake``, ``Title``, ``UPPER`` and ``camelCase`` (``_`` may also be ``-``
    or nothing), not glued to a letter before it (``dbPassword`` is fine).

    Built as one alternative per first letter, the boundary checked after that letter,
    so that ``re`` can skip ahead to the letters that start a keyword.
    """
    groups: dict[tuple[str, str], dict[str, None]] = {}
    for word in words:
        parts = word.split("_")
        sep = "[_\\-]?"
        for variant, before in (
            (sep.join(parts), "[A-Za-z0-9]"),
            (sep.join(p.title() for p in parts), "[A-Z]"),
            (sep.join(p.upper() for p in parts), "[A-Za-z0-9]"),
            (parts[0] + "".join(p.title() for p in parts[1:]), "[A-Za-z0-9]"),
        ):
            groups.setdefault((variant[0], before), {})[variant[1:]] = None
    alternatives = (
        f"{first}(?<!{before}{first})(?:{'|'.join(rests)})"
        for (first, before), rests in groups.items()
    )
    return f"(?:{'|'.join(alternatives)})"


_KEYWORD = _keyword_regex(_KEYWORDS)
_PLACEHOLDER = (
    r"(?![\"']?(?:<[^>\n]*>|\*+|x{3,}|\.{3}|…|null|none|nil|true|false|undefined|n/a|redacted"
    r"|\$\{?\w+\}?|\{\{[^}\n]*\}\}|env:\w+)[\"']?(?![\w/]))"
)
_QUOTED = r"(?:\"(?:[^\"\\\n]|\\.)+\"|'(?:[^'\\\n]|\\.)+')"
_BARE = r"[^\s\"',;&)}\]]"
_TOKEN = r"(?=[A-Za-z0-9+/_=.\-]*\d)(?=[A-Za-z0-9+/_=.\-]*[A-Za-z])[A-Za-z0-9+/_=.\-]"
_ASSIGNED = (  # password=x, "token": "x", api_key := 'x' (placeholders such as <secret> excepted)
    rf"[\"']?\s*(?::=|=>|=(?!=)){_PLACEHOLDER}\s*(?:{_QUOTED}|{_BARE}{{2,}})"
    rf"|[\"']?\s*:(?!:)\s*{_PLACEHOLDER}(?:{_QUOTED}|(?={_BARE}*[^A-Za-z\s\"',;&)}}\]]){_BARE}{{3,}})"
)
_NAMED_TOKEN = rf"s?[\"']?\s+(?:(?:is|was|of|for|to|=)\s+)?[\"']?{_TOKEN}{{20,}}"  # "token ab12..."
_SECRET = _detector(
    "secret",
    "API keys and tokens, private keys, passwords and other credentials",
    r"KIA SIA h[pousr]_ _pat_ k- k_live_ k_test_ xox J = : \s",
    # the fixed prefixes; a stem of every keyword (each spelling lower-cased); the headers
    "akia asia ghp_ gho_ ghu_ ghs_ ghr_ github_pat_ sk- xox eyj -----begin k_live_ k_test_ "
    + _STEMS[2:] + " authorization bearer",
    ("", "|".join((  # the kinds that start with a literal, in one pattern
        r"A(?<![A-Za-z0-9]A)(?:KIA|SIA)[A-Z0-9]{16}(?![A-Za-z0-9])",
        r"g(?<![A-Za-z0-9_]g)(?:h[pousr]_[A-Za-z0-9]{20,}|ithub_pat_\w{20,})(?![A-Za-z0-9_])",
        r"sk-(?<![A-Za-z0-9_\-]sk-)(?:[a-z]+-)?(?=[A-Za-z0-9_\-]*\d)[A-Za-z0-9_\-]{16,}",
        r"xox[abposr]-(?<![A-Za-z0-9]xox.-)[A-Za-z0-9\-]{10,}",
        r"eyJ(?<![A-Za-z0-9_\-]eyJ)[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*",
        r"-----BEGIN[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:[\s\S]{0,16384}?"
        r"-----END[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[A-Za-z0-9+/=\s:,.\-]*)",
    ))),
    (r"k_(?:live|test)_",
     r"[spr]k_(?:live|test)_(?<![A-Za-z0-9_\-][spr]k_(?:live|test)_)[A-Za-z0-9]{10,}"),
    (_STEMS, rf"{_KEYWORD}(?:{_ASSIGNED}|{_NAMED_TOKEN})"),
    ("i:authorization",
     r"(?:[Aa]uthorization|AUTHORIZATION)(?<![A-Za-z].{13})[\"']?\s*[:=]\s*[\"']?"
     r"(?:(?i:bearer|basic|token|digest)\s+)?[^\s\"',;]{3,}"),
    ("earer",
     r"[Bb]earer(?<![A-Za-z][Bb]earer)\s+(?=[A-Za-z0-9._~+/\-]*\d)[A-Za-z0-9._~+/\-]{12,}=*"),
)

# ---- code -------------------------------------------------------------------------------
_ID = r"[A-Za-z_$][\w$]*"
_ARGS = r"\((?:[^()\n]|\([^()\n]*\))*\)"
_NAME = r"[\w.\"`\[\]]+"
_LHS = rf"(?<![\w$.]){_ID}(?:\.{_ID})*(?:\[[^\]\n]*\])?[ \t]*"
_SQL_UPPER = (
    rf"{_kw('SELECT')}\s+(?:DISTINCT\s+)?[^;]{{1,300}}?\sFROM\s+{_NAME}",
    rf"{_kw('INSERT')}\s+INTO\s+{_NAME}", rf"{_kw('UPDATE')}\s+{_NAME}\s+SET\s+{_NAME}\s*=",
    rf"{_kw('DELETE')}\s+FROM\s+{_NAME}",
    rf"{_kw('DROP')}\s+(?:TABLE|DATABASE|SCHEMA|INDEX|VIEW)\s+(?:IF\s+EXISTS\s+)?{_NAME}",
    rf"{_kw('TRUNCATE')}\s+(?:TABLE\s+)?{_NAME}",
    rf"{_kw('CREATE')}\s+(?:TEMP(?:ORARY)?\s+)?(?:TABLE|INDEX|VIEW|DATABASE|SCHEMA)\s+{_NAME}",
    rf"{_kw('ALTER')}\s+TABLE\s+{_NAME}",
)
_SQL_WORDS = "i:select insert update delete drop truncate create alter"
_SQL_LOWER = (
    rf"{_kw('select')}\s+(?:\*|count\(\*\))\s+from\s+{_NAME}",
    rf"{_kw('select')}\s+[\w.]+(?:\s*,\s*[\w.]+)*\s+from\s+{_NAME}"
    r"(?:\s*;|\s+(?:where|join|order\s+by|group\s+by|limit)\b)",
    rf"{_kw('insert')}\s+into\s+{_NAME}\s*(?:\(|values\b)",
    rf"{_kw('update')}\s+{_NAME}\s+set\s+{_NAME}\s*=",
    rf"{_kw('delete')}\s+from\s+{_NAME}\s+where\b",
    rf"{_kw('drop')}\s+table\s+(?:if\s+exists\s+)?{_NAME}\s*;",
)
_LINE = r"(?m:^)[ \t]*"  # statements recognised only at the start of a line
_RETURN = (
    r"return(?:[ \t]*;|[ \t]+[^\n]*?[;)\]}][ \t]*(?m:$)"
    r"|[ \t]+(?:None|True|False|null|undefined|self|this)\b|[ \t]+[\w.]*\.\w"
    r"|[ \t]+\w+[ \t]*(?:[-+*/%<>]|==|!=)[ \t]*[\w(])"
    r"|(?<=[ \t])return(?![\w$])"  # an indented return
)
_COLON_LINE = (
    r"(?:if|elif|while)[ \t]+(?=[^\n]*:[ \t]*(?m:$))[^\n]*?"
    r"(?:==|!=|<=|>=|[<>]|[\w\])]\(|\w\.\w|\w\[|(?<![\w$])is[ \t]+(?:not[ \t]+)?None\b)"
    r"|for[ \t]+[A-Za-z_]\w*(?:[ \t]*,[ \t]*[A-Za-z_]\w*)*[ \t]+in[ \t]+[^\n]*:[ \t]*(?m:$)"
    r"|(?:else|try|finally)[ \t]*:[ \t]*(?m:$)"
    r"|except(?:[ \t]+\(?[A-Z][\w.]*[^\n:]*)?:[ \t]*(?m:$)"
)
_IMPORT = (
    r"import[ \t]+[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?"
    r"(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*(?:[ \t]+as[ \t]+\w+)?)*[ \t]*;?[ \t]*(?m:$)"
    r"|import[ \t]+(?:[\w$*{}, \t]+[ \t]from[ \t]+)?[\"'][^\"'\n]+[\"']"
)
_CODE_RULES = (  # (need, pattern)
    ("", "|".join((  # the kinds that start with a literal, in one pattern
        rf"{_kw('def')}[ \t]+[A-Za-z_]\w*[ \t]*\(",
        rf"{_kw('class')}[ \t]+[A-Za-z_]\w*[ \t]*(?:\([^()\n]*\))?[ \t]*:",
        rf"{_kw('class')}[ \t]+{_ID}(?:[ \t]+extends[ \t]+[\w$.]+)?[ \t]*\{{",
        rf"{_kw('function')}[ \t]*\*?[ \t]*(?:{_ID}[ \t]*\(|\([^()\n]*\)[ \t]*\{{)",
        rf"{_kw('from')}[ \t]+(?:\.+[\w.]*|[A-Za-z_][\w.]*)[ \t]+import[ \t]+"
        r"(?:\*|\(|[A-Za-z_]\w*)",
        rf"{_kw('require')}[ \t]*\([ \t]*[\"'][^\"'\n]+[\"'][ \t]*\)",
        rf"{_kw('lambda')}(?:[ \t]+\*{{0,2}}(?P<arg>[A-Za-z_]\w*)"
        r"(?:[ \t]*,[ \t]*\*{0,2}[A-Za-z_]\w*)*)?[ \t]*:[ \t]*"
        r"(?:[^\n]*?(?<![\w.])(?P=arg)(?!\w)|(?:None|True|False)\b|-?\d|[\w.]+\(|[\"'\[{(])",
        r"\}[ \t]*else[ \t]*\{",
        r"\{[^{}]{0,500}?;[^{}]{0,500}\}",
    ))),
    ("import", rf"{_LINE}(?:{_IMPORT})"),
    ("return", rf"{_LINE}(?:{_RETURN})"),
    (r":[ \t]*(?:\n|$)", rf"{_LINE}(?:{_COLON_LINE})"),
    (r"\)[ \t]*;", rf"(?<![\w$.]){_ID}(?:\.{_ID})*{_ARGS}[ \t]*;"),
    # (the blanks after '=' are bounded too, so that the need, which looks at most 310
    # characters past the '=', holds wherever the pattern matches)
    (r"=[^;\n]{0,310};",
     rf"{_LHS}(?:[-+*/%|&^]|//|\*\*|<<|>>)?=(?!=)[ \t]{{0,9}}[^;\n= \t][^;\n]{{0,300}};"),
    ("=", rf"(?:{_kw('var')}|{_kw('let')}|{_kw('const')})[ \t]+{_ID}[ \t]*=(?!=)"),
    ("=", rf"{_LHS}(?:[-+*/%|&^]|//|\*\*)?=(?!=)[ \t]*(?:{_ID}(?:\.{_ID})*\(|\[|\{{|[\"']"
     r"|(?:self|this)\.|(?:None|True|False|null|undefined)(?![\w$])|new[ \t]+[A-Z])"),
    ("=>", r"\([^()\n]*\)[ \t]*=>"),
    ("=>", rf"(?<![\w$]){_ID}[ \t]*=>[ \t]*(?:[{{(\[]|[\w$.]*[.(\[]|[\w$]+[ \t]*"
     r"(?:[-+*/%<>?]|[=!]==?|&&|\|\|))"),
    (r"\)[ \t]*\{",
     r"(?<![\w$])(?:if|while|for|switch|catch)[ \t]*\([^\n{]{0,300}\)[ \t]*\{"),
    (_SQL_WORDS, "|".join(_SQL_UPPER)),
    (_SQL_WORDS, "|".join(_SQL_LOWER)),
)
_CODE = _detector(
    "code",
    "source code: Python, JavaScript and SQL statements and definitions",
    r"\( ; \{ = : \s",
    # each rule's keyword or punctuation (a rule's match runs to the end of its line, so
    # the colon a Python block line ends with is inside it)
    "def class function import require lambda { return : ; = "
    "select insert update delete drop truncate create alter",
    # a code match runs on to the end of its line: the rest of a code line is code too
    *((need, rf"(?:{source})[^\n]*") for need, source in _CODE_RULES),
)

# ---- registry ---------------------------------------------------------------------------
DETECTORS: Mapping[str, Detector] = MappingProxyType({
    d.name: d for d in (_PATH, _EMAIL, _SECRET, _URL, _URL_CREDENTIALS, _IP, _CODE, _TIMESTAMP)
})
REDACT_DEFAULT: tuple[str, ...] = ("path", "email", "secret", "url", "ip", "code")
LEAK_DEFAULT: tuple[str, ...] = (
    "path", "email", "secret", "url_credentials", "ip", "code", "timestamp",
)
