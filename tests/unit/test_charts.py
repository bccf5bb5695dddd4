"""Server-side SVG charts: valid XML, accessible, proportional, escaped, deterministic."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from core.i18n import brl, percent
from portal.charts import Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
LABELS = ["01/2025", "02/2025", "03/2025"]


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # noqa: S314 (our own output, not untrusted input)


def _bars(root: ET.Element) -> list[ET.Element]:
    return [r for g in root.iter(f"{SVG}g") if g.get("class") == "series" for r in g]


def test_a_bar_chart_is_valid_xml_with_an_accessible_name_and_description():
    svg = bar_chart(
        "rec", "Recovered", LABELS, [Series("Recovered", [100, 200, 0])], brl, empty_text="No data"
    )
    root = _parse(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label") == "Recovered"
    assert root.get("aria-labelledby") == "rec-title rec-desc"
    assert root.find(f"{SVG}title").text == "Recovered"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "02/2025: R$\u00a02,00" in desc
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert all(label in texts for label in LABELS)  # month labels under the axis


def test_bar_heights_are_proportional_to_the_values():
    svg = bar_chart("b", "B", LABELS, [Series("s", [100, 200, 50])], brl, empty_text="-")
    heights = [float(r.get("height", "0")) for r in _bars(_parse(svg)) if r.tag == f"{SVG}rect"]
    assert len(heights) == 3
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.15)
    assert heights[0] == pytest.approx(2 * heights[2], abs=0.15)


def test_each_bar_carries_its_formatted_value_for_screen_readers():
    svg = bar_chart("b", "B", LABELS, [Series("Pagos", [12345, 0, 1])], brl, empty_text="-")
    titles = [t.text for r in _bars(_parse(svg)) for t in r.iter(f"{SVG}title")]
    assert titles[0] == "01/2025 · Pagos: R$\u00a0123,45"


def test_an_empty_chart_says_there_is_no_data():
    for svg in (
        bar_chart("e", "Empty", [], [], brl, empty_text="No data for this period."),
        bar_chart("e", "Zero", LABELS, [Series("s", [0, 0, 0])], brl, empty_text="No data."),
        line_chart(
            "e", "None", LABELS, [Series("s", [None, None, None])], percent, empty_text="No data."
        ),
    ):
        root = _parse(svg)
        no_data = [t for t in root.iter(f"{SVG}text") if t.get("class") == "no-data"]
        assert len(no_data) == 1 and no_data[0].text and no_data[0].text.startswith("No data")
        assert not _bars(root)


def test_text_from_the_data_is_escaped():
    evil = '<script>alert("x")</script> & "quotes"'
    svg = bar_chart(
        "x", evil, [evil, "b"], [Series(evil, [1, 2]), Series("o", [3, 4])], brl, empty_text=evil
    )
    assert "<script>" not in svg
    root = _parse(svg)  # still well-formed
    assert root.find(f"{SVG}title").text == evil  # type: ignore[union-attr]
    assert root.get("aria-label") == evil


def test_a_line_chart_draws_one_point_per_value_and_skips_missing_ones():
    rates = [Decimal("0.1"), None, Decimal("0.25")]
    svg = line_chart("l", "Rate", LABELS, [Series("Rate", rates)], percent, empty_text="-")
    root = _parse(svg)
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 2
    # The higher rate is drawn higher (a smaller y).
    assert float(circles[1].get("cy", "0")) < float(circles[0].get("cy", "0"))
    assert "25,00%" in " ".join(t.text or "" for t in root.iter(f"{SVG}text"))


def test_the_same_data_draws_the_same_bytes():
    series = [Series("a", [1, 5, 3]), Series("b", [2, 0, 7])]
    first = bar_chart("d", "D", LABELS, series, brl, empty_text="-")
    assert first == bar_chart("d", "D", LABELS, series, brl, empty_text="-")
    assert line_chart("d", "D", LABELS, series, brl, empty_text="-") == line_chart(
        "d", "D", LABELS, series, brl, empty_text="-"
    )


def test_a_series_with_the_wrong_number_of_values_is_refused():
    with pytest.raises(ValueError):
        bar_chart("w", "W", LABELS, [Series("s", [1, 2])], brl, empty_text="-")


def _y_labels(svg: str) -> list[str]:
    import re

    axes = svg.split('<g class="axes">')[1].split("</g>")[0]
    return re.findall(r'text-anchor="end" fill="[^"]+">([^<]+)</text>', axes)


def test_a_tiny_rate_has_no_repeated_axis_label():
    from decimal import Decimal

    from core.i18n import percent

    svg = line_chart(
        "t",
        "Taxa",
        ["jan", "fev"],
        [Series("Taxa", [Decimal("0.0001"), Decimal("0.00005")])],
        percent,
        empty_text="-",
    )
    labels = _y_labels(svg)
    assert len(labels) == len(set(labels)) >= 2
    assert labels[0] == "0,00%" and labels[-1] == "0,01%"


def test_counts_are_labelled_in_whole_numbers():
    from core.i18n import number

    svg = bar_chart(
        "c", "Acordos", ["jan", "fev"], [Series("Acordos", [1, 2])], number, empty_text="-"
    )
    assert _y_labels(svg) == ["0", "1", "2"]
    svg = bar_chart("c", "Acordos", ["jan"], [Series("Acordos", [9])], number, empty_text="-")
    assert _y_labels(svg) == ["0", "2", "4", "6", "8", "10"]
