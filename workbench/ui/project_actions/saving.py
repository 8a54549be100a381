"""Save and Save As: the project JSON, its trained weights and its drawn samples."""

from __future__ import annotations

from pathlib import Path

from workbench.core.project import ProjectError, save_project, weights_path
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
        path = self.ask_save_path("Save project", suggested, PROJECT_FILTER)
        if not path:
            return False
        path = Path(path)
        if path.suffix.lower() != ".json":
            path = path.with_name(path.name + ".json")
        return self.save_to(path)

    def save_to(self, path: str | Path) -> bool:
        """The project JSON (atomically), then its trained weights beside it as ``.keras``."""
        path = Path(path).resolve()
        state = self.state
        samples = self._carry_samples(path)
        try:
            save_project(state.project, path)
        except ProjectError as exc:
            if samples is not None:
                state.project.dataset = samples[2]
            self.warn(f"The project was not saved.\n\n{exc}")
            return False
        if samples is not None and state.path is None:
            samples[0].unlink(missing_ok=True)  # moved: they belong to this project now
        problem = ""
        if state.trained.has_model:
            from workbench.core.modelio import save_model

            try:  # on the views' model's own thread; the GUI waits, as for the project file
                state.trained.run_on_model(save_model, weights_path(path))
            except Exception as exc:  # noqa: BLE001 - Keras and the OS raise many kinds
                problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        state.mark_saved(path)
        self._remember(path)
        self.recovery.clear()
        self.saved.emit(str(path))
        if problem:
            self.warn(f"The project was saved, but its trained weights were not: {problem}")
        else:
            extra = f" and {weights_path(path).name}" if state.trained.has_model else ""
            self._status(f"Saved {path}{extra}")
        return True

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
            self._status(f"Your drawn samples stay in {source}", 20_000)
            return None
        try:
            count = carry_samples(source, target)
        except SampleSetError as exc:
            self.warn(f"Your drawn samples did not move with the project: {exc}")
            return None
        if not count:
            return None
        before = state.project.dataset
        if before and Path(before).expanduser().resolve() == source.resolve():
            state.project.dataset = str(target)
        return source, target, before
