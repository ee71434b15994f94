"""Models: where a checkpoint's weights come from, its config, whether it fits, where it runs.

| module | concern |
| --- | --- |
| ``resolve`` | a name -> a ``Checkpoint`` (Hub, cache, folder or stand-in), decided once |
| ``config`` | the one step from a name to (config, stored dtype, label), without weights |
| ``memory`` | parameter counts on the meta device and "will it fit?" verdicts, from a config |
| ``device`` | which device to run on |
"""
