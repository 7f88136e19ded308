"""Account populations: legitimate individuals, enterprises and automation.

Every account is described by the same per-account parameter columns (activity
window, rate, time profile, IP-source mix, devices, card, templates, output
lengths, model adoption), so event generation is one kind-agnostic vectorised
gather. This module owns those columns (:class:`Population`) and the benign
populations; rings are added by :mod:`._rings`.
"""

from __future__ import annotations

import numpy as np

from ._pools import TZ_WEIGHTS, TZS, UNIVERSITIES, WEBMAIL, World, phone_for_tz
from ._spec import Scenario
from ._text import FAMILIES, TemplateBank
from ._timeline import Profiles
from .._unique import unique

__all__ = ["Population", "KINDS", "add_legit", "add_enterprises", "add_automation"]

KINDS = ["legit", "enterprise", "automation", "ring"]

_DEFAULTS: dict[str, float] = dict(
    kind=0, ring=-1, group=-1, created_h=0.0, act_start=0.0, act_end=0.0, weight=1.0, row=0,
    disp=0.0, p_home=1.0, p_mobile=0.0, p_vpn=0.0, home_ip=0, household=-1, lease_h=np.inf,
    pool_off=0, pool_len=0, sticky_h=0.0, dev1=0, dev2=0, p_dev2=0.0, pay_off=0, pay_len=0,
    pay_rot_h=0.0, pay_phase=0, tpl_off=0, tpl_len=0, p_tpl=0.0, free_mu=np.log(18.0),
    tok_mu=np.log(300.0), tok_sigma=1.0, model_base=2, pivot_h=np.inf, p_new=0.0, email=0,
    phone=0, dev_rand=0,
)
_INT = {"kind", "ring", "group", "row", "household", "pool_off", "pool_len", "dev1", "dev2",
        "pay_off", "pay_len", "pay_phase", "tpl_off", "tpl_len", "model_base", "email", "phone", "dev_rand"}


class Population:
    """Column store of per-account generation parameters plus the shared pools.

    Hours are measured from the window start; ``act_start``/``act_end`` bound the
    hours in which an account sends requests.
    """

    def __init__(self, spec: Scenario, world: World, seed: int) -> None:
        self.spec = spec
        self.world = world
        self.seed = seed
        self.hours = int(np.ceil(spec.days * 24))
        self.profiles = Profiles(spec.start, self.hours)
        self.bank = TemplateBank()
        self.public_tpl = [self.bank.add(t) for t in FAMILIES["public"]]
        self.release_h = (np.inf if spec.model_release_day is None
                          else float(spec.model_release_day) * 24.0)
        self._cols: dict[str, list[np.ndarray]] = {k: [] for k in _DEFAULTS}
        self.n = 0
        self.ip_pool: list[np.ndarray] = []
        self.n_ip = 0
        self.tpl_pool: list[np.ndarray] = []
        self.n_tpl = 0
        self.next_group = 0
        self.next_household = 0
        # (first account, end account, target events) of each ring head.
        self.targets: list[tuple[int, int, float]] = []
        self.ring_ids: list[str] = []
        self.legit_static_ips = np.zeros(0, dtype=np.uint32)

    def add(self, n: int, **cols: object) -> int:
        """Append ``n`` accounts (scalars broadcast); return the index of the first."""
        unknown = set(cols) - set(_DEFAULTS)
        if unknown:
            raise KeyError(f"unknown population columns {sorted(unknown)}")
        for k, default in _DEFAULTS.items():
            v = np.asarray(cols.get(k, default))
            self._cols[k].append(np.broadcast_to(v, (n,)).copy())
        first = self.n
        self.n += n
        return first

    def update_last(self, rows: np.ndarray, **cols: object) -> None:
        """Overwrite columns of ``rows`` (indices within the last :meth:`add` block)."""
        for k, v in cols.items():
            self._cols[k][-1][rows] = v

    def add_ips(self, ips: np.ndarray) -> int:
        off = self.n_ip
        self.ip_pool.append(np.asarray(ips, dtype=np.uint32))
        self.n_ip += len(ips)
        return off

    def add_templates(self, ids: list[int] | np.ndarray) -> int:
        off = self.n_tpl
        self.tpl_pool.append(np.asarray(ids, dtype=np.int64))
        self.n_tpl += len(ids)
        return off

    def groups(self, n: int) -> int:
        g = self.next_group
        self.next_group += n
        return g

    def households(self, n: int) -> int:
        h = self.next_household
        self.next_household += n
        return h

    def freeze(self) -> None:
        """Concatenate the columns into attributes (``self.kind``, ``self.rate_h``, ...)."""
        for k, parts in self._cols.items():
            arr = np.concatenate(parts) if parts else np.zeros(0)
            setattr(self, k, arr.astype(np.int64 if k in _INT else np.float64))
        self.home_ip = self.home_ip.astype(np.uint32)
        # Guarantee a non-empty activity window that starts after creation.
        self.act_start = np.minimum(self.act_start, self.act_end - 0.25)
        self.created_h = np.minimum(self.created_h, self.act_start)
        self.ip = np.concatenate(self.ip_pool) if self.ip_pool else np.zeros(1, np.uint32)
        self.tpl = np.concatenate(self.tpl_pool) if self.tpl_pool else np.zeros(1, np.int64)
        self.bank.compile()
        self.profiles.finalize()
        p = self.profiles
        span = p.integral(self.row, self.act_end) - p.integral(self.row, self.act_start)
        self.rate_h = self.weight / 24.0
        for lo, hi, target in self.targets:
            expected = self.weight[lo:hi] * span[lo:hi]
            extra = max(target - (hi - lo), 0.0)
            self.rate_h[lo:hi] = self.weight[lo:hi] * extra / max(expected.sum(), 1e-9)


