"""The shift report (`vmstui report`): computed from the cache (`build`), written as JSON
(`as_json`) or as one self-contained HTML page with its charts (`html`)."""

from vmstui.report.build import AckFigures, AlarmLine, ShiftReport, build_report
from vmstui.report.json_shape import as_json

__all__ = ["AckFigures", "AlarmLine", "ShiftReport", "as_json", "build_report"]
