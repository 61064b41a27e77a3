"""``flask media redact INPUT OUTPUT``: the redaction pipeline on a file, outside any case.

The same analysis and covering as the worker's task (R27), for a handler or an engineer to try
a recording or screenshot by hand. Nothing is stored and no case is touched; it prints the
tracks found and which were covered.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from . import pipeline
from .ffmpeg import MediaError

media_cli = AppGroup("media", help="Recordings and screenshots: automatic redaction (R27).")


@media_cli.command("redact")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("output", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cover-all", is_flag=True, help="Cover every face, the requester's too.")
@click.option(
    "--threshold",
    type=click.FloatRange(0.05, 0.95),
    default=pipeline.Settings().threshold,
    show_default=True,
    help="Detection threshold of the face detector.",
)
@click.option("--requester", "requester", type=int, default=None, help="Track id to keep.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole record as JSON.")
def redact_command(
    source: Path,
    output: Path,
    cover_all: bool,
    threshold: float,
    requester: int | None,
    as_json: bool,
) -> None:
    """Write SOURCE to OUTPUT with every face but the requester's covered."""
    settings = pipeline.Settings(threshold=threshold, cover_all=cover_all)
    try:
        result = pipeline.redact(source, output, settings, requester=requester)
    except MediaError as error:
        raise click.ClickException(str(error)) from error
    record = result.record
    if as_json:
        click.echo(json.dumps(record, indent=2))
        return
    click.echo(
        f"{record['model']} ({record['model_version']}, {record['execution_provider']}),"
        f" threshold {record['threshold']}: {record['frames_processed']} frame(s),"
        f" {record['tracks_found']} track(s)"
    )
    covered = set(record["tracks_covered"])
    for track in record["tracks"]:
        role = "covered" if track["id"] in covered else "kept (requester)"
        click.echo(
            f"  track {track['id']}: {track['start_s']:.2f}-{track['end_s']:.2f} s,"
            f" {track['detections']} detection(s), ~{track['mean_area_px']} px: {role}"
        )
    click.echo(f"Written: {output}")
