"""Chapter 0 (setup): questions about the learner's own machine, checked on that machine.

The answers differ from one machine to the next: the check asks this kernel's huggingface_hub
(and, for the gated repository, the Hub itself) what the right answer is here and now.
"""

from __future__ import annotations

from pathlib import Path

from course_utils import settings
from course_utils.exercises.core import Exercise, NotYet, correct, wrong
from course_utils.exercises.messages import Text
from course_utils.exercises.questions import Choice, choice_question
from course_utils.hub import access

GATED_REPO = "meta-llama/Meta-Llama-3-8B"

# --- q1: where the hub cache is ------------------------------------------------------------


def _as_path(answer) -> Path:
    if not isinstance(answer, str | Path):
        raise NotYet(
            "wrong_type", expected="a folder (a str or a pathlib.Path)", got=type(answer).__name__
        )
    return Path(answer).expanduser().resolve()


def check_hub_cache(answer):
    from huggingface_hub import constants

    given = _as_path(answer)
    if given == Path(constants.HF_HUB_CACHE).expanduser().resolve():
        return correct(folder=constants.HF_HUB_CACHE)
    if given == Path(constants.HF_HOME).expanduser().resolve():
        return wrong("hf_home", folder=constants.HF_HUB_CACHE)
    if given == (Path.home() / ".cache" / "huggingface" / "hub").resolve():
        return wrong("default_folder", folder=constants.HF_HUB_CACHE)
    if (
        given == settings.cache_root().expanduser().resolve()
        or settings.cache_root().resolve() in given.parents
    ):
        return wrong("course_cache")
    return wrong("general")


HUB_CACHE = Exercise(
    name="hub_cache",
    title=Text("where your downloads go", "下载的文件放在哪里"),
    answer="value",
    check=check_hub_cache,
    correct=Text("this kernel downloads models into {folder}.", "这个内核把模型下载到 {folder}。"),
    general=Text(
        "that is not the folder this kernel downloads into: huggingface_hub knows it.",
        "这不是这个内核下载文件的文件夹：huggingface_hub 知道答案。",
    ),
    misconceptions={
        "hf_home": Text(
            "that is HF_HOME, the root of everything Hugging Face keeps (token, datasets, ...); "
            "models go into its hub/ folder: {folder}.",
            "那是 HF_HOME，Hugging Face 所有文件（令牌、数据集……）的根目录；模型放在它下面的 "
            "hub/ 文件夹：{folder}。",
        ),
        "default_folder": Text(
            "that is the default, ~/.cache/huggingface/hub; this kernel was started with another "
            "HF_HOME (or HF_HUB_CACHE), so its downloads go to {folder}.",
            "那是默认位置 ~/.cache/huggingface/hub；这个内核启动时设置了别的 HF_HOME"
            "（或 HF_HUB_CACHE），所以它下载到 {folder}。",
        ),
        "course_cache": Text(
            "that is the course's own cache (COURSE_CACHE), where the offline stand-ins are "
            "built; the Hub's downloads have their own folder.",
            "那是课程自己的缓存（COURSE_CACHE），离线替身模型在那里生成；从 Hub 下载的文件"
            "另有文件夹。",
        ),
    },
    hints=(
        Text(
            "huggingface_hub reads HF_HOME once, at import, and keeps what it decided in "
            "huggingface_hub.constants.",
            "huggingface_hub 在导入时读取一次 HF_HOME，把结果保存在 huggingface_hub.constants 里。",
        ),
        Text(
            "constants.HF_HOME is the root; the models' folder is constants.HF_HUB_CACHE.",
            "constants.HF_HOME 是根目录；模型的文件夹是 constants.HF_HUB_CACHE。",
        ),
    ),
    solution="""
from huggingface_hub import constants

hub_cache = constants.HF_HUB_CACHE

ex.{label}.check(hub_cache)
""",
)

# --- q2: may this machine download a gated repository? -------------------------------------


def check_gated_access(answer):
    result = access.check_repo_access(GATED_REPO)
    if hasattr(answer, "status") and hasattr(answer, "ok"):
        return wrong("whole_result", status=result.status)
    if isinstance(answer, str):
        return wrong("status_not_bool", status=result.status)
    if not isinstance(answer, bool):
        raise NotYet("wrong_type", expected="True or False", got=type(answer).__name__)
    if answer == result.ok:
        return correct(answer=answer, status=result.status, message=result.message)
    if result.status == "offline":
        return wrong("offline_true")
    if answer and result.status in ("not logged in", "no access"):
        return wrong("exists_is_not_access", status=result.status, message=result.message)
    return wrong("general", status=result.status, message=result.message)


