"""Offline stand-ins: small local models of the real checkpoints' families, built by our code.

| module | concern |
| --- | --- |
| ``store`` | where stand-ins live: built on first use, checked against a marker, rebuilt when damaged |
| ``builders`` | one builder per kind of stand-in (tokenizer of the family + tiny model) |
| ``tokenizers`` | the stand-ins' tokenizers, trained or counted offline |
| ``tiny`` | tiny configs of each family (shared with the transformers 4.x test fixtures) |
"""
