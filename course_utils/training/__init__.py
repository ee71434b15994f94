"""Chapter 3's training script: ``python -m course_utils.training`` (or ``course train-mrpc``).

| module | concern |
| --- | --- |
| ``__main__`` | the entry point |
| ``options`` | its flags and the validated run configuration |
| ``inputs`` | what it trains on: tokenizer, model, MRPC (checked before the first step) |
| ``loop`` | the Accelerate loop in named steps |
| ``checkpoints`` | checkpoint folders, written atomically and checked |
| ``resume`` | ``--resume``: which checkpoint to continue from, past damaged ones |
| ``guards`` | a diverging run stops (non-finite loss or weights) and saves nothing broken |
| ``lock`` | one run at a time per output folder |
| ``collective`` | stop decisions every process takes together (no process left waiting) |
"""
