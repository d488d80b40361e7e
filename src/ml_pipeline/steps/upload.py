"""Step 5: publish the run's metrics, model, manifest and figures to the chosen target.

This is the only step whose container has a network: nothing else can send data away.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ml_pipeline import manifest
from ml_pipeline.atomic import staged_outputs
from ml_pipeline.cli import StepResult, run_step, step_parser
from ml_pipeline.errors import InputError
from ml_pipeline.run_layout import RunLayout
from ml_pipeline.upload_targets import TARGETS

STEP = "upload"
DEFAULT_CREDENTIALS = "/credentials/credentials.json"


def publish_run(
    *, target: str, files: list[Path], run_id: str, layout: RunLayout, args: argparse.Namespace
) -> dict:
    """Imports the target's module only when it is chosen (gdrive pulls in Google's client)."""
    if target == "gdrive":
        if not args.drive_folder_id:
            raise InputError(
                "--target gdrive needs a folder: set DRIVE_FOLDER_ID or pass --drive-folder-id"
            )
        from ml_pipeline.upload_targets._gdrive_auth import check_ca_bundle

        check_ca_bundle()  # before gdrive imports Google's client, which reads it
        from ml_pipeline.upload_targets import gdrive

        return gdrive.publish(
            files=files,
            run_id=run_id,
            folder_id=args.drive_folder_id,
            credentials_file=Path(args.credentials),
            impersonate=args.impersonate or None,
            api_endpoint=args.drive_endpoint or None,
        )
    from ml_pipeline.upload_targets import local

    return local.publish(files=files, run_id=run_id, destination=layout.published_dir)


def _body(args: argparse.Namespace, layout: RunLayout) -> StepResult:
    results = [layout.metrics, layout.model, layout.confusion_matrix_plot, layout.roc_curve_plot]
    inputs = manifest.verify_inputs(layout, STEP, results)
    with tempfile.TemporaryDirectory(prefix="upload-") as scratch:
        # The manifest is published as it stood before this step; a snapshot keeps the copy
        # consistent with the hashes above even if the file changes meanwhile.
        snapshot = Path(scratch) / "manifest.json"
        shutil.copyfile(layout.manifest, snapshot)
        inputs["manifest.json"] = manifest.sha256_of(snapshot)
        receipt = publish_run(
            target=args.target,
            files=[*results, snapshot],
            run_id=layout.run_id,
            layout=layout,
            args=args,
        )
    with staged_outputs() as stage:
        stage.write_json(layout.upload_receipt, receipt)
    outputs = [layout.upload_receipt]
    if args.target == "local":
        outputs += [layout.published_dir / f["name"] for f in receipt["files"]]
    return StepResult(
        params={
            "target": args.target,
            "drive_folder_id": args.drive_folder_id or None,
            "impersonate": args.impersonate or None,
        },
        inputs=inputs,
        outputs=outputs,
        versions=("google-api-python-client", "google-auth") if args.target == "gdrive" else (),
        summary={"files": len(receipt["files"]), "folder": receipt["folder"]},
    )


def build_parser() -> argparse.ArgumentParser:
    env = os.environ.get
    parser = step_parser(STEP, __doc__)
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default=env("UPLOAD_TARGET") or "local",
        help="where to publish (default: env UPLOAD_TARGET, else local)",
    )
    parser.add_argument(
        "--drive-folder-id",
        default=env("DRIVE_FOLDER_ID", ""),
        help="gdrive: the folder (ideally in a Shared Drive) that receives a "
        "sub-folder per run (default: env DRIVE_FOLDER_ID)",
    )
    parser.add_argument(
        "--credentials",
        default=env("GOOGLE_APPLICATION_CREDENTIALS") or DEFAULT_CREDENTIALS,
        help="gdrive: the service account's JSON key file (default: env "
        f"GOOGLE_APPLICATION_CREDENTIALS, else {DEFAULT_CREDENTIALS})",
    )
    parser.add_argument(
        "--impersonate",
        default=env("DRIVE_IMPERSONATE", ""),
        help="gdrive: act as this user through domain-wide delegation "
        "(default: env DRIVE_IMPERSONATE)",
    )
    parser.add_argument(
        "--drive-endpoint",
        default=env("DRIVE_API_ENDPOINT", ""),
        help="gdrive: the Drive API's root URL (default: env DRIVE_API_ENDPOINT, else Google's)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    return run_step(STEP, build_parser(), _body, argv)


if __name__ == "__main__":
    sys.exit(main())
