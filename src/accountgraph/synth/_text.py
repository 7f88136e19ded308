"""Prompt text: a Zipfian vocabulary, template families and a vectorised prompt builder.

Prompts are assembled without per-row Python: every prompt is a list of *parts*
(literal template text, a slot value, a run of random words or a number), the
parts of a whole batch are gathered with numpy index arithmetic into one string
array, wrapped in :class:`pyarrow.ListArray` and joined with
:func:`pyarrow.compute.binary_join`.

Template families
-----------------
``public``     widely copied agent-framework / RAG boilerplate (used by many unrelated
               legitimate users: a false-positive trap for template-similarity signals).
``coding``, ``agentic``, ``reasoning``
               distillation-style templates used by rings: long fixed instructions with
               slot-filled tasks, asking for complete code, tool-use trajectories or
               step-by-step reasoning.
``internal``   an enterprise's internal tool (instantiated per company).
``automation`` a pipeline's extraction/classification prompt (instantiated per team).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ._util import ZipfSampler

__all__ = ["TemplateBank", "FAMILIES", "free_prompts", "vocabulary"]

_COMMON = (
    "the of and to a in is it you that for on with how can this what are be as not do "
    "my have i from or an by at if use why your will which when there get make more one "
    "code data file error function python list time new way work need like should does "
    "write example help best between difference value table number name string text "
    "model explain using two find first set type user test image email question answer "
    "please create change add run return without into about project version server api "
    "after only than other also just them then some could would these our because each "
    "year day people story idea plan recipe trip essay letter summary meeting week "
    "javascript sql excel react docker linux git java script class array loop json csv"
).split()

_SYL = ("ka ri to me na lo si vu pe da ne mo ra ti ze bo lu fa gi ko sha tre pla nor "
        "vel dun mar qui ost ben cal fir hol jun kel lim pon rus tav wex yor zin").split()


@lru_cache(maxsize=None)
def vocabulary(size: int = 20000) -> pa.Array:
    """Return the word list, most frequent first (common English head, invented tail)."""
    words = list(dict.fromkeys(_COMMON))
    n = len(_SYL)
    i = 0
    seen = set(words)
    while len(words) < size:
        a, b, c = i % n, (i // n) % n, (i // (n * n)) % n
        w = _SYL[a] + _SYL[b] + (_SYL[c] if i >= n * n else "")
        if w not in seen:
            seen.add(w)
            words.append(w)
        i += 1
    return pa.array(words, type=pa.string())


@lru_cache(maxsize=None)
def _word_sampler() -> ZipfSampler:
    return ZipfSampler(len(vocabulary()), a=1.07, q=2.7)


_OPENERS = pa.array([
    "how do i", "can you", "explain", "write", "what is", "fix this:", "summarize",
    "why does", "help me", "is it possible to", "give me", "translate", "compare",
    "rewrite", "list", "draft", "what are the", "debug:", "ideas for", "tell me about",
], type=pa.string())
_OPENER_SAMPLER = ZipfSampler(len(_OPENERS), a=1.0, q=1.0)


def _words(rng: np.random.Generator, n_words: np.ndarray) -> pa.Array:
    n_words = np.asarray(n_words, dtype=np.int64)
    offsets = np.zeros(n_words.size + 1, dtype=np.int32)
    np.cumsum(n_words, out=offsets[1:])
    idx = _word_sampler()(rng, int(offsets[-1]))
    lists = pa.ListArray.from_arrays(pa.array(offsets), vocabulary().take(pa.array(idx)))
    return pc.binary_join(lists, " ")


def free_prompts(rng: np.random.Generator, n_words: np.ndarray) -> pa.Array:
    """Ordinary prompts: an opener and ``n_words`` Zipf-distributed words each."""
    n = int(np.asarray(n_words).size)
    openers = _OPENERS.take(pa.array(_OPENER_SAMPLER(rng, n)))
    return pc.binary_join_element_wise(openers, _words(rng, n_words), " ")


_SLOTS: dict[str, list[str]] = {
    "lang": "Python|TypeScript|Rust|Go|Java|C++|Kotlin|Swift|C#|Ruby|Scala|Haskell|Elixir|Zig".split("|"),
    "task": (
        "an LRU cache with TTL eviction|a token-bucket rate limiter|a thread-safe priority queue|"
        "a JSON schema validator|a trie-based autocomplete service|a consistent-hashing ring|"
        "a B-tree index with range scans|Raft leader election|a streaming CSV to Parquet converter|"
        "the Myers diff algorithm|an interval tree|a Bloom filter with a target false-positive rate|"
        "a polite concurrent web crawler|a retry decorator with exponential backoff and jitter|"
        "a Markdown to HTML parser|an event-sourced order store|a dependency resolver with cycle "
        "detection|a sparse matrix library|a regex engine supporting *, + and ?|an OAuth2 "
        "authorization-code flow|a write-ahead log with crash recovery|a lock-free ring buffer|"
        "a SQL query planner for joins|a Kubernetes operator for backups|a vector-clock CRDT map|"
        "a chess move generator|a TCP load balancer with health checks|a text tokenizer using BPE|"
        "an A* path finder on a weighted grid|a plugin system with hot reload"
    ).split("|"),
    "lib": ("asyncio|tokio|FastAPI|React|Django|Spring Boot|numpy|pandas|SQLAlchemy|gRPC|Kafka|"
            "Redis|PostgreSQL|PyTorch|Express|Actix|Gin|Rails|Phoenix|the standard library").split("|"),
    "test_fw": "pytest|Jest|JUnit 5|cargo test|Go's testing package|RSpec|hypothesis|xUnit".split("|"),
    "edge": ("empty input|concurrent writers|unicode normalisation|integer overflow|network "
             "partitions|clock skew|inputs of 10^9 elements|malformed UTF-8|duplicate keys|"
             "timeouts and cancellation|out-of-memory conditions|partial failures").split("|"),
    "env": ("Linux shell|web browser|Kubernetes cluster|spreadsheet|customer-support CRM|Git "
            "repository|SQL data warehouse|travel booking site|e-commerce back office|"
            "cloud console|email client|IDE").split("|"),
    "tool": ("search_web|read_file|write_file|run_shell|query_sql|http_get|send_email|"
             "create_ticket|browser_click|browser_type|list_directory|run_tests|git_diff|"
             "calendar_lookup|python_exec|fetch_url").split("|"),
    "goal": (
        "find and fix the failing test in the repository|migrate the billing table to the new "
        "schema without downtime|book the cheapest refundable flight for next Tuesday|triage "
        "the twenty oldest open tickets|reconcile last month's invoices against payments|set up "
        "nightly backups and verify a restore|find the memory leak in the worker service|"
        "produce a competitor pricing report|upgrade the web framework and fix deprecations|"
        "clean and deduplicate the customer spreadsheet|write release notes from the git log|"
        "rotate the leaked API credentials everywhere they are used|profile the slow endpoint "
        "and make it twice as fast|collect every TODO in the codebase into issues"
    ).split("|"),
    "subject": ("combinatorics|probability|number theory|geometry|kinematics|organic chemistry|"
                "formal logic|game theory|linear algebra|microeconomics|graph theory|"
                "thermodynamics").split("|"),
    "object": ("marbles|coins|trains|workers|tanks of water|students|cards|dice|robots|"
               "cities|investors|molecules").split("|"),
    "format": "JSON|YAML|a Markdown table|CSV|XML".split("|"),
    "nat": "English|French|German|Spanish|Japanese|Chinese|Portuguese|Korean|Italian".split("|"),
}

# Free-text slot kinds and their word-count ranges.
_FREE = {"text": (30, 120), "short": (5, 15), "words": (8, 30)}

FAMILIES: dict[str, list[str]] = {
    "public": [
        "Answer the question as well as you can. You can use these tools:\n{tool}: {short}\n"
        "{tool}: {short}\n\nFormat:\nQuestion: the question to answer\nThought: what to do "
        "next\nAction: one of [{tool}, {tool}]\nAction Input: the input\nObservation: the "
        "result\n(repeat Thought/Action/Observation as needed)\nFinal Answer: the answer\n\n"
        "Begin!\nQuestion: {words}\nThought:",
        "Use the following context to answer the question at the end. If you do not know the "
        "answer, say that you do not know; do not make one up.\n\n{text}\n\nQuestion: {words}\n"
        "Helpful answer:",
        "You are a helpful assistant. Summarize the following text in {num} bullet points.\n\n{text}",
        "Translate the following text from {nat} to {nat}. Keep the formatting.\n\n{text}",
        "You are an AI programming assistant. Follow the user's requirements carefully. First "
        "think step by step, then output the code in a single block.\n\n{words}",
    ],
    "coding": [
        "You are a world-class senior {lang} engineer. Write a complete, production-quality "
        "implementation of {task} using {lib}. Requirements: full type annotations, docstrings "
        "for every public function, exhaustive unit tests with {test_fw}, and explicit handling "
        "of {edge} and {edge}. After the code, explain every design decision, its time and space "
        "complexity, and at least three alternatives you rejected and why.",
        "Implement {task} in {lang}. Do not omit any part of the code and do not use "
        "placeholders. Then write {test_fw} tests covering {edge}. Finally, review your own "
        "solution line by line as a strict code reviewer would and output a corrected version.",
        "I am preparing a technical interview. Give a reference solution in {lang} for: {task}. "
        "Walk through your reasoning step by step before writing code, state the invariants "
        "you rely on, handle {edge}, and include a benchmark harness using {lib}.",
        "Refactor the following {lang} module into idiomatic, well-tested code using {lib}. "
        "Explain each change.\n\n```\n{text}\n```\nEdge cases to cover: {edge}; {edge}.",
    ],
    "agentic": [
        "You are an autonomous agent operating in a {env}. Available tools (call them with JSON "
        "of the form {{\"tool\": name, \"args\": {{...}}}}): {tool}, {tool}, {tool}, {tool}.\n"
        "Goal: {goal}.\nPlan step by step. After each tool call, reflect on the observation, "
        "update your plan and continue until the goal is complete. Output your full reasoning "
        "and every tool call.\nPrevious trajectory:\n{text}",
        "SYSTEM: You are a coding agent with shell access in a {env}. Tools: {tool}, {tool}, "
        "{tool}. Always think before acting and verify your work with tests.\nUSER: {goal}. "
        "Show the complete sequence of commands and their expected outputs.",
        "Simulate a multi-step tool-using assistant. Environment: {env}. Task: {goal}. For each "
        "step print THOUGHT, ACTION ({tool} or {tool}), ACTION_INPUT and OBSERVATION, and end "
        "with FINAL_ANSWER. Be exhaustive; do not skip steps.",
    ],
    "reasoning": [
        "Solve the following {subject} problem. Think step by step, show every intermediate "
        "calculation, check each step for errors, and only then give the result as 'Final "
        "answer: <answer>'.\n\nProblem: There are {num} {object} and {num} more arrive every "
        "hour; {num} leave every {num} hours. {words}",
        "Let's reason carefully. {subject} question: given {num} {object} arranged in {num} "
        "groups, {words}? Explain your chain of thought in full detail, consider alternative "
        "approaches, and verify the answer by a second independent method.",
        "You are a meticulous tutor in {subject}. Produce a detailed, step-by-step worked "
        "solution with justification for every step, then a short summary of the key idea.\n"
        "Question: {words} (use {num} and {num} as the given values)",
        "Problem ({subject}): {text}\nWrite out your complete reasoning process before the "
        "answer, including any dead ends, and format the final answer in {format}.",
    ],
    "internal": [
        "[{company} {tool_name}] Classify the support ticket below into one of: billing, "
        "outage, account, feature request, other. Reply with the label and one sentence of "
        "justification.\nTicket #{num}: {text}",
        "[{company} {tool_name}] Draft a reply to this customer using the {company} tone guide "
        "(friendly, concise, no promises on dates).\nCustomer message: {text}",
        "[{company} {tool_name}] Review this pull request diff for bugs and style issues per "
        "the {company} engineering handbook.\n{text}",
        "[{company} {tool_name}] Summarize the meeting notes below into decisions, owners and "
        "deadlines, formatted as {format}.\n{text}",
        "[{company} {tool_name}] Generate SQL against the {company} warehouse to answer: {words}",
    ],
    "automation": [
        "Extract the fields invoice_number, date, total, currency and vendor from the document "
        "below and return {format} only. [{team}]\n{text}",
        "Label the sentiment of each review as positive, negative or neutral. Output {format}. "
        "[{team}]\n{text}",
        "Rewrite the product title for search engines in {nat}, under 70 characters. [{team}] "
        "Title: {short}",
        "Tag this news article with up to five topics from the taxonomy. [{team}]\n{text}",
    ],
}

_TOKEN = re.compile(r"\{(\w+)\}")
_LIT, _SLOT, _FREEK, _NUM = 0, 1, 2, 3


class TemplateBank:
    """A growing set of templates compiled into flat part arrays for vectorised filling.

    Templates are added with :meth:`add` (``{{`` / ``}}`` escape braces); after
    :meth:`compile`, :meth:`fill` turns an array of template ids into prompts.
    """

    def __init__(self) -> None:
        self._literals: dict[str, int] = {}
        self._parts: list[list[tuple[int, int]]] = []
        self._slot_names = list(_SLOTS)
        self._free_names = list(_FREE)
        self._compiled = False

    def add(self, template: str, **fixed: str) -> int:
        """Add a template, substituting ``fixed`` slots now; return its id."""
        parts: list[tuple[int, int]] = []
        pos = 0
        text = template.replace("{{", "\x00").replace("}}", "\x01")

        def literal(s: str) -> None:
            s = s.replace("\x00", "{").replace("\x01", "}")
            if s:
                parts.append((_LIT, self._literals.setdefault(s, len(self._literals))))

        for m in _TOKEN.finditer(text):
            literal(text[pos:m.start()])
            name = m.group(1)
            if name in fixed:
                literal(fixed[name])
            elif name in _SLOTS:
                parts.append((_SLOT, self._slot_names.index(name)))
            elif name in _FREE:
                parts.append((_FREEK, self._free_names.index(name)))
            elif name == "num":
                parts.append((_NUM, 0))
            else:
                raise KeyError(f"unknown template slot {name!r}")
            pos = m.end()
        literal(text[pos:])
        self._parts.append(parts)
        self._compiled = False
        return len(self._parts) - 1

    def __len__(self) -> int:
        return len(self._parts)

    def compile(self) -> None:
        """Flatten templates into part arrays (call after the last :meth:`add`)."""
        counts = np.array([len(p) for p in self._parts], dtype=np.int64)
        self._off = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=self._off[1:])
        flat = [x for p in self._parts for x in p]
        self._kind = np.array([k for k, _ in flat], dtype=np.int8)
        self._ref = np.array([r for _, r in flat], dtype=np.int64)
        lits = list(self._literals)
        self._slot_base = np.zeros(len(_SLOTS) + 1, dtype=np.int64)
        self._slot_base[1:] = np.cumsum([len(_SLOTS[s]) for s in self._slot_names])
        self._slot_base += len(lits)
        values = lits + [v for s in self._slot_names for v in _SLOTS[s]]
        self._pool = pa.array(values, type=pa.string())
        self._free_lo = np.array([_FREE[f][0] for f in self._free_names])
        self._free_hi = np.array([_FREE[f][1] for f in self._free_names])
        self._compiled = True

    def fill(self, rng: np.random.Generator, template_ids: np.ndarray) -> pa.Array:
        """Return one filled prompt per entry of ``template_ids`` (slots drawn from ``rng``)."""
        if not self._compiled:
            self.compile()
        t = np.asarray(template_ids, dtype=np.int64)
        n = t.size
        counts = self._off[t + 1] - self._off[t]
        offsets = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        total = int(offsets[-1])
        within = np.arange(total, dtype=np.int64) - np.repeat(offsets[:-1], counts)
        part = np.repeat(self._off[t], counts) + within
        kind = self._kind[part]
        ref = self._ref[part]
        value = np.where(kind == _LIT, ref, 0)
        is_slot = kind == _SLOT
        r = ref[is_slot]
        size = self._slot_base[r + 1] - self._slot_base[r]
        # Squared uniform: popular slot values repeat more, as real task mixes do.
        value[is_slot] = self._slot_base[r] + (rng.random(r.size) ** 2 * size).astype(np.int64)
        extra: list[pa.Array] = []
        base = len(self._pool)
        is_free = kind == _FREEK
        if is_free.any():
            fr = ref[is_free]
            nw = rng.integers(self._free_lo[fr], self._free_hi[fr] + 1)
            extra.append(_words(rng, nw))
            value[is_free] = base + np.arange(fr.size)
            base += fr.size
        is_num = kind == _NUM
        if is_num.any():
            k = int(is_num.sum())
            nums = np.floor(np.exp(rng.uniform(np.log(2), np.log(5000), k))).astype(np.int64)
            extra.append(pc.cast(pa.array(nums), pa.string()))
            value[is_num] = base + np.arange(k)
        pool = pa.concat_arrays([self._pool, *extra]) if extra else self._pool
        lists = pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)),
                                         pool.take(pa.array(value)))
        return pc.binary_join(lists, "")
