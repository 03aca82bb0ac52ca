"""Item pipelines, in the order items pass them (crawler/settings.py ITEM_PIPELINES):

- `validate.ValidatePipeline`: the item against `article.schema.json`; rejects to
  `OUTPUT_DIR/rejects/<run_id>.jsonl`.
- `store.StorePipeline`: deduplication (`dedupe.py`) and exactly-once JSON Lines partitions,
  through the state store (`state.py`); run manifests (`runs.py`).

docs/data.md describes the output.
"""
