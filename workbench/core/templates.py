"""The classic tutorial models (../shared/SEEDS.md) as ready projects, from resources/templates."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from workbench.core.project import Project

TEMPLATE_DIR = Path(__file__).resolve().parents[2] / "resources" / "templates"
DEFAULT_TEMPLATE = "mnist-cnn"
# Menu order: the tutorials' order, simplest first.
ORDER = ("mnist-mlp", "mnist-cnn", "deep-mlp", "lstm-rows", "logistic-regression",
         "linear-regression", "memorise-random", "fonts-logistic", "fonts-one-hidden",
         "fonts-two-hidden", "fonts-two-hidden-adam")


@dataclass(frozen=True)
class Template:
    key: str
    title: str
    description: str
    path: Path

    def project(self) -> Project:
        data = json.loads(self.path.read_text(encoding="utf-8"))
        project = Project.from_dict(data)
        project.name = self.title
        return project


def templates() -> list[Template]:
    found = {}
    for path in sorted(TEMPLATE_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        found[path.stem] = Template(path.stem, data.get("name", path.stem),
                                    data.get("description", ""), path)
    ordered = [found.pop(k) for k in ORDER if k in found]
    return ordered + list(found.values())


def load_template(key: str = DEFAULT_TEMPLATE) -> Project:
    for template in templates():
        if template.key == key:
            return template.project()
    raise KeyError(f"no template {key!r}; templates: {', '.join(t.key for t in templates())}")
