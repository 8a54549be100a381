"""The translations' tool (#29): ``python tools/i18n.py extract|compile|check [DOMAIN...]``.

- ``extract``: Babel finds every ``_()``, ``ngettext()``, ``pgettext()`` and ``N_()`` in the
  domain's sources and merges them into each language's ``.po`` (translations kept; a new or
  changed English text comes in untranslated; texts no longer used are dropped). ``--pot FILE``
  also writes the template.
- ``compile``: each ``.po`` to the ``.mo`` committed beside it (what the app reads at run time).
- ``check``: lists what is untranslated, fuzzy, obsolete, missing from the ``.po`` (in the
  sources, not extracted yet) or stale (in the ``.po``, gone from the sources), placeholders a
  translation changed, and ``.mo`` files that do not match their ``.po``; exit 1 if any.

Domains (see workbench/i18n.py): ``ui`` is workbench/ui/, ``core`` every other file of
workbench/ (core, actions, engine, the CLI), the run report's Jinja2 template
(resources/report) and the templates' names and descriptions (resources/templates/*.json;
shown through ``_()``). Without a DOMAIN, all of them. Needs Babel (the
test extra); the app itself does not.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import string
import sys
from dataclasses import dataclass, field
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "workbench"
LOCALE_DIR = ROOT / "resources" / "i18n"
TEMPLATES = ROOT / "resources" / "templates"
TEMPLATE_TEXTS = ("name", "description")  # the fields of a template a person reads
REPORT_TEMPLATES = ROOT / "resources" / "report"  # Jinja2, through its i18n extension
LANGUAGES = ("zh_CN",)
DOMAINS = ("core", "ui")
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "pgettext": ((1, "c"), 2)}
COMMENT_TAGS = ("TRANSLATORS:",)
PO_WIDTH = 100
# No space flag: "95.4 % over" is no placeholder, though Babel flags it python-format.
PERCENT = re.compile(r"%(?:\(\w+\))?[-#0+]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def sources(domain: str) -> list[Path]:
    """The Python files whose strings belong to ``domain``."""
    ui = PACKAGE / "ui"
    files = sorted(PACKAGE.rglob("*.py"))
    if domain == "ui":
        return [p for p in files if ui in p.parents]
    return [p for p in files if ui not in p.parents]


def po_path(domain: str, language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"


def extract(domain: str) -> Catalog:
    """The template: every marked string of the domain's sources, where it occurs."""
    template = Catalog(domain=domain, project="Workbench", fuzzy=False)
    for path in sources(domain):
        where = path.relative_to(ROOT).as_posix()
        for lineno, message, comments, context in extract_from_file(
                "python", path, keywords=KEYWORDS, comment_tags=COMMENT_TAGS,
                strip_comment_tags=True):
            template.add(message, None, [(where, lineno)], auto_comments=comments,
                         context=context)
    if domain == "core":
        for path in sorted(REPORT_TEMPLATES.glob("*.j2")):
            where = path.relative_to(ROOT).as_posix()
            for lineno, message, comments, context in extract_from_file(
                    "jinja2.ext:babel_extract", path, keywords=KEYWORDS,
                    comment_tags=COMMENT_TAGS, options={"extensions": "jinja2.ext.i18n"}):
                template.add(message, None, [(where, lineno)], auto_comments=comments,
                             context=context)
        for path in sorted(TEMPLATES.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            for key in TEMPLATE_TEXTS:
                if data.get(key):
                    template.add(data[key], None, [(path.relative_to(ROOT).as_posix(), 0)],
                                 auto_comments=[f"template {key}"])
    return template


def read_catalog(path: Path, language: str, domain: str) -> Catalog:
    if not path.exists():
        return Catalog(locale=language, domain=domain, project="Workbench", fuzzy=False)
    with path.open("rb") as f:
        return read_po(f, locale=language, domain=domain)


def write_catalog(catalog: Catalog, path: Path) -> None:
    out = io.BytesIO()
    write_po(out, catalog, width=PO_WIDTH, include_lineno=False, ignore_obsolete=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(out.getvalue())


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def cmd_extract(domains, pot: Path | None = None) -> int:
    for domain in domains:
        template = extract(domain)
        if pot is not None:
            write_catalog(template, pot if len(domains) == 1 else pot.with_stem(domain))
        for language in LANGUAGES:
            path = po_path(domain, language)
            catalog = read_catalog(path, language, domain)
            # No fuzzy matching: a guess from a similar text reads as done and rarely is.
            catalog.update(template, no_fuzzy_matching=True, update_creation_date=False)
            write_catalog(catalog, path)
            problems = check_catalog(domain, language, catalog, template, with_mo=False)
            print(f"{path.relative_to(ROOT)}: {len(template)} messages, "
                  f"{len(problems.untranslated)} untranslated, {len(problems.fuzzy)} fuzzy")
    return 0


def cmd_compile(domains) -> int:
    for domain in domains:
        for language in LANGUAGES:
            path = po_path(domain, language)
            if not path.exists():
                continue
            mo = path.with_suffix(".mo")
            mo.write_bytes(compiled(read_catalog(path, language, domain)))
            print(f"{mo.relative_to(ROOT)}")
    return 0


# check ------------------------------------------------------------------------------------------


@dataclass
class Problems:
    untranslated: list = field(default_factory=list)
    fuzzy: list = field(default_factory=list)
    obsolete: list = field(default_factory=list)
    missing: list = field(default_factory=list)  # in the sources, not in the .po
    stale: list = field(default_factory=list)  # in the .po, not in the sources any more
    placeholders: list = field(default_factory=list)
    mo: list = field(default_factory=list)

    def items(self):
        return [(name, found) for name, found in vars(self).items() if found]


def _plain(value):
    """A message's id or string, hashable (read_mo gives a plural's forms as a list)."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def _key(message) -> tuple:
    return (_plain(message.id), message.context)


def _shown(key) -> str:
    msgid, context = key
    text = msgid if isinstance(msgid, str) else msgid[0]
    return f"{context}|{text}" if context else text


def brace_fields(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError:
        return {"<malformed braces>"}


def placeholder_error(message) -> str | None:
    """Why the translation would fail or mislead where the English works: a ``{field}`` or
    ``%s`` it adds, drops or changes (str.format and % raise on what they are not given)."""
    if isinstance(message.id, str):
        pairs = [(message.id, message.string)]
    else:  # every form is used for some count: compare with the plural's placeholders
        pairs = [(message.id[-1], form) for form in message.string]
    braces = "python-brace-format" in message.flags
    percent = "python-format" in message.flags
    for english, translated in pairs:
        if braces and brace_fields(translated) != brace_fields(english):
            return f"{sorted(brace_fields(english))} -> {sorted(brace_fields(translated))}"
        if percent and sorted(PERCENT.findall(translated)) != sorted(PERCENT.findall(english)):
            return f"{PERCENT.findall(english)} -> {PERCENT.findall(translated)}"
    return None


def translated(message) -> bool:
    strings = [message.string] if isinstance(message.string, str) else list(message.string or ())
    return bool(strings) and all(strings)


def check_catalog(domain, language, catalog, template, with_mo=True) -> Problems:
    problems = Problems()
    messages = [m for m in catalog if m.id]
    for message in messages:
        if not translated(message):
            problems.untranslated.append(_key(message))
        elif message.fuzzy:
            problems.fuzzy.append(_key(message))
        else:
            error = placeholder_error(message)
            if error:
                problems.placeholders.append(_key(message) + (error,))
    problems.obsolete = list(catalog.obsolete)
    known = {_key(m) for m in messages}
    wanted = {_key(m) for m in template if m.id}
    problems.missing = sorted(wanted - known, key=_shown)
    problems.stale = sorted(known - wanted, key=_shown)
    if with_mo:
        problems.mo = mo_mismatches(po_path(domain, language), catalog)
    return problems


def mo_contents(catalog) -> dict:
    return {_key(m): _plain(m.string) for m in catalog
            if m.id and translated(m) and not m.fuzzy}


def mo_mismatches(po: Path, catalog: Catalog) -> list:
    """What the committed .mo says differently from its .po (compared by content: the bytes
    carry the compiling Babel's version)."""
    mo = po.with_suffix(".mo")
    if not mo.exists():
        return [f"{mo.relative_to(ROOT)} is missing (python tools/i18n.py compile)"]
    with mo.open("rb") as f:
        have = mo_contents(read_mo(f))
    want = mo_contents(catalog)
    differ = {k for k in set(have) | set(want) if have.get(k) != want.get(k)}
    return sorted(_shown(k) for k in differ)


def check(domain: str, language: str) -> Problems:
    path = po_path(domain, language)
    return check_catalog(domain, language, read_catalog(path, language, domain), extract(domain))


def cmd_check(domains) -> int:
    bad = 0
    for domain in domains:
        for language in LANGUAGES:
            path = po_path(domain, language).relative_to(ROOT)
            for name, found in check(domain, language).items():
                bad += len(found)
                print(f"{path}: {len(found)} {name}:")
                for item in found:
                    shown = _shown(item[:2]) if isinstance(item, tuple) else str(item)
                    extra = f"  ({item[2]})" if isinstance(item, tuple) and len(item) > 2 else ""
                    print(f"    {shown!r}{extra}")
    print("all translated and compiled" if not bad else f"{bad} problems")
    return 1 if bad else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="tools/i18n.py", description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=("extract", "compile", "check"))
    parser.add_argument("domains", nargs="*", metavar="DOMAIN", help=" or ".join(DOMAINS))
    parser.add_argument("--pot", type=Path, help="extract: also write the template here")
    args = parser.parse_args(argv)
    domains = args.domains or list(DOMAINS)
    if set(domains) - set(DOMAINS):
        parser.error(f"unknown domain {sorted(set(domains) - set(DOMAINS))}; known: {DOMAINS}")
    if args.command == "extract":
        return cmd_extract(domains, args.pot)
    if args.command == "compile":
        return cmd_compile(domains)
    return cmd_check(domains)


if __name__ == "__main__":
    sys.exit(main())
