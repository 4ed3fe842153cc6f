"""Run the README's ``console`` blocks as a transcript and compare what they print.

Every ```` ```console ```` block of README.md is a transcript: a line ``$ command`` (with ``\\``
continuations) is run by bash, in order, in one scratch directory, the environment of one
command (its ``export``\\ s) carried to the next; the lines after it, up to the next ``$``, are
what it must print. ``bash`` blocks are references and are not run.

How the printed lines are compared (stderr, then stdout):

- an expected line ``...`` stands for any lines; ``…`` inside a line stands for any text;
- a command that takes ``--json``, or a ``curl``: the expected ``"key": value`` pairs must be
  pairs of the JSON document printed (at any depth; a value ``"…"`` matches any value), and the
  other expected lines (``HTTP/1.1 201 Created``, headers) must be printed lines;
- otherwise each expected line must be a printed line, in the order shown (trailing blanks
  ignored);
- a command whose expected output starts with ``error:`` must fail, every other must succeed.

``ledger serve ... &`` starts the server in the background (on a free port, which replaces the
shown one in every later command); it is stopped at the end.
"""

from __future__ import annotations

import functools
import json
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONSOLE_BLOCK = re.compile(r"^```console\n(.*?)^```", re.S | re.M)
PAIR = re.compile(
    r'"([A-Za-z0-9_]+)":\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|true|false|null|\[\]|\{\}|…)'
)
KEY_ONLY = re.compile(r'"([A-Za-z0-9_]+)":\s*[\[{]')
SHOWN_PORT = "8765"


@dataclass
class Step:
    command: str
    expected: list[str]
    line: int  # where the command is in the README
    output_line: int = 0  # where its expected lines start

    @property
    def json_output(self) -> bool:
        return "--json" in self.command or self.command.startswith("curl ")


def steps(readme: str) -> Iterator[Step]:
    """The commands of every console block, with the lines each must print."""
    for block in CONSOLE_BLOCK.finditer(readme):
        first_line = readme.count("\n", 0, block.start(1)) + 1
        lines = block.group(1).splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ "):
                raise ValueError(f"README line {first_line + i}: output before any command")
            start = i
            command = lines[i][2:]
            while lines[i].endswith("\\"):  # bash reads the continuation, as a reader would
                i += 1
                command += "\n" + lines[i]
            i += 1
            output_at = first_line + i
            expected: list[str] = []
            while i < len(lines) and not lines[i].startswith("$ "):
                expected.append(lines[i])
                i += 1
            yield Step(command, expected, first_line + start, output_at)


def _flat_pairs(document: Any) -> set[tuple[str, str]]:
    pairs: set[tuple[str, str]] = set()
    if isinstance(document, dict):
        for key, value in document.items():
            if isinstance(value, (dict, list)):
                pairs.add((key, "<nested>"))
                if not value:
                    pairs.add((key, "{}" if isinstance(value, dict) else "[]"))
                pairs |= _flat_pairs(value)
            else:
                pairs.add((key, json.dumps(value)))
    elif isinstance(document, list):
        for item in document:
            pairs |= _flat_pairs(item)
    return pairs


def _json_of(stdout: str) -> Any:
    text = stdout.replace("\r\n", "\n")
    text = text.split("\n\n", 1)[-1] if text.startswith("HTTP/") else text
    return json.loads(text)


def _line_pattern(expected: str) -> re.Pattern[str]:
    parts = [re.escape(p) for p in expected.rstrip().split("…")]
    return re.compile(".*?".join(parts) + r"\Z", re.I if expected.startswith("HTTP") else 0)


@dataclass
class Outcome:
    step: Step
    status: int
    stdout: str
    stderr: str
    problems: list[str] = field(default_factory=list)


def compare(step: Step, status: int, stdout: str, stderr: str) -> list[str]:
    """What in ``step``'s expected lines the command did not print."""
    problems: list[str] = []
    expected = [line for line in step.expected if line.strip() and line.strip() != "..."]
    wants_error = bool(expected) and expected[0].startswith("error:")
    if wants_error != (status != 0):
        problems.append(f"exit status {status}, expected {'failure' if wants_error else 0}")
    printed = [line.rstrip() for line in (stderr + stdout).splitlines()]
    json_lines = [line for line in expected if step.json_output and '":' in line]
    if json_lines:
        try:
            pairs = _flat_pairs(_json_of(stdout))
        except ValueError as error:
            return [*problems, f"output is not JSON ({error}): {stdout[:200]!r}"]
        for key, value in PAIR.findall(" ".join(json_lines)):
            wildcard = value in ("…", '"…"')
            if not (any(k == key for k, _ in pairs) if wildcard else (key, value) in pairs):
                problems.append(f"no {key}: {value} in the JSON printed")
        for key in KEY_ONLY.findall(" ".join(json_lines)):
            if (key, "<nested>") not in pairs:
                problems.append(f"no {key} in the JSON printed")
    position = 0
    for line in expected:
        if line in json_lines:
            continue
        pattern = _line_pattern(line)
        found = next((j for j in range(position, len(printed)) if pattern.match(printed[j])), None)
        if found is None:
            problems.append(f"not printed (in this order): {line.rstrip()!r}")
        else:
            position = found + 1
    return problems


