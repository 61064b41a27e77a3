"""Tracking faces across frames (R27): detections every few frames tied into tracks.

Owns the association rule (greedy by IoU, then by distance for small faces that move), the hold
(a track lost by the detector keeps its last box for ``hold`` detection frames, so a face that
turns away for a moment stays covered) and each track's summary: when it is in view, how large
it is, and the frame where it is seen best (for the contact sheet). It knows nothing of ffmpeg
or cases.
"""

from __future__ import annotations

from dataclasses import dataclass

from .detect import Box

MIN_IOU = 0.2


@dataclass
class Track:
    """One face followed through the video."""

    id: int
    first_frame: int
    last_frame: int
    box: Box
    seen: int = 1  # detection frames in which the detector found it
    area_sum: float = 0.0
    lost_for: int = 0  # detection frames since it was last found
    best_frame: int = 0  # where the detector was surest: the contact sheet's picture
    best_box: Box | None = None

    @property
    def mean_area(self) -> float:
        """Mean box area over the detection frames that found it."""
        return self.area_sum / max(1, self.seen)

    @property
    def prominence(self) -> float:
        """Largest x longest present: how the requester's face is told from bystanders'."""
        return self.mean_area * self.seen

    def summary(self, fps: float, pixel_area: float = 1.0) -> dict[str, object]:
        """What the record and the contact sheet keep of the track (JSON-ready).

        ``pixel_area`` is how many frame pixels one detection pixel covers.
        """
        return {
            "id": self.id,
            "first_frame": self.first_frame,
            "last_frame": self.last_frame,
            "start_s": round(self.first_frame / fps, 2) if fps else 0.0,
            "end_s": round(self.last_frame / fps, 2) if fps else 0.0,
            "detections": self.seen,
            "mean_area_px": round(self.mean_area * pixel_area),
            "best_frame": self.best_frame,
        }


class Tracker:
    """Feed it each detection frame's boxes; it says which tracks are live there."""

    def __init__(self, hold: int = 3) -> None:
        self.hold = hold
        self.live: list[Track] = []
        self.ended: list[Track] = []
        self._next_id = 1

    def update(self, frame_index: int, boxes: list[Box]) -> list[tuple[int, Box, bool]]:
        """Associate ``boxes`` with the live tracks; (track id, box, found here) of each."""
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self.live):
            for bi, box in enumerate(boxes):
                iou = track.box.iou(box)
                if iou < MIN_IOU:
                    iou = _nearness(track.box, box)
                if iou > 0:
                    pairs.append((iou, ti, bi))
        pairs.sort(reverse=True)
        matched_tracks: set[int] = set()
        matched_boxes: set[int] = set()
        for _, ti, bi in pairs:
            if ti in matched_tracks or bi in matched_boxes:
                continue
            matched_tracks.add(ti)
            matched_boxes.add(bi)
            track, box = self.live[ti], boxes[bi]
            track.box, track.last_frame, track.lost_for = box, frame_index, 0
            track.seen += 1
            track.area_sum += box.area
            self._keep_best(track, frame_index, box)
        survivors: list[Track] = []
        for ti, track in enumerate(self.live):
            if ti not in matched_tracks:
                track.lost_for += 1
            if track.lost_for > self.hold:
                self.ended.append(track)
            else:
                survivors.append(track)
        self.live = survivors
        for bi, box in enumerate(boxes):
            if bi not in matched_boxes:
                track = Track(self._next_id, frame_index, frame_index, box, area_sum=box.area)
                self._next_id += 1
                self._keep_best(track, frame_index, box)
                self.live.append(track)
        return [(t.id, t.box, t.lost_for == 0) for t in self.live]

    def tracks(self) -> list[Track]:
        """Every track, ended or still live, by id."""
        return sorted(self.ended + self.live, key=lambda t: t.id)

    @staticmethod
    def _keep_best(track: Track, frame_index: int, box: Box) -> None:
        if track.best_box is None or box.score > track.best_box.score:
            track.best_frame, track.best_box = frame_index, box


def _nearness(a: Box, b: Box) -> float:
    """A small score for boxes of similar size whose centres are within one box width."""
    ca = ((a.x1 + a.x2) / 2, (a.y1 + a.y2) / 2)
    cb = ((b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2)
    size = max(a.x2 - a.x1, a.y2 - a.y1, 1.0)
    distance = ((ca[0] - cb[0]) ** 2 + (ca[1] - cb[1]) ** 2) ** 0.5
    ratio = min(a.area, b.area) / max(a.area, b.area, 1.0)
    if distance > size or ratio < 0.4:
        return 0.0
    return 0.1 * (1 - distance / size)


def proposed_requester(tracks: list[Track]) -> int | None:
    """The track proposed as the requester's face: the most prominent one (R27)."""
    if not tracks:
        return None
    return max(tracks, key=lambda t: (t.prominence, -t.id)).id

