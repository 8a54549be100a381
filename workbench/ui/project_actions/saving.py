"""Save and Save As: the project JSON, its trained weights and its drawn samples."""

from __future__ import annotations

import time
from pathlib import Path

from PyQt5 import sip
from PyQt5.QtCore import QEventLoop
from PyQt5.QtWidgets import QApplication

from workbench.core.atomic import write_bytes
from workbench.core.project import ProjectError, save_project, weights_path
from workbench.core.safe_io import shown
from workbench.i18n import _
from workbench.ui.draw.samples import (
    SampleSetError,
    carry_samples,
    load_samples,
    samples_location,
)
from workbench.ui.project_actions.dialogs import PROJECT_FILTER


class SaveMixin:
    """Part of ProjectActions: writing the open project."""

    def save(self) -> bool:
        if self.state.path is None or self.state.read_only:
            return self.save_as()
        return self.save_to(self.state.path)

    def save_as(self) -> bool:
        state = self.state
        if state.path is not None:
            suggested = str(state.path)
        else:
            stem = "".join(c if c.isalnum() or c in "-_ " else "-"
                           for c in (state.project.name or "project")).strip() or "project"
            suggested = str(self.start_folder() / f"{stem}.json")
        path = self.ask_save_path(_("Save project"), suggested, PROJECT_FILTER)  # translated there
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != ".json":
            path = path.with_name(path.name + ".json")
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        """The project JSON (atomically), then its trained weights beside it as ``.keras``, made
        by the engine and written when it answers (``finish_writes`` waits for them)."""
        path = Path(path).resolve()
        state = self.state
        samples = self._carry_samples(path)
        try:
            save_project(state.project, path)
        except ProjectError as exc:
            if samples is not None:
                state.project.dataset = samples[2]
            self.warn(_("The project was not saved.\n\n{exc}").format(exc=exc))
            return False
        if samples is not None and state.path is None:
            samples[0].unlink(missing_ok=True)  # moved: they belong to this project now
        state.mark_saved(path)
        self._remember(path)
        self.recovery.clear()
        self.saved.emit(str(path))
        if state.trained.has_model:
            self._save_weights(path)
        else:
            self._status(_("Saved {path}").format(path=path))
        return True

    def _save_weights(self, path: Path) -> None:
        """The engine makes the trained model's ``.keras`` (``save_keras``); it is written
        beside the project (atomically) when its bytes come."""
        target = weights_path(path)
        self._status(_("Saved {path}; writing its trained weights ({name})…").format(
            path=path, name=target.name), 0)

        def done(reply: dict | None, error: str, request: list) -> None:
            self._weights_writes.pop(request[0], None)
            problem = error
            if not error:
                try:
                    write_bytes(target, memoryview(reply["keras"]), ".keras")
                except OSError as exc:
                    problem = f"{shown(target)}: cannot be written ({exc.strerror or exc})"
            if sip.isdeleted(self.window):
                return  # written; the window that asked has gone
            if problem:
                self._status("")
                self.warn(_("The project was saved, but its trained weights were not: "
                            "{problem}").format(problem=problem))
            else:
                self._status(_("Saved {path} and {name}").format(path=path, name=target.name))

        request: list = [None]
        asked = self.state.engine.ask("save_keras", self.state.trained.model_body(),
                                      lambda reply, error: done(reply, error, request))
        if asked is not None:
            request[0] = asked
            self._weights_writes[asked] = target

    def finish_writes(self, timeout_s: float = 120.0) -> bool:
        """Wait (the window closing) for the trained weights still being saved: True when none
        is left. The engine's answers come as events, which this processes meanwhile."""
        deadline = time.monotonic() + timeout_s
        while self._weights_writes and time.monotonic() < deadline:
            QApplication.processEvents(QEventLoop.ExcludeUserInputEvents, 50)
            time.sleep(0.005)
        return not self._weights_writes

    def _carry_samples(self, path: Path) -> tuple[Path, Path, str] | None:
        """The Draw tab's sample set goes where the project goes (copied into the new folder).

        Returns (from, to, the dataset name before) when samples were carried; a dataset that
        was the sample set now names the new file. Samples that cannot go stay where they are,
        and the user is told where.
        """
        state = self.state
        source = samples_location(state.path, self.data_dir, state.untitled_key)
        target = samples_location(path)
        if source == target or not source.exists():
            return None
        try:
            there = len(load_samples(target)[1])
        except SampleSetError:
            there = 0  # carry_samples says why it cannot join them
        if there and not self.ask_merge_samples(source, target, there):
            self._status(_("Your drawn samples stay in {source}").format(source=source), 20_000)
            return None
        try:
            count = carry_samples(source, target)
        except SampleSetError as exc:
            self.warn(_("Your drawn samples did not move with the project: {exc}").format(exc=exc))
            return None
        if not count:
            return None
        before = state.project.dataset
        if before and Path(before).expanduser().resolve() == source.resolve():
            state.project.dataset = str(target)
        return source, target, before
