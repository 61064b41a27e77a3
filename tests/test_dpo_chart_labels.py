"""The DPO's charts name every bar in full: labels wrap to fit beside the bars, on the page and in
the PDF report, never cut mid-word ("Bezwaar tegen online proctori…") nor run under a bar.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from rights_portal.dpo.charts import LABEL_WIDTH, LINE_CHARS, Series, bar_chart, wrap_label

LONG_LABELS = [
    "Bezwaar tegen online proctoring",
    "Menselijke beoordeling van een automatische melding",
    "Verzoek om een alternatief tentamen",
    "Inzage in opnames en gegevens",
]
REPORT_TEMPLATE = (
    Path(__file__).resolve().parent.parent / "rights_portal/dpo/templates/dpo/report.html"
)


def test_labels_wrap_between_words_into_lines_that_fit_beside_the_bars():
    for label in LONG_LABELS:
        lines = wrap_label(label)
        assert " ".join(lines) == label  # every word, in order, none cut
        assert all(len(line) <= LINE_CHARS for line in lines)
    # A line of LINE_CHARS characters fits LABEL_WIDTH even in a wide sans-serif at 12 px
    # (0.65 em a character on average), with room to spare before the bars start.
    assert LINE_CHARS * 0.65 * 12 <= LABEL_WIDTH - 8
    assert wrap_label("x" * 200)[-1].endswith("…")  # only beyond three lines


def test_the_chart_keeps_the_full_label_as_its_tooltip_and_grows_for_wrapped_labels():
    svg = str(bar_chart("c", "Titel", "Uitleg", LONG_LABELS, [Series("Verzoeken", [3, 1, 2, 5])]))
    for label in LONG_LABELS:
        assert f"<title>{label}</title>" in svg
    assert "…" not in svg
    bars = [float(x) for x in re.findall(r'<rect class="chart-bar[^"]*" x="([\d.]+)"', svg)]
    assert bars and min(bars) == LABEL_WIDTH  # every bar starts after the label column


def test_every_label_is_readable_in_the_pdf(app_ctx):
    pypdf = pytest.importorskip("pypdf")
    from rights_portal.dpo import report

    style = re.search(r"<style>.*?</style>", REPORT_TEMPLATE.read_text(), re.S)
    assert style
    chart = bar_chart("c", "Titel", "Uitleg", LONG_LABELS, [Series("Verzoeken", [30, 1, 2, 5])])
    html = (
        f"<!doctype html><html lang='nl'><head>{style.group(0)}</head><body>{chart}</body></html>"
    )
    try:
        pdf = report.to_pdf(html)
    except (ImportError, OSError) as missing:  # WeasyPrint or its system libraries
        pytest.skip(f"WeasyPrint is not available: {missing}")
    text = " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    words = " ".join(text.split())
    for label in LONG_LABELS:
        for line in wrap_label(label):
            assert line in words, f"{line!r} is not readable in the PDF: {words!r}"
    assert "…" not in words
