"""The evaluation report: `reports/<model>/report.html` and its plots, built from the lake's evaluation tables."""

from etl.report.build import write_report

__all__ = ["write_report"]
