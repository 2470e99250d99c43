"""`tailor evaluate`: offline accuracy of Tailor's real ranking path against baselines on a held-out split.

splits.py cuts an event log into train and truth, baselines.py fits the reference models on the
train matrix, run.py builds and serves Tailor on the train part and asks it through the client,
metrics.py scores every model the same way, buckets.py by user activity; rerank.py checks Rerank
on a noisy upstream order, html_report.py writes the self-contained `--html` page.
"""

from loadtests.quality.evaluate.run import ModelResult, Report, evaluate

__all__ = ["ModelResult", "Report", "evaluate"]
