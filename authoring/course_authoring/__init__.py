"""Instructors' and maintainers' tools for the course; not part of the learner's install.

| module | concern |
| --- | --- |
| ``slides`` / ``assets`` / ``cli`` | ``course slides`` / ``course html``: notebooks as offline reveal.js decks and pages |
| ``refresh_notebooks`` | run the notebooks offline and store the outputs that are committed |
| ``sync_zh_cn`` | keep the zh-CN notebooks in step with the English ones |
| ``make_mrpc_fixture`` / ``make_cjk_font`` | regenerate the MRPC fixture and the CJK font subset |
"""
