"""Shared infrastructure of a synthetic world: IP ranges, fingerprints, cards, contacts.

The pools are where traps live: carrier-grade NAT and VPN exits used by thousands
of strangers, fingerprints of popular SDK builds shared by huge numbers of users,
card BINs of big issuers, and the residential ISP blocks that both legitimate
homes and ring proxy exits are drawn from.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._util import ZipfSampler, hex_text, unique_u64
from .._unique import unique

__all__ = ["World", "MODELS", "NEW_MODEL", "WEBMAIL", "TZS", "TZ_WEIGHTS", "phone_for_tz",
           "card_text", "ip_block"]

MODELS = ["nova-3", "nova-3-mini", "nova-3.5", "nova-4"]
NEW_MODEL = 3

WEBMAIL = ["gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "icloud.com", "qq.com",
           "proton.me", "163.com", "gmx.de", "mail.ru", "yandex.ru", "naver.com", "web.de",
           "aol.com", "live.com", "orange.fr", "libero.it", "126.com", "zoho.com", "fastmail.com"]
UNIVERSITIES = ["stanford.edu", "mit.edu", "berkeley.edu", "ox.ac.uk", "tum.de", "ethz.ch",
                "tsinghua.edu.cn", "u-tokyo.ac.jp", "iitb.ac.in", "utoronto.ca", "nus.edu.sg"]

TZS = np.array([-8, -7, -6, -5, -3, 0, 1, 2, 3, 5, 7, 8, 9, 10])
TZ_WEIGHTS = np.array([10, 3, 5, 12, 4, 8, 12, 5, 3, 10, 4, 12, 7, 2], dtype=np.float64)
TZ_WEIGHTS /= TZ_WEIGHTS.sum()
_PHONES: dict[int, list[str]] = {
    -8: ["+1-415", "+1-650", "+1-206", "+1-213", "+1-408"], -7: ["+1-303", "+1-602", "+1-801"],
    -6: ["+1-312", "+1-512", "+1-214", "+52-55"], -5: ["+1-212", "+1-617", "+1-305", "+1-404",
                                                        "+1-202", "+1-416"],
    -3: ["+55-11", "+55-21", "+54-11"], 0: ["+44-20", "+44-161", "+353-1"],
    1: ["+49-30", "+33-1", "+34-91", "+39-02", "+31-20", "+48-22"], 2: ["+30-21", "+27-11",
                                                                        "+358-9", "+380-44"],
    3: ["+7-495", "+90-212", "+971-4"], 5: ["+91-22", "+91-80", "+91-11", "+92-21"],
    7: ["+84-28", "+66-2", "+62-21"], 8: ["+86-10", "+86-21", "+65", "+852", "+886-2"],
    9: ["+81-3", "+82-2", "+81-6"], 10: ["+61-2", "+61-3"],
}
VOIP = ["+1-302", "+1-929", "+44-7441", "+1-878", "+372-5", "+48-57"]
PHONES = sorted({p for v in _PHONES.values() for p in v} | set(VOIP))
_PHONE_INDEX = {p: i for i, p in enumerate(PHONES)}

_RESIDENTIAL = [24, 47, 67, 68, 69, 71, 73, 75, 76, 81, 82, 86, 90, 92, 93, 98, 99, 108, 109,
                151, 174, 176, 178, 188, 212, 213, 217, 220, 112, 121]
_CGNAT = [(172, 56), (172, 58), (107, 77), (166, 205), (174, 224), (37, 170), (80, 187),
          (223, 104), (117, 136), (39, 48)]
_VPN = [(185, 65), (193, 32), (146, 70), (128, 97), (169, 229), (45, 134), (89, 187)]
_DATACENTER = [34, 35, 52, 3, 18, 104, 159, 167, 138, 45, 5, 13, 20, 54]
_OFFICE = [12, 63, 64, 65, 66, 198, 199, 204, 206, 208, 209, 216]


def ip_block(first: np.ndarray, second: np.ndarray, third: np.ndarray) -> np.ndarray:
    """Return the ``uint32`` base address of the /24 ``first.second.third.0``."""
    return ((np.asarray(first, dtype=np.uint32) << np.uint32(24))
            | (np.asarray(second, dtype=np.uint32) << np.uint32(16))
            | (np.asarray(third, dtype=np.uint32) << np.uint32(8)))


def phone_for_tz(rng: np.random.Generator, tz: np.ndarray) -> np.ndarray:
    """Pick a plausible phone prefix index for each UTC offset."""
    tz = np.asarray(tz)
    out = np.empty(tz.size, dtype=np.int64)
    for z in unique(tz):
        m = tz == z
        opts = np.array([_PHONE_INDEX[p] for p in _PHONES.get(int(z), _PHONES[0])])
        out[m] = opts[rng.integers(0, opts.size, int(m.sum()))]
    return out


def voip_phone(rng: np.random.Generator, n: int, k: int = 2) -> np.ndarray:
    """Indices of ``n`` phone prefixes concentrated on ``k`` VoIP-heavy prefixes."""
    pick = np.array([_PHONE_INDEX[p] for p in rng.choice(VOIP, size=k, replace=False)])
    return pick[rng.integers(0, k, n)]


def card_text(bins: pa.Array, ids: np.ndarray) -> pa.Array:
    """Payment-instrument ids ``pm_<BIN>_<10 hex>``."""
    return pc.binary_join_element_wise("pm_", bins, hex_text("_", ids, groups=3), "")


class World:
    """Scenario-wide shared pools, sized from the number of legitimate users.

    Parameters
    ----------
    rng : numpy.random.Generator
    n_legit : int
        Drives the pool sizes, so sharing stays realistic as ``scale`` changes:
        about 150 legitimate users per CGNAT exit, 400 per VPN exit, 20 per
        popular fingerprint.
    cgnat_users_per_exit, vpn_users_per_exit : int
        Legitimate users per CGNAT / VPN exit (defaults 150 and 400).
    device_catalog : int or None
        Popular fingerprints in the catalogue; ``None``: ``max(50, n_legit // 20)``.
    """

    def __init__(self, rng: np.random.Generator, n_legit: int, *,
                 cgnat_users_per_exit: int = 150, vpn_users_per_exit: int = 400,
                 device_catalog: int | None = None) -> None:
        self.rng = rng
        n_blocks = max(64, n_legit // 30)
        f = np.array(_RESIDENTIAL)[rng.integers(0, len(_RESIDENTIAL), n_blocks)]
        self.res_blocks = ip_block(f, rng.integers(0, 256, n_blocks), rng.integers(0, 256, n_blocks))
        self.res_block_sampler = ZipfSampler(n_blocks, a=0.8, q=5.0)
        self.cgnat = self._exits(_CGNAT, max(12, n_legit // cgnat_users_per_exit))
        self.cgnat_sampler = ZipfSampler(self.cgnat.size, a=1.1, q=1.5)
        self.vpn = self._exits(_VPN, max(8, n_legit // vpn_users_per_exit))
        self.vpn_sampler = ZipfSampler(self.vpn.size, a=1.0, q=2.0)
        # Card BINs: a few big issuers dominate, like real portfolios.
        self.bins = pa.array([f"{d}{x:05d}" for d, x in zip(rng.choice([4, 4, 4, 5, 5, 3], 300),
                                                             rng.integers(0, 100000, 300))])
        self.bin_sampler = ZipfSampler(300, a=1.2, q=2.0)
        self.devices: list[pa.Array] = []
        self.n_devices = 0
        self.payments: list[pa.Array] = []
        self.n_payments = 0
        self.emails: list[str] = list(WEBMAIL) + list(UNIVERSITIES)
        self.webmail_sampler = ZipfSampler(len(WEBMAIL), a=1.3, q=1.0)
        self.popular_dev_n = max(50, n_legit // 20) if device_catalog is None else int(device_catalog)
        self.popular_dev_off = self.new_devices(self.popular_dev_n)
        self.popular_dev_sampler = ZipfSampler(self.popular_dev_n, a=1.15, q=2.0)

    def _exits(self, prefixes: list[tuple[int, int]], n: int) -> np.ndarray:
        pick = np.array(prefixes)[self.rng.integers(0, len(prefixes), n)]
        base = ip_block(pick[:, 0], pick[:, 1], self.rng.integers(0, 256, n))
        return unique(base + self.rng.integers(1, 255, n).astype(np.uint32))

    def residential_ips(self, n: int) -> np.ndarray:
        """Random home addresses in the residential ISP blocks (dense blocks favoured)."""
        blocks = self.res_blocks[self.res_block_sampler(self.rng, n)]
        return blocks + self.rng.integers(1, 255, n).astype(np.uint32)

    def fresh_blocks(self, firsts: list[int], n: int) -> np.ndarray:
        """``n`` random /24 base addresses under the given first octets."""
        f = np.array(firsts)[self.rng.integers(0, len(firsts), n)]
        return ip_block(f, self.rng.integers(0, 256, n), self.rng.integers(0, 256, n))

    def datacenter_ips(self, n: int, n_blocks: int) -> np.ndarray:
        """``n`` cloud addresses spread over ``n_blocks`` fresh /24s."""
        blocks = self.fresh_blocks(_DATACENTER, n_blocks)
        return blocks[self.rng.integers(0, n_blocks, n)] + self.rng.integers(1, 255, n).astype(np.uint32)

    def office_ips(self, n: int) -> np.ndarray:
        """``n`` NAT addresses in one fresh business /24."""
        block = self.fresh_blocks(_OFFICE, 1)[0]
        hosts = self.rng.choice(np.arange(1, 255, dtype=np.uint32), size=n, replace=False)
        return block + hosts

    def new_devices(self, n: int) -> int:
        """Create ``n`` fresh fingerprints; return the pool offset of the first."""
        off = self.n_devices
        self.devices.append(hex_text("fp_", unique_u64(self.rng, n, bits=48)))
        self.n_devices += n
        return off

    def popular_devices(self, n: int) -> np.ndarray:
        """Pool indices of ``n`` fingerprints drawn by popularity (heavy-tailed)."""
        return self.popular_dev_off + self.popular_dev_sampler(self.rng, n)

    def new_cards(self, n: int, bin_: str | None = None) -> int:
        """Create ``n`` cards (popular BINs, or all from ``bin_``); return the pool offset."""
        off = self.n_payments
        if bin_ is None:
            bins = self.bins.take(pa.array(self.bin_sampler(self.rng, n)))
        else:
            bins = pa.array([bin_] * n)
        self.payments.append(card_text(bins, unique_u64(self.rng, n, bits=48)))
        self.n_payments += n
        return off

    def new_domains(self, names: list[str]) -> int:
        """Register e-mail domains; return the index of the first."""
        off = len(self.emails)
        self.emails.extend(names)
        return off

    def webmail(self, n: int) -> np.ndarray:
        """Indices of ``n`` webmail domains by popularity."""
        return self.webmail_sampler(self.rng, n).astype(np.int64)
