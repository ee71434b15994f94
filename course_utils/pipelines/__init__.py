"""The course's ``pipeline()``, and the pipelines transformers 5 removed.

| module | concern |
| --- | --- |
| ``factory`` | ``pipeline(task, model=...)``: course defaults, memory check, stand-ins offline |
| ``qa`` | the question-answering pipeline (extractive spans) |
| ``seq2seq`` | summarization, translation and text2text-generation |
| ``load_errors`` | a weights file cut short, or pickled weights refused, said once |
| ``errors`` | ``PipelineArgumentError``: an argument or input a pipeline cannot use |
"""
