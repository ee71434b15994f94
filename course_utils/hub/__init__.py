"""Hub access: every request to the Hugging Face Hub (``HF_ENDPOINT``), the HF cache, and the
one decision of where weights and data come from.

| module | concern |
| --- | --- |
| ``client`` | every request, each with a total deadline; Hub failures become course errors here |
| ``transport`` | the deadlines of the requests the libraries send during a course call |
| ``failures`` | what the learner is told for each failure, downloads' included |
| ``errors`` | the course's Hub errors |
| ``endpoint`` | the Hub's address, and whether anything can be sent to it |
| ``access`` | may this login download a (gated) repository? |
| ``cache`` | what the HF cache holds |
| ``policy`` | online, cache or stand-in: the one decision |
"""