def _created_before(rng: np.random.Generator, n: int, mean_days: float) -> np.ndarray:
    return -(rng.exponential(mean_days, n) * 24.0 + rng.uniform(0, 24, n))


def _heavy(rng: np.random.Generator, mean: float, sigma: float, n: int, cap: float) -> np.ndarray:
    return np.minimum(mean * rng.lognormal(0.0, sigma, n) / np.exp(sigma**2 / 2), cap)


def add_legit(pop: Population) -> None:
    """Legitimate individuals: households, home/CGNAT/VPN IPs, popular devices, cards."""
    spec, w, rng = pop.spec, pop.world, pop.world.rng
    n = spec.n_legit
    size = np.where(rng.random(n) < spec.family_share,
                    rng.integers(2, spec.max_household + 1, n), 1)
    hh_of = np.repeat(np.arange(n), size)[:n]
    n_hh = int(hh_of[-1]) + 1
    hh0 = pop.households(n_hh)
    first_member = np.searchsorted(hh_of, np.arange(n_hh))
    tz = rng.choice(TZS, size=n_hh, p=TZ_WEIGHTS)[hh_of]
    home = w.residential_ips(n_hh)
    lease = np.where(rng.random(n_hh) < 0.5, np.inf, np.maximum(rng.exponential(10 * 24, n_hh), 12))
    static = np.isinf(lease)
    pop.legit_static_ips = unique(home[static])
    multi = np.bincount(hh_of, minlength=n_hh) > 1
    shares_card = (multi & (rng.random(n_hh) < 0.6))[hh_of]
    owner = np.where(shares_card, first_member[hh_of], np.arange(n))
    free = (rng.random(n) < spec.free_tier_share) & ~shares_card
    uniq, card_rank = np.unique(owner, return_inverse=True)
    card_off = w.new_cards(uniq.size)

    created = _created_before(rng, n, 400.0)
    newbie = rng.random(n) < 0.05
    created[newbie] = rng.uniform(0, pop.hours - 1, int(newbie.sum()))
    mobile = rng.random(n) < spec.mobile_share
    p_mobile = np.where(mobile, rng.beta(2, 3, n), 0.0)
    vpn = rng.random(n) < spec.vpn_share
    p_vpn = np.where(vpn, rng.beta(2, 2, n) * (1 - p_mobile), 0.0)
    boiler = rng.random(n) < spec.boilerplate_share
    tpl_off = pop.add_templates(pop.public_tpl + pop.public_tpl[:1])
    n_pub = len(pop.public_tpl)

    email = w.webmail(n)
    campus = vpn & (rng.random(n) < 0.4)
    email[campus] = len(WEBMAIL) + rng.integers(0, len(UNIVERSITIES), int(campus.sum()))
    pivot = np.where(rng.random(n) < 0.65, pop.release_h + rng.exponential(6 * 24, n), np.inf)
    rows = np.array([pop.profiles.diurnal(int(z)) for z in TZS])
    pop.add(
        n, kind=0, group=pop.groups(1), created_h=created,
        act_start=np.maximum(created + rng.uniform(0, 0.5, n), 0.0), act_end=float(pop.hours),
        weight=_heavy(rng, spec.legit_rate, 1.4, n, 600.0),
        row=rows[np.searchsorted(TZS, tz)], disp=0.5,
        p_home=1 - p_mobile - p_vpn, p_mobile=p_mobile, p_vpn=p_vpn,
        home_ip=home[hh_of], household=hh0 + hh_of, lease_h=lease[hh_of],
        dev1=w.popular_devices(n), dev2=w.popular_devices(n), p_dev2=0.1 + 0.5 * p_mobile,
        pay_off=card_off + card_rank, pay_len=np.where(free, 0, 1),
        tpl_off=tpl_off + rng.integers(0, n_pub, n), tpl_len=rng.integers(1, 3, n),
        p_tpl=np.where(boiler, rng.beta(2, 3, n), 0.0),
        free_mu=rng.normal(np.log(18), 0.6, n), tok_mu=rng.normal(np.log(320), 0.5, n),
        tok_sigma=0.9, model_base=rng.choice([2, 0, 1], size=n, p=[0.55, 0.25, 0.2]),
        pivot_h=pivot, p_new=rng.uniform(0.5, 1.0, n), email=email,
        phone=phone_for_tz(rng, tz),
    )
    if spec.longform_share > 0:
        # Drawn after everything else so worlds without long-form writers are unchanged.
        lf = np.flatnonzero(rng.random(n) < spec.longform_share)
        pop.update_last(lf, tok_mu=np.log(rng.uniform(1500, 4000, lf.size)),
                        tok_sigma=rng.uniform(0.2, 0.45, lf.size))
    if spec.public_templates > 0:
        _public_long_tail(pop, rng, np.flatnonzero(boiler), spec.public_templates)


