"""``course doctor`` and ``course estimate``."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    doctor = subparsers.add_parser(
        "doctor",
        help="print the environment report and advice",
        description="Print versions, device, memory, disk, HF cache, Hub access and login "
        "(never the token), with advice for this machine.",
    )
    doctor.add_argument("--no-hub", action="store_true", help="do not contact the Hub")
    doctor.epilog = "Exit status 1 when the Hub was asked and did not answer."
    doctor.set_defaults(func=run_doctor, parser=doctor)

    estimate = subparsers.add_parser(
        "estimate",
        help="memory a model needs, and whether it fits here",
        description="Count parameters from a config alone (no weights downloaded) and compare "
        "the memory need with this machine. MODEL is a Hub id, a catalog name, or a local "
        "folder / config.json.",
    )
    estimate.add_argument("model")
    estimate.add_argument(
        "--dtype",
        default="float32",
        choices=["auto", "float32", "float16", "bfloat16", "int8", "int4"],
        help="auto: the dtype the checkpoint is stored in, what from_pretrained loads "
        "(default: %(default)s)",
    )
    estimate.add_argument(
        "--training",
        action="store_true",
        help="estimate full training with AdamW instead of inference",
    )
    estimate.add_argument(
        "--device", default=None, help="device to check against (default: picked)"
    )
    estimate.set_defaults(func=run_estimate, parser=estimate)


def run_doctor(args: argparse.Namespace) -> int:
    from course_utils.environment import advice, chapter_needs, environment_report

    report = environment_report(check_hub=not args.no_hub)
    print(report)
    print()
    print("Advice:")
    for tip in advice(report):
        print(f"  - {tip}")
    print()
    print("Chapter needs:")
    for line in chapter_needs():
        print(f"  - {line}")
    return 1 if report.hub_reachable is False else 0


def run_estimate(args: argparse.Namespace) -> int:
    from course_utils.models.device import pick_device
    from course_utils.models.fit import estimate_memory
    from course_utils.models.memory import check_fits

    # The device first: a bad --device is reported before anything is printed.
    device = pick_device(args.device, source="--device") if args.device is not None else None
    estimate = estimate_memory(args.model, dtype=args.dtype, training=args.training)
    print(estimate)
    print()
    print(check_fits(estimate, device=device))
    return 0