GATED_ACCESS = Exercise(
    name="llama_downloadable",
    title=Text(f"may you download {GATED_REPO}?", f"你能下载 {GATED_REPO} 吗？"),
    answer="value",
    check=check_gated_access,
    correct=Text(
        "{answer}, since the Hub's answer for this machine is {status!r}. {message}",
        "{answer}，因为 Hub 对这台机器的回答是 {status!r}。{message}",
    ),
    general=Text(
        "the Hub's answer for this machine is {status!r}: {message}",
        "Hub 对这台机器的回答是 {status!r}：{message}",
    ),
    misconceptions={
        "whole_result": Text(
            "that is the whole AccessResult (its status here: {status!r}); the question wants "
            "True or False: its .ok.",
            "这是整个 AccessResult（这里的状态是 {status!r}）；题目要的是 True 或 False：它的 .ok。",
        ),
        "status_not_bool": Text(
            "that is a status (here it is {status!r}); the question wants True or False: "
            "access.ok is True only when the status is 'ok'.",
            "这是一个状态（这里是 {status!r}）；题目要的是 True 或 False：只有状态是 'ok' 时 "
            "access.ok 才是 True。",
        ),
        "offline_true": Text(
            "this kernel is offline (HF_HUB_OFFLINE=1): nothing can be downloaded, gated or not, "
            "so the answer is False.",
            "这个内核处于离线状态（HF_HUB_OFFLINE=1）：不管是不是受限仓库，什么都下载不了，"
            "所以答案是 False。",
        ),
        "exists_is_not_access": Text(
            "the repository exists and its page is public, but it is gated: {message}",
            "这个仓库存在，页面也公开，但它是受限仓库：{message}",
        ),
    },
    hints=(
        Text(
            "course_utils.check_repo_access(repo_id) asks the Hub with your login (or says "
            "that it is offline).",
            "course_utils.check_repo_access(repo_id) 用你的登录信息去问 Hub（离线时它会直接说明）。",
        ),
        Text(
            "Its answer has a .status and an .ok: True only when you may download now.",
            "它的返回值有 .status 和 .ok：只有现在就能下载时 .ok 才是 True。",
        ),
    ),
    solution=f"""
from course_utils import check_repo_access

llama_downloadable = check_repo_access("{GATED_REPO}").ok

ex.{{label}}.check(llama_downloadable)
""",
)

# --- q3: setting HF_HOME too late ----------------------------------------------------------

HF_HOME_TOO_LATE = choice_question(
    title=Text("HF_HOME, set after the import", "导入之后才设置 HF_HOME"),
    choices=[
        Choice(
            "a",
            "new folder",
            "huggingface_hub read HF_HOME once, when it was imported: changing os.environ "
            "afterwards changes nothing in this process.",
            "huggingface_hub 只在导入时读取一次 HF_HOME：之后再改 os.environ，对这个进程不起作用。",
        ),
        Choice(
            "b",
            "old folder",
            "the setting was read at import; set HF_HOME before Python starts (or in the "
            "first cell, before any Hugging Face import), then restart the kernel.",
            "这个设置在导入时就读过了；要在 Python 启动之前（或在第一个单元格、任何 Hugging "
            "Face 库导入之前）设置 HF_HOME，然后重启内核。",
        ),
        Choice(
            "c",
            "error",
            "nothing complains: the new value is simply never read by this process.",
            "不会报错：这个进程根本不会再去读新的值。",
        ),
        Choice(
            "d",
            "moved",
            "nothing moves files for you: the old cache stays where it is, and this process "
            "keeps using it.",
            "没有谁会替你搬文件：旧缓存留在原地，这个进程继续用它。",
        ),
    ],
    answer="b",
    hints=(
        Text(
            "When does huggingface_hub read its settings?",
            "huggingface_hub 是什么时候读取这些设置的？",
        ),
        Text(
            "Section 5 checked it with two fresh Python processes.",
            "第 5 节用两个全新的 Python 进程验证过。",
        ),
    ),
)

EXERCISES = [HUB_CACHE, GATED_ACCESS, HF_HOME_TOO_LATE]