def _public_long_tail(pop: Population, rng: np.random.Generator, users: np.ndarray, k: int) -> None:
    """Move 60% of the boilerplate users to a long tail of ``k`` public templates (Zipf).

    Each template is a fixed run of 25-60 vocabulary words (a prompt-library entry) and a short
    free part, so prompts of one template form one family and templates differ from each other;
    popular ones are hubs, the tail is shared by tens to hundreds of strangers.
    """
    from ._text import vocabulary
    from ._util import ZipfSampler

    words = np.asarray(vocabulary().to_pylist(), dtype=object)
    ids = []
    for _ in range(k):
        body = " ".join(words[rng.integers(40, 6000, int(rng.integers(25, 61)))])
        ids.append(pop.bank.add(f"{body}\n\n{{short}}"))
    off = pop.add_templates(ids + ids[:1])
    pick = users[rng.random(users.size) < 0.6]
    rank = ZipfSampler(k, a=1.0, q=2.0)(rng, pick.size)
    pop.update_last(pick, tpl_off=off + rank, tpl_len=rng.integers(1, 3, pick.size))


_TOOLS = ["Copilot", "Assist", "Helper", "Desk", "Bot", "Studio", "Lens", "Scribe"]
_SUFFIX = ["labs", "corp", "group", "systems", "health", "logistics", "bank", "media", "ai"]


def _company_name(rng: np.random.Generator, i: int) -> str:
    from ._text import vocabulary

    words = vocabulary()
    a = str(words[int(rng.integers(300, 6000))])
    return f"{a}{_SUFFIX[int(rng.integers(len(_SUFFIX)))]}{i}"


