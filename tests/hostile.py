"""Hostile strings and planted scenarios whose identifiers, prompts and model names carry them.

``HOSTILE`` holds markup and script injections, template syntax, control,
C1, bidi and zero-width characters, matplotlib mathtext, format strings,
backslashes and a very long string. :func:`hostile_scenario` plants them into
the account ids, payment ids, device ids, e-mail domains, model names and
prompts of :func:`tests.conftest.planted` (IPs stay valid IPs);
:func:`distinctive_scenario` gives every identifier a long, unmistakable raw
value so a test can grep outputs for leaks.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tests.conftest import planted

HOSTILE = [
    "<script>document.title='P'+'WNED-1'</script>",
    '"><img src=x onerror="document.title=\'P\'+\'WNED-2\'">',
    "</script><script>document.title='P'+'WNED-3'</script>",
    "javascript:document.title='P'+'WNED-4'",
    "' onmouseover='document.title=`P`+`WNED-5`' x='",
    "<svg/onload=console.log('P'+'WNED-6')>",
    '<a href="javascript:alert(1)">click</a>',
    "{{7*7}}${7*7}<%= 7*7 %>",
    "nul\x00byte", "bell\x07esc\x1b[31mred", "del\x7fchar", "c1\x85\x9bchars",
    "bidi\u202eevil\u202c", "iso\u2066late\u2069", "zero\u200bwidth\ufeff\u200d",
    r"$\frac{a}{b}$", "unbalanced $ dollar", r"\$\\", "%s%n%x%%", "back\\slash\\\\",
    "line\nbreak\rcarriage\ttab",
    "long-" + "x" * 5000,
]

#: Markers that only script execution could produce (the source spells them split, as 'P'+'WNED').
EXECUTION_MARKER = "PWNED"


def hostile_scenario(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """:func:`planted` with hostile account ids, payment ids, device ids, e-mail domains, models and prompts.

    Every identifier stays distinct (a hostile prefix plus the original id), so
    the planted ring is still there to detect and explain. Also adds one event
    with a malformed IP that is quarantined, carrying hostile text.
    """
    ev, acc, ring = planted(seed)
    ids = sorted(set(acc["account_id"]))
    rename = {a: f"{HOSTILE[i % len(HOSTILE)][:200]}#{a}" for i, a in enumerate(ids)}
    ev = ev.copy()
    ev["account_id"] = ev["account_id"].map(rename)
    for col, tag in (("device_id", 3), ("payment_id", 7)):
        uniq = sorted(pd.unique(ev[col].dropna()))
        m = {v: f"{HOSTILE[(i + tag) % len(HOSTILE)][:200]}|{v}" for i, v in enumerate(uniq)}
        ev[col] = ev[col].map(m)
    n = len(ev)
    ev["model"] = [HOSTILE[i % len(HOSTILE)][:60] for i in range(n)]
    rng = np.random.default_rng(seed)
    ring_rows = ev["account_id"].str.contains("#ring").to_numpy()
    prompts = np.array([f"Summarise {HOSTILE[i % len(HOSTILE)][:300]} for order {int(rng.integers(0, 9))}"
                        for i in range(n)], dtype=object)
    # The ring repeats one template (so template families exist); others write freely.
    prompts[ring_rows] = [f"You are a helpful agent. {HOSTILE[0]} {HOSTILE[1]} Task {i % 5}: rewrite the text "
                          f"{HOSTILE[12]} {HOSTILE[15]} below in a formal tone." for i in range(int(ring_rows.sum()))]
    ev["prompt"] = prompts
    bad = ev.iloc[[0]].copy()
    bad["ip"] = HOSTILE[0]  # malformed IP: quarantined with its hostile text
    ev = pd.concat([ev, bad], ignore_index=True)
    acc = acc.copy()
    acc["account_id"] = acc["account_id"].map(rename)
    acc["email_domain"] = [f"{HOSTILE[i % len(HOSTILE)][:80].lower()}.mail{i % 4}.example" for i in range(len(acc))]
    return ev, acc, {rename[a] for a in ring}


def distinctive_scenario(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[str]]]:
    """:func:`planted` with long, unmistakable raw identifiers; returns the raw values by kind.

    Account ids ``leakcheck-acct-...``, devices ``leakcheck-dev-...``,
    payments ``leakcheck-pay-...``, e-mail domains ``leakcheck-dom-N.example``;
    IPs are planted's (IPv4, distinctive enough as full strings).
    """
    ev, acc, _ = planted(seed)
    ev = ev.copy()
    ev["account_id"] = "leakcheck-acct-" + ev["account_id"]
    ev["device_id"] = "leakcheck-dev-" + ev["device_id"]
    ev["payment_id"] = "leakcheck-pay-" + ev["payment_id"]
    acc = acc.copy()
    acc["account_id"] = "leakcheck-acct-" + acc["account_id"]
    acc["email_domain"] = [f"leakcheck-dom-{i % 5}.example" for i in range(len(acc))]
    raw = {"account": sorted(set(ev["account_id"])), "ip": sorted(set(ev["ip"])),
           "device": sorted(set(ev["device_id"])), "payment": sorted(set(ev["payment_id"])),
           "email_domain": sorted(set(acc["email_domain"]))}
    return ev, acc, raw
