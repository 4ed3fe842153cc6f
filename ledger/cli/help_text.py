"""Help text the commands share: the products (rendered from :data:`PRESETS`, the one place
they are defined), what each choice of ``ledger loan open`` means, the environment variables
that are not options, and shell completion."""

from __future__ import annotations

import textwrap
from decimal import Decimal

from ledger.domain.money import Rounding
from ledger.domain.terms import PRESETS, DayCount, Method, Preset, Replan

METHODS: dict[Method, str] = {
    Method.EQUAL_INSTALLMENT: "the same installment (EMI) every month",
    Method.EQUAL_PRINCIPAL: "the same principal every month, interest on what is left",
    Method.INTEREST_FIRST: "interest every month, all the principal with the last installment",
    Method.FLAT: "interest on the original principal every month (an installment purchase)",
}
DAY_COUNTS: dict[DayCount, str] = {
    DayCount.ACT_360: "actual days / 360",
    DayCount.ACT_365: "actual days / 365",
    DayCount.ACT_ACT: "actual days / the days of that year (365 or 366)",
    DayCount.THIRTY_360: "30-day months / 360",
}
ROUNDINGS: dict[Rounding, str] = {
    Rounding.HALF_UP: "a tie away from zero (0.125 -> 0.13)",
    Rounding.HALF_EVEN: "a tie to the even neighbour (0.125 -> 0.12)",
}
REPLANS: dict[Replan, str] = {
    Replan.REDUCE_INSTALLMENT: "same months, smaller installments",
    Replan.REDUCE_TERM: "same installment, fewer months",
}

LINE = 80  # help is wrapped to fit this width (click's own default)

# Environment variables that are not (only) an option of one command; the options' own are
# shown with them ([env var: ...]).
ENVIRONMENT: list[tuple[str, str]] = [
    ("LEDGER_TIMEZONE", "the business timezone; today is today there (default Asia/Shanghai)"),
    ("LEDGER_ACTOR", "who asks, recorded with every event (default: your user name)"),
    ("LEDGER_BATCH_SIZE", "loans per read and per save in close-of-business (default 1000)"),
    (
        "LEDGER_CATCH_UP_LOAN_DAYS",
        "loans x days a batch runs per read and save in a catch-up (default 20000; 1: by day)",
    ),
    (
        "LEDGER_RESIDENT_LOANS",
        "loans a worker keeps in memory between passes (default 50000; 0: none)",
    ),
    ("LEDGER_CHAIN_KEYS", "keys sealing the event chain, k1:<hex>,k2:<hex> (the last seals)"),
    (
        "LEDGER_CHAIN_KEY_FILE",
        "or a file of '<id> <hex>' lines (default $XDG_CONFIG_HOME/ledger/chain-keys)",
    ),
    ("LEDGER_API_KEYS", "the HTTP API's keys (ledger serve; make one: ledger api-key new)"),
    ("LEDGER_API_KEYS_FILE", "or a file of them, one a line (also the roles of --actor names)"),
    (
        "LEDGER_FOUR_EYES_BELOW",
        "waivers, refunds, back-dated repayments, reversals under this amount need no "
        "second person (default: every amount does)",
    ),
    (
        "LEDGER_NON_ACCRUAL_AFTER_DAYS",
        "days past due after which a loan's charges are not income (loan-rules 15; default: never)",
    ),
    (
        "LEDGER_GATEWAY_DELAY_DAYS",
        "0: the simulated bank collects at once; N: deductions are requests answered N days "
        "later (ledger gateway poll; loan-rules 17)",
    ),
    ("LEDGER_GATEWAY_BOUNCE_RATE", "the share of requests the simulated bank bounces (0 to 1)"),
    ("LEDGER_GATEWAY_SECRET", "the shared secret signing the webhook POST /gateway/results"),
    ("LEDGER_GATEWAY_ADAPTER", "a real provider instead of the simulated bank: module:factory"),
    ("LEDGER_CHART_OF_ACCOUNTS", "a JSON file renaming accounts of the journal's chart"),
    ("LEDGER_RATE_CAPS", "annual rate caps of the dispute report (default 0.24,0.36)"),
    ("LEDGER_LPR", "the loan prime rate; the report's third cap is 4 x LPR (default 0.0300)"),
    ("LEDGER_DEBUG", "1: a bug shows its Python trace instead of one line"),
    (
        "APPLICATION_RECORDER_TOPIC",
        "PostgreSQL inserts as binary arrays (ledger/adapters/pg_recorder.py); name the "
        "library's PostgresApplicationRecorder to insert as it does",
    ),
]

COMPLETION = (
    'Shell completion: eval "$(_LEDGER_COMPLETE=bash_source ledger)" in ~/.bashrc '
    "(zsh_source in ~/.zshrc; fish: _LEDGER_COMPLETE=fish_source ledger > "
    "~/.config/fish/completions/ledger.fish). See docs/cli.md."
)


def _listing(title: str, items: list[tuple[str, str]]) -> str:
    """A paragraph click prints as written (``\\b``): a title, then each item, its text
    wrapped to fit 80 columns."""
    width = max(len(name) for name, _ in items)
    lines = [title]
    for name, text in items:
        wrapped = textwrap.wrap(text, LINE - width - 6) or [""]
        lines.append(f"  {name.ljust(width)}  {wrapped[0]}")
        lines += [f"  {' ' * width}  {more}" for more in wrapped[1:]]
    return "\b\n" + "\n".join(lines)


def top_epilog() -> str:
    """The epilog of ``ledger --help``: environment variables and shell completion."""
    return "\n\n".join(
        [
            _listing("Environment (the options' own are shown with them):", ENVIRONMENT),
            COMPLETION,
        ]
    )


def percent(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f} %"


def product_line(preset: Preset) -> str:
    """What a product means, from its definition: method, prepayment fee, what it models."""
    fee = (
        f"prepayment fee {percent(preset.prepayment_fee_rate)} of the principal prepaid"
        if preset.prepayment_fee_rate
        else "no prepayment fee"
    )
    notes = f"; {preset.notes}" if preset.notes else ""
    return f"method {preset.method.value}, {fee}{notes}"


def open_epilog() -> str:
    """The epilog of ``ledger loan open``: the products, then the meaning of each choice."""
    products = [(name, product_line(PRESETS[name])) for name in sorted(PRESETS)]
    rates = (
        "No product sets a rate: give --daily-rate RATE (0.0005 is 0.05 % a day), or "
        "--annual-rate RATE with --day-count; bank_installment takes none (no interest), "
        "but --fee-rate-per-period F instead (loan-rules section 13)."
    )
    return "\n\n".join(
        [
            _listing("Products (--product; every option given overrides the product's):", products),
            rates,
            _listing("Methods (--method):", [(m.value, t) for m, t in METHODS.items()]),
            _listing("Day counts (--day-count):", [(d.value, t) for d, t in DAY_COUNTS.items()]),
            _listing("Rounding (--rounding):", [(r.value, t) for r, t in ROUNDINGS.items()]),
        ]
    )


def replan_help() -> str:
    return "How the rest of the plan changes: " + "; ".join(
        f"{r.value}: {t}" for r, t in REPLANS.items()
    )
