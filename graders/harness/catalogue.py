"""The catalogue (graders/catalogue.toml): every exercise, declared once, in curriculum order."""

import hashlib
import os
from dataclasses import dataclass, field

try:
    import tomllib
except ImportError:  # Python 3.10, as nox's own interpreter may be: nox brings tomli
    import tomli as tomllib

GRADERS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(GRADERS)
CATALOGUE = os.environ.get("PROCLAB_CATALOGUE") or os.path.join(GRADERS, "catalogue.toml")


@dataclass(frozen=True)
class Exercise:
    id: str
    topic: str
    title: str
    file: str
    points: int
    timeout: float
    concepts: list = field(default_factory=list)
    hints: list = field(default_factory=list)
    hints_zh: list = field(default_factory=list)   # the same hints, in Chinese, in the same order
    title_zh: str = ""
    stub_sha256: str = ""
    home: str = GRADERS  # the folder of the catalogue that declared it: graders live below it

    @property
    def relpath(self) -> str:
        """Where the stub lives in a checkout: exercises/03_pipes/pipe_chain.py."""
        return f"exercises/{self.topic}/{self.file}"

    def path_in(self, target: str) -> str:
        return os.path.join(target, self.topic, self.file)

    @property
    def grader(self) -> str:
        return os.path.join(self.home, self.topic, f"test_{self.id}.py")

    @property
    def scenario(self) -> str:
        return os.path.join(self.home, self.topic, f"scenario_{self.id}.py")

    @property
    def mutants_dir(self) -> str:
        return os.path.join(self.home, "mutants", self.id)


def load(path: str = CATALOGUE) -> list[Exercise]:
    with open(path, "rb") as f:
        data = tomllib.load(f)
    home = os.path.dirname(os.path.abspath(path))
    return [Exercise(**entry, home=home) for entry in data.get("exercise", [])]


def by_id(exercises=None) -> dict[str, Exercise]:
    return {ex.id: ex for ex in (exercises or load())}


def select(names: list[str], exercises=None) -> list[Exercise]:
    """Exercises named by id or topic (`03_pipes` or `pipes`), in catalogue order; all when none named."""
    exercises = exercises or load()
    if not names:
        return exercises
    known = {ex.id for ex in exercises} | {ex.topic for ex in exercises} | {ex.topic[3:] for ex in exercises}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown exercise or topic: {', '.join(unknown)} "
                         f"(known: {', '.join(ex.id for ex in exercises)}; see `nox -s list`)")
    return [ex for ex in exercises if {ex.id, ex.topic, ex.topic[3:]} & set(names)]


def sha256_of(path_or_code: str | bytes) -> str:
    data = path_or_code
    if isinstance(path_or_code, str):
        with open(path_or_code, "rb") as f:
            data = f.read()
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def is_untouched_stub(ex: Exercise, code: bytes) -> bool:
    if os.environ.get("PROCLAB_IGNORE_STUB_HASH"):  # verify grades the stubs for real too
        return False
    return bool(ex.stub_sha256) and sha256_of(code) == ex.stub_sha256
