"""``workbench explain MODEL.keras|PROJECT IMAGE...``: the argparse front of actions/explain.py.

It prints what the action reports (one JSON line per image with ``--json``) and has no logic of
its own.
"""

from __future__ import annotations

import json
import sys

from workbench.core.explain import DEFAULT_STEPS, METHODS
from workbench.i18n import _


def add_parser(sub) -> None:
    p = sub.add_parser("explain", help=_("why a model answers what it does for digit images: "
                                         "attributions (gradients, Integrated Gradients, Grad-CAM, "
                                         "occlusion, ...)"))
    p.add_argument("model", metavar="MODEL.keras|PROJECT")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--method", choices=tuple(METHODS), default="gradients",
                   help=_("default: gradients"))
    p.add_argument("--target", type=int, metavar="CLASS",
                   help=_("the class whose evidence is shown (default: the model's answer)"))
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS,
                   help=_("Integrated Gradients' steps (default {steps})").format(
                       steps=DEFAULT_STEPS))
    p.add_argument("--out", metavar="DIR", help=_("write each heatmap over its input as a PNG"))
    p.add_argument("--json", action="store_true", help=_("one JSON object per image on stdout"))
    p.set_defaults(func=cmd_explain)


def cmd_explain(args) -> int:
    from workbench.actions.explain import (
        check_method,
        explain_images,
        load_explained_model,
        write_heatmap,
    )
    from workbench.actions.predict import read_digit

    digits = [read_digit(path) for path in args.images]  # a bad picture: before TensorFlow
    model = load_explained_model(args.model)
    check_method(model, args.method)
    results = explain_images(model, args.images, args.method, args.target, args.steps, digits)
    for item in results:
        written = write_heatmap(item, args.out) if args.out else None
        if args.json:
            sys.stdout.write(json.dumps(item.to_dict()) + "\n")
            sys.stdout.flush()
            continue
        from workbench.core.safe_io import shown

        top = item.probabilities[item.predicted]
        print(_("{image}: {predicted} ({probability}); {method} of the evidence for "
                "{target}").format(image=shown(item.image), predicted=item.predicted,
                                   probability=f"{top:.1%}", method=_(METHODS[args.method]),
                                   target=item.explanation.target)
              + (f" -> {shown(str(written))}" if written else ""))
    return 0