def add_enterprises(pop: Population) -> None:
    """Enterprises: corporate cards, office NAT IPs, managed fingerprints, internal templates."""
    spec, w, rng = pop.spec, pop.world, pop.world.rng
    business_tz = np.array([-8, -5, 0, 1, 5, 8, 9])
    for size in spec.enterprise_sizes:
        s = int(size)
        g = pop.groups(1)
        name = _company_name(rng, g)
        tz = int(rng.choice(business_tz))
        scale = int(np.log10(s))
        card_off = w.new_cards(1 + scale)
        n_off = 1 + scale + int(rng.integers(0, 2))
        ip_off = pop.add_ips(w.office_ips(n_off))
        n_img = int(rng.integers(1, 4))
        dev_off = w.new_devices(n_img)
        tool = _TOOLS[int(rng.integers(len(_TOOLS)))]
        arche = rng.choice(len(FAMILIES["internal"]), size=int(rng.integers(2, 5)), replace=False)
        tpls = [pop.bank.add(FAMILIES["internal"][int(a)], company=name, tool_name=tool)
                for a in arche]
        tpl_off = pop.add_templates(tpls)
        dom = w.new_domains([f"{name}.com"])
        # Provisioning in batches: a script creates each batch within minutes.
        n_b = int(rng.integers(1, 7))
        batch_t = np.sort(-rng.uniform(1, 180, n_b) * 24.0)
        if rng.random() < 0.2:
            batch_t[-1] = rng.uniform(0, 0.7) * pop.hours
        created = batch_t[rng.integers(0, n_b, s)] + rng.exponential(0.3, s)
        pivot = (pop.release_h + rng.uniform(5, 25) * 24) if rng.random() < 0.5 else np.inf
        card_pick = np.minimum(rng.geometric(0.6, s) - 1, scale)
        pop.add(
            s, kind=1, group=g, created_h=created,
            act_start=np.maximum(created + rng.uniform(1, 72, s), 0.0), act_end=float(pop.hours),
            weight=_heavy(rng, spec.enterprise_rate, 1.0, s, 400.0), row=pop.profiles.office(tz),
            disp=1.5, p_home=0.12, p_mobile=0.05, p_vpn=0.0,
            home_ip=w.residential_ips(s), household=pop.households(s) + np.arange(s),
            lease_h=np.inf, pool_off=ip_off, pool_len=n_off,
            dev1=dev_off + np.minimum(rng.geometric(0.7, s) - 1, n_img - 1),
            dev2=dev_off + rng.integers(0, n_img, s), p_dev2=0.2,
            pay_off=card_off + card_pick, pay_len=1, tpl_off=tpl_off, tpl_len=len(tpls),
            p_tpl=rng.uniform(0.5, 0.9, s), free_mu=rng.normal(np.log(20), 0.4, s),
            tok_mu=rng.normal(np.log(500), 0.3, s), tok_sigma=0.7,
            model_base=int(rng.choice([2, 0])), pivot_h=pivot, p_new=0.9, email=dom,
            phone=phone_for_tz(rng, np.full(s, tz)),
        )
        if spec.enterprise_batch_share > 0 and rng.random() < spec.enterprise_batch_share:
            _batch_jobs(pop, rng, s)


def _batch_jobs(pop: Population, rng: np.random.Generator, s: int) -> None:
    """Turn 1-5% of the company just added (at least one account) into 24/7 batch jobs."""
    nb = min(s, max(1, int(round(s * rng.uniform(0.01, 0.05)))))
    rows = rng.choice(s, size=nb, replace=False)
    pop.update_last(rows, row=pop.profiles.flat(), disp=8.0, p_home=0.0, p_mobile=0.0,
                    weight=_heavy(rng, pop.spec.automation_rate, 0.8, nb, 20000.0),
                    p_tpl=0.97, tok_mu=np.log(rng.uniform(150, 1200)), tok_sigma=0.25)


def add_automation(pop: Population) -> None:
    """Automation: teams of 1-3 accounts, 24/7 high volume, datacenter IPs, own templates."""
    spec, w, rng = pop.spec, pop.world, pop.world.rng
    left = spec.n_automation
    flat = pop.profiles.flat()
    while left > 0:
        s = int(min(left, rng.choice(list(spec.automation_team_sizes))))
        left -= s
        g = pop.groups(1)
        n_ip = int(rng.integers(1, 4))
        ip_off = pop.add_ips(w.datacenter_ips(n_ip, 1))
        dev_off = w.new_devices(1)
        card_off = w.new_cards(1)
        team = f"job-{int(rng.integers(1 << 20)):05x}"
        arche = rng.choice(len(FAMILIES["automation"]), size=int(rng.integers(1, 3)), replace=False)
        tpls = [pop.bank.add(FAMILIES["automation"][int(a)], team=team) for a in arche]
        tpl_off = pop.add_templates(tpls)
        created = _created_before(rng, s, 120.0)
        late = rng.random() < 0.2
        start = rng.uniform(0, 0.6) * pop.hours if late else 0.0
        if late:
            created = start - rng.uniform(1, 48, s)
        pop.add(
            s, kind=2, group=g, created_h=created,
            act_start=np.maximum(np.maximum(created + 1.0, 0.0), start), act_end=float(pop.hours),
            weight=_heavy(rng, spec.automation_rate, 0.8, s, 20000.0), row=flat, disp=8.0,
            p_home=0.0, p_mobile=0.0, p_vpn=0.0, pool_off=ip_off, pool_len=n_ip,
            dev1=dev_off, dev2=dev_off, pay_off=card_off, pay_len=1, tpl_off=tpl_off,
            tpl_len=len(tpls), p_tpl=0.97, tok_mu=np.log(rng.uniform(150, 1200)), tok_sigma=0.25,
            model_base=int(rng.choice([0, 1, 2])),
            pivot_h=(pop.release_h + rng.uniform(1, 20) * 24) if rng.random() < 0.5 else np.inf,
            p_new=1.0, email=w.webmail(s),
            phone=phone_for_tz(rng, rng.choice(TZS, size=s, p=TZ_WEIGHTS)),
        )

