"""Where a sweep's trials are kept: an Optuna storage URL checked, shown and opened.

``check_storage_url`` refuses what cannot be a lasting storage before anything is opened or
made (a refused sweep leaves no new database file): a URL that does not parse, an SQLite URL
with no file (a study in memory is lost when the sweep ends), arguments SQLite would ignore, a
FIFO or device where the file goes. ``shown_url`` is the only way a URL is printed: its password
hidden, and nothing after the user name of a URL that does not parse.
"""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path
from typing import Any

from workbench.actions.errors import ActionError
from workbench.core.safe_io import refuse_special, shown
from workbench.i18n import N_, _


class SweepError(ActionError):
    """One readable sentence on why a sweep cannot start (bad space, storage, study)."""


def default_storage(project_path: str | Path | None) -> str:
    """``sqlite:///<folder>/<project>.sweeps.db`` beside the project (the app's data folder for
    a project never saved)."""
    if project_path:
        path = Path(project_path).resolve()
        return f"sqlite:///{path.with_name(path.stem + '.sweeps.db')}"
    from workbench.core.appdata import data_dir

    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder.resolve() / 'sweeps.db'}"


def quiet_optuna():
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)  # we report trials ourselves
    return optuna


def _parsed(url: str):
    """SQLAlchemy's reading of ``url``, or None where it does not read it as a URL we can
    print safely (a password holding '@' leaves its tail in the host)."""
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - ArgumentError, ValueError (a port), ...
        return None
    return None if "@" in (parsed.host or "") else parsed


def check_storage_url(url: str) -> None:
    """SweepError for a storage URL that cannot hold a sweep, before anything opens it."""
    parsed = _parsed(url)
    if parsed is None:
        extra = _(" (an '@' in the password is written %40)") if url.count("@") > 1 else ""
        raise SweepError(_("the sweep storage {url} is not a storage URL "
                           "(dialect://user:password@host[:port]/database, or "
                           "sqlite:///FILE)").format(url=shown_url(url))
                         + extra)
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database or ""
    uri = str(parsed.query.get("uri", "")).lower() == "true"
    if (database in ("", ":memory:") or database.startswith("file::memory:")
            or (uri and "mode=memory" in url.lower())):
        raise SweepError(_("the sweep storage {url} names no database file: a study in "
                           "memory is lost when the sweep ends; give sqlite:///FILE").format(
                             url=shown_url(url)))
    ignored = sorted(set(parsed.query) - _SQLITE_ARGUMENTS) if not uri else []
    if ignored:  # SQLAlchemy would only warn, twice, and go on without them
        raise SweepError(_("the sweep storage {url}: SQLite does not take {ignored} "
                           "(SQLite's URI arguments need uri=true as well)").format(
                             url=shown_url(url), ignored=', '.join(map(repr, ignored))))
    refuse_special(database.removeprefix("file:"), N_("sweep database"), SweepError)


# The query arguments SQLAlchemy's SQLite driver takes itself (without uri=true).
_SQLITE_ARGUMENTS = {"timeout", "isolation_level", "detect_types", "check_same_thread",
                     "cached_statements", "uri"}


def open_storage(url: str):
    """Optuna's storage for ``url``, or SweepError naming it (password hidden) and why."""
    check_storage_url(url)
    optuna = quiet_optuna()
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):  # writers from other processes wait instead of failing
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    for attempt in range(4):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" (since Optuna 2.9)
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                # A process killed mid-trial stops beating: its trial is marked failed later.
                return optuna.storages.RDBStorage(url, heartbeat_interval=60, grace_period=180,
                                                  **kwargs)
        except Exception as exc:  # noqa: BLE001 - drivers raise many types; all mean "unusable"
            error = exc
            # Two processes making a new storage at once: one of them loses the race to write
            # its tables ("UNIQUE constraint failed: alembic_version..."); the tables are there
            # now, so opening it again works.
            if not _lost_creation_race(exc):
                break
            time.sleep(0.2 * (attempt + 1))
    raise SweepError(_("cannot open the sweep storage {url}: {reason}").format(
                         url=shown_url(url), reason=_why_unusable(url, error))) from None


def _lost_creation_race(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(words in text for words in ("unique constraint", "already exists", "duplicate"))


def _why_unusable(url: str, error: BaseException) -> str:
    text = first_line(error)
    if "failed to import db access module" in text.lower():  # Optuna's words for no driver
        scheme = url.split(":", 1)[0]
        hint = {"postgresql": "pip install psycopg2-binary",
                "mysql": _("pip install PyMySQL and write mysql+pymysql://")}.get(
                    scheme.split("+", 1)[0])
        return (_("the database driver for {scheme} is not installed").format(scheme=scheme)
                + (f" ({hint})" if hint else ""))
    return text


def shown_url(url: str) -> str:
    """A storage URL as it may be printed: the password replaced by ***; of a URL that does not
    parse, only the scheme and what comes before any ':', '@' or '/' after it (the user)."""
    parsed = _parsed(url)
    if parsed is not None:
        return shown(parsed.render_as_string(hide_password=True))
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    user = re.split(r"[:@/]", rest, maxsplit=1)[0]
    return shown(f"{scheme}{sep}{user}…")


def first_line(exc: BaseException) -> str:
    text = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "")
    if text.startswith("(") and ") " in text:  # "(sqlite3.OperationalError) unable to open..."
        text = text.split(") ", 1)[1]
    return text or type(exc).__name__
