"""The command line's own sentences in English or Chinese. Chinese when PROCLAB_LANG=zh, or when the
locale (LC_ALL, LC_MESSAGES, LANG, in that order) is zh_*. Failure messages stay English."""

import os

EN, ZH = "en", "zh"

TEXT = {
    "topic": ("topic", "主题"),
    "exercise": ("exercise", "练习"),
    "status": ("status", "状态"),
    "points": ("points", "得分"),
    "pass": ("pass", "通过"),
    "fail": ("fail", "未通过"),
    "todo": ("todo", "待完成"),
    "error": ("error", "出错"),
    "score": ("Score: {score}/{max}", "总分: {score}/{max}"),
    "crashed": ("Grading did not finish: {why}", "评分没有完成: {why}"),
    "flagged": ("FLAGGED: {flag}", "已标记: {flag}"),
    "isolation.separate-user": ("isolation: separate-user (your code ran as its own user)",
                                "隔离: separate-user (你的代码以一个单独的用户身份运行)"),
    "isolation.same-user": ("isolation: same-user (your code ran as you: on your own machine the grader cannot be "
                            "protected from it; CI and the gradebook grade as a separate user)",
                            "隔离: same-user (你的代码以你自己的身份运行: 在你自己的机器上, 评分程序无法防备它; "
                            "CI 和成绩册以单独的用户身份评分)"),
    "next": ("Next: {id} ({file}). Read exercises/{topic}/README.md; `nox -s hint -- {id}` gives a hint, "
             "`nox -s grade -- {id}` grades it alone.",
             "下一步: {id} ({file})。先读 exercises/{topic}/README.zh-CN.md; `nox -s hint -- {id}` 给一条提示, "
             "`nox -s grade -- {id}` 只评这一个练习。"),
    "all_pass": ("Every selected exercise passes.", "所选的练习全部通过。"),
    "next_course": ("Every selected exercise passes. Next in the course: {id} ({file}); read "
                    "exercises/{topic}/README.md, then `nox -s grade -- {id}`.",
                    "所选的练习全部通过。课程的下一个练习: {id} ({file}); 先读 exercises/{topic}/README.zh-CN.md, "
                    "然后运行 `nox -s grade -- {id}`。"),
    # nox -s hint
    "hint.head": ("{id}: hint {n} of {total}", "{id}: 提示 {n}/{total}"),
    "hint.more": ("`nox -s hint -- {id}` gives the next one; `nox -s hint -- {id} --all` shows every hint so far.",
                  "`nox -s hint -- {id}` 给下一条; `nox -s hint -- {id} --all` 列出已经看过的全部提示。"),
    "hint.last": ("That was the last hint. Concepts: {concepts}.", "这是最后一条提示。涉及的概念: {concepts}。"),
    "hint.none_left": ("You have seen all {total} hints of {id}; `nox -s hint -- {id} N` shows hint N again, "
                       "`--all` shows them all.",
                       "{id} 的 {total} 条提示你都看过了; `nox -s hint -- {id} N` 重看第 N 条, `--all` 全部列出。"),
    "hint.none_yet": ("No hint of {id} given yet: `nox -s hint -- {id}` gives the first.",
                      "{id} 还没有看过提示: `nox -s hint -- {id}` 给第一条。"),
    "hint.range": ("{id} has hints 1 to {total}.", "{id} 的提示编号是 1 到 {total}。"),
    "hint.all_done": ("Every exercise passes: no hint needed. `nox -s hint -- ID` still shows an exercise's hints.",
                      "所有练习都已通过, 不需要提示。`nox -s hint -- ID` 仍可查看某个练习的提示。"),
    "unknown": ("unknown exercise or topic {name!r}; `nox -s list` shows them all",
                "没有叫 {name!r} 的练习或主题; `nox -s list` 列出全部"),
    # nox -s list
    "list.title": ("title", "标题"),
    "list.next": ("Next: {id}: read exercises/{topic}/README.md, edit {file}, then `nox -s grade -- {id}`.",
                  "下一步: {id}: 先读 exercises/{topic}/README.zh-CN.md, 修改 {file}, "
                  "然后运行 `nox -s grade -- {id}`。"),
    "list.done": ("All exercises pass.", "全部练习都已通过。"),
    # nox -s reset
    "reset.done": ("{file} is the original stub again; your version is kept in {backup}.",
                   "{file} 已恢复为原始的练习模板; 你的版本保存在 {backup}。"),
    "reset.same": ("{file} is already the original stub; nothing to do.", "{file} 本来就是原始模板, 无需恢复。"),
    "reset.nostub": ("cannot find the original stub of {file}: no git commit of this repository holds it. "
                     "Copy exercises/{topic}/{name} from your template repository instead.",
                     "找不到 {file} 的原始模板: 这个仓库的 git 历史里没有它。"
                     "请从模板仓库复制 exercises/{topic}/{name}。"),
    "reset.which": ("name the exercise to reset: nox -s reset -- ID", "请指明要恢复的练习: nox -s reset -- ID"),
    # nox -s watch
    "watch.start": ("Watching {folder}: save an exercise file to grade it. Ctrl-C stops.",
                    "正在监视 {folder}: 保存练习文件即自动评分。按 Ctrl-C 停止。"),
    "watch.saved": ("[{time}] {file} saved: grading {id}", "[{time}] 已保存 {file}: 正在评 {id}"),
    "watch.polling": ("(file events do not arrive in this folder: checking for changes every second)",
                      "(这个目录收不到文件事件: 每秒检查一次改动)"),
    "watch.stopped": ("watch stopped.", "已停止监视。"),
}


def lang() -> str:
    chosen = os.environ.get("PROCLAB_LANG", "").lower()
    if chosen:
        return ZH if chosen.startswith("zh") else EN
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return ZH if value.lower().startswith("zh") else EN
    return EN


def t(key: str, **values) -> str:
    english, chinese = TEXT[key]
    return (chinese if lang() == ZH else english).format(**values)


def status(value: str) -> str:
    return t(value) if value in ("pass", "fail", "todo", "error") else value


def width(text: str) -> int:
    """Columns TEXT takes in a terminal: CJK characters take two."""
    import unicodedata
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text: str, columns: int, right: bool = False) -> str:
    fill = " " * max(0, columns - width(text))
    return fill + text if right else text + fill
