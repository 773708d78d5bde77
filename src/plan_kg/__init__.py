"""plan-kg: a Japanese municipality's comprehensive plan (総合計画) as linked open data."""

__version__ = "0.1.0"
