"""Hub access: every request to the Hugging Face Hub (``HF_ENDPOINT``), the HF cache, and the
one decision of where weights and data come from.

| module | concern |
| --- | --- |
| ``client`` | every request, each with a total deadline; Hub failures become course errors here |
| ``access`` | may this login download a (gated) repository? |
"""
