"""The one exception tree of sloctl.

Every error the CLI reports on purpose derives from :class:`SloctlError`; the CLI
catches only that base class at the top and prints one line per problem (a
traceback only with ``--verbose``). Each class carries an ``exit_code``, so the
exit codes of the contract (0 ok, 1 invalid input or failed check, 2 usage,
3 gate says freeze) live next to the errors that cause them::

    SloctlError                      exit 1
    ├── SpecError                    problems in spec files (path:line: field: message each)
    ├── CompileError                 a spec that cannot be turned into rules
    ├── ToolError                    promtool/amtool missing or failing
    │   └── ToolNotFoundError        the binary is not installed (says how to install it)
    ├── OutputError                  writing generated files failed; old files kept
    ├── TargetError                  a push target (Prometheus, Alertmanager, ...) refused
    ├── LockError                    another sloctl apply holds the lock
    ├── ConfigError                  settings (environment variables) are invalid
    ├── ServerError                  the sloctl server could not be reached or refused
    ├── UsageError                   bad combination of options          exit 2
    └── GateClosedError              the budget policy says freeze       exit 3
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class SloctlError(Exception):
    """Base of every error sloctl reports to a user."""

    exit_code: int = 1

    def lines(self) -> list[str]:
        """The message as one line per problem."""
        return [str(self)]


@dataclass(frozen=True, order=True)
class SpecProblem:
    """One problem in a spec: where it is and what is wrong."""

    path: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class SpecError(SloctlError):
    """Problems in spec files: one or many, all reported together."""

    def __init__(self, problems: Iterable[SpecProblem]) -> None:
        self.problems: list[SpecProblem] = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def at(cls, path: str, line: int, field: str, message: str) -> SpecError:
        """One problem at one place."""
        return cls([SpecProblem(path, line, field, message)])

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class CompileError(SloctlError):
    """A valid spec that cannot be compiled into rules."""


class ToolError(SloctlError):
    """An external tool (promtool, amtool) failed."""

    def __init__(self, tool: str, message: str, output: str = "") -> None:
        self.tool = tool
        self.output = output
        super().__init__(f"{tool}: {message}")

    def lines(self) -> list[str]:
        detail = [f"  {line}" for line in self.output.strip().splitlines() if line.strip()]
        return [str(self), *detail]


class ToolNotFoundError(ToolError):
    """A required binary is not installed."""

    def __init__(self, tool: str, package: str) -> None:
        super().__init__(
            tool,
            f"not found on PATH; install it with `apt-get install -y {package}` "
            "(or run `make setup`)",
        )


class OutputError(SloctlError):
    """Writing outputs failed; the previous files were left in place."""


class TargetError(SloctlError):
    """A live target refused what apply sent, or could not be reached."""

    def __init__(self, target: str, message: str, details: Iterable[str] = ()) -> None:
        self.target = target
        self.message = message
        self.details = [d for d in details if d]
        super().__init__(f"{target}: {message}")

    def lines(self) -> list[str]:
        return [str(self), *(f"  {d}" for d in self.details)]


class LockError(SloctlError):
    """Another ``sloctl apply`` kept the lock on the outputs longer than we would wait."""


class ConfigError(SloctlError):
    """Settings read from the environment are invalid."""


class ServerError(SloctlError):
    """The sloctl server could not be reached, or answered with an error."""

    def __init__(self, url: str, message: str) -> None:
        self.url = url
        super().__init__(f"{url}: {message}")


class UsageError(SloctlError):
    """Options that do not fit together."""

    exit_code = 2


class GateClosedError(SloctlError):
    """The budget policy of an SLO says deployments must stop (one line per SLO)."""

    exit_code = 3

    def lines(self) -> list[str]:
        return str(self).splitlines()