def free_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return str(s.getsockname()[1])


@dataclass
class Transcript:
    """A bash environment carried from command to command, in ``directory``."""

    directory: Path
    env: dict[str, str]
    port: str = field(default_factory=free_port)
    servers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def run(self, step: Step) -> Outcome:
        command = step.command.replace(SHOWN_PORT, self.port)
        if command.startswith("ledger serve") and command.rstrip().endswith("&"):
            return self._serve(step, command.rstrip()[:-1])
        env_file = self.directory / ".env-after"
        script = f"{command}\n__status=$?\nenv -0 > {env_file}\nexit $__status\n"
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=self.directory,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if env_file.exists():
            entries = env_file.read_text().split("\0")
            self.env = dict(e.split("=", 1) for e in entries if "=" in e)
            env_file.unlink()
        outcome = Outcome(step, done.returncode, done.stdout, done.stderr)
        outcome.problems = compare(step, done.returncode, done.stdout, done.stderr)
        return outcome

    def _serve(self, step: Step, command: str) -> Outcome:
        log = (self.directory / "serve.log").open("wb")
        server = subprocess.Popen(
            ["bash", "-c", f"exec {command}"], cwd=self.directory, env=self.env,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.servers.append(server)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", int(self.port))) == 0:
                    return Outcome(step, 0, "", "")
            time.sleep(0.1)
        text = (self.directory / "serve.log").read_text()
        return Outcome(step, 1, "", text, [f"the server did not start: {text[-300:]}"])

    def stop(self) -> None:
        for server in self.servers:
            server.terminate()
            server.wait(timeout=20)


def run_readme(readme: Path, directory: Path, env: dict[str, str]) -> list[Outcome]:
    transcript = Transcript(directory, {**env, "PWD": str(directory)})
    try:
        return [transcript.run(step) for step in steps(readme.read_text())]
    finally:
        transcript.stop()


def base_env(venv_bin: Path, home: Path, source: Path) -> dict[str, str]:
    """A clean environment: the ledger of ``source`` on the PATH, no LEDGER_* setting of the
    test run (the README sets what it needs), ``home`` as HOME (so the chain key made on first
    use is the scratch directory's own)."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("LEDGER_", "COLUMNS"))}
    path = f"{venv_bin}:{os.environ.get('PATH', '')}"
    return {**keep, "HOME": str(home), "PATH": path, "PYTHONPATH": str(source)}


VOLATILE = {"seconds", "loan_days_per_second", "finished_at", "uuid_v4"}


def _actual_pair(match: re.Match[str], values: dict[str, list[str]]) -> str:
    key = match.group(1)
    if key in VOLATILE:
        return f'"{key}": …'
    found = values.get(key, [])
    return f'"{key}": {found[0]}' if len(found) == 1 else match.group(0)


def filled(readme: str, outcomes: list[Outcome]) -> str:
    """``readme`` with each failing example's shown values replaced by the printed ones (a
    maintainer's tool: read the result before keeping it)."""
    lines = readme.splitlines()
    for outcome in reversed(outcomes):
        step = outcome.step
        if not outcome.problems:
            continue
        at, count = step.output_line - 1, len(step.expected)
        if step.json_output and any('":' in e for e in step.expected):
            try:
                document = _json_of(outcome.stdout)
            except ValueError:
                continue
            values: dict[str, list[str]] = {}
            for key, value in _flat_pairs(document):
                values.setdefault(key, []).append(value)
            lines[at : at + count] = [
                PAIR.sub(functools.partial(_actual_pair, values=values), e) for e in step.expected
            ]
        else:
            printed = [x.rstrip() for x in (outcome.stderr + outcome.stdout).splitlines()]
            lines[at : at + count] = printed + [e for e in step.expected if not e.strip()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # print every step's real output, for editing the README
    import sys
    import tempfile

    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as scratch:
        env = base_env(Path(sys.executable).parent, Path(scratch), root)
        outcomes = run_readme(root / "README.md", Path(scratch), env)
        for outcome in outcomes:
            print(f"$ {outcome.step.command}   [README line {outcome.step.line}]")
            print(outcome.stderr + outcome.stdout, end="")
            for problem in outcome.problems:
                print(f"  !! {problem}")
        if "--fill" in sys.argv:
            (root / "README.filled.md").write_text(
                filled((root / "README.md").read_text(), outcomes)
            )
