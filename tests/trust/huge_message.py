"""Hostile (reaper): raises an exception whose message is 20 MB of runner commands, line breaks,
ANSI escapes, a lone surrogate, Markdown and HTML, to spoof the report and the workflow commands."""

PAYLOAD = ("\r\n::stop-commands::pwned\r\n::notice::spoofed\n\x1b[2J\x1b[31m\ud800<!-- \n| x | y |\n"
           "\n\n## Score: 40/40\n##[error]fake\n</testcase>\x00\x0b")


def install_reaper():
    raise RuntimeError(PAYLOAD + "A" * 20_000_000 + PAYLOAD)
