"""The records of sample projects (``sample``), one maker per source: patterns,
capabilities and their refinements, task memory, outcomes, expert performance, weight
adjustments and config.yaml, each in the framework's real format, with planted values."""

from __future__ import annotations

from .sampletext import (
    AGENTS,
    DOMAINS,
    FRAMEWORK_CAPS,
    IMPROVEMENTS,
    OUTCOME_WEIGHTS,
    OUTCOMES,
    PRODUCTS,
    SCORES,
    SENSITIVE_LINES,
    VULN_LINES,
    WORKFLOWS,
    Planter,
    code_body,
    learning_text,
    r3,
)


def _pattern_head(p: Planter, kind: str) -> tuple[str, str]:
    """The first line(s) of a snippet, named from user code, and the pattern id."""
    rng = p.rng
    name, n = p.func(), rng.randrange(1000, 10_000)
    if kind == "function":
        args = rng.choice(("path", "rows, *, strict=True", "request"))
        return f"def {name}({args}):", f"func_{name}_{n}"
    if kind == "class":
        cls = "".join(w.title() for w in name.split("_"))
        base = rng.choice(("BaseModel", "Protocol", "object"))
        return f"class {cls}({base}):", f"class_{cls}_{n}"
    if kind == "import":
        return f"from {p.repo().replace('-', '_')}.core import {name}", f"imports_{n}"
    route = f"@app.route('/api/v1/{rng.choice(PRODUCTS)}/<id>')"
    return f"{route}\ndef {name}(id):", f"decorators_{n}"


def pattern(p: Planter, i: int) -> dict:
    """A CodePattern; about one in seven is an anti-pattern with vulnerabilities."""
    rng = p.rng
    kind = rng.choice(("function",) * 5 + ("class", "class", "import", "structure"))
    anti = kind in ("function", "class") and rng.random() < 0.15
    vulns = rng.sample(sorted(VULN_LINES), rng.choice((1, 1, 2))) if anti else []
    first = VULN_LINES[vulns[0]](p) if anti else None
    if first is None and rng.random() < 0.35:
        first = rng.choice(SENSITIVE_LINES)(p)
    head, pid = _pattern_head(p, kind)
    p.plant(head.split("\n")[-1])
    where = p.path() if rng.random() < 0.6 else p.relpath()
    return {
        "pattern_id": pid, "pattern_type": kind, "code_snippet": f"{head}\n{code_body(p, first)}",
        "context": (f"Anti-pattern: {', '.join(vulns)} in {where}" if anti
                    else f"Extracted from {where} during a {rng.choice(WORKFLOWS)} workflow"),
        "quality_score": r3(rng.uniform(0.1, 0.5) if anti else rng.uniform(0.55, 0.98), 3),
        "usage_count": rng.randrange(0, 60),
        "success_rate": r3(rng.uniform(0.2, 0.6) if anti else rng.uniform(0.6, 1.0), 3),
        "learned_from": [f"task_{rng.randrange(10_000)}" for _ in range(rng.randrange(1, 4))],
        "metadata": ({"vulnerabilities": vulns, "detected_by": "bandit", "file": where} if anti
                     else rng.choice(({}, {"language": "python"}, {"source_file": where}))),
        "security_score": r3(rng.uniform(0.5, 4.5) if anti else rng.uniform(6.0, 10.0), 1),
        "is_anti_pattern": anti,
        "failure_reasons": ([f"Rejected by reviewer: {vulns[0]} in {p.path()}", learning_text(p)]
                            if anti else []),
        "rejection_count": rng.randrange(1, 7) if anti else 0,
    }  # fmt: skip


def capability(p: Planter, i: int, total: int) -> dict:
    """A CapabilityMetric: framework capabilities first, then customers' own."""
    rng = p.rng
    n_framework = min(len(FRAMEWORK_CAPS), total - max(2, total // 4))
    custom = i >= n_framework
    usage = rng.randrange(0, 400) if i else 0  # the first has never been improved
    metadata: dict = {}
    if custom:
        metadata = {"owner": p.pick("email"), "repository": p.pick("cred_url"),
                    "registered_from": p.path()}  # fmt: skip
    return {
        "capability_id": p.custom_capability() if custom else FRAMEWORK_CAPS[i],
        "agent_id": rng.choice(AGENTS),
        "success_rate": r3(rng.uniform(0.4, 0.98), 3),
        "average_duration": r3(rng.uniform(0.5, 30.0), 3),
        "quality_score": r3(rng.uniform(0.3, 0.95), 3),
        "usage_count": usage,
        "last_improved": p.timestamp(rng.random(), aware=True) if usage else None,
        "refinement_history": [],
        "metadata": metadata,
    }


def refinements(p: Planter, cap: dict, pattern_ids: list[str]) -> list[dict]:
    """0-4 refinement entries, each improving on the one before."""
    rng, out = p.rng, []
    keys = ("success_rate", "average_duration", "quality_score", "usage_count")
    before = {k: cap[k] for k in keys}
    for _ in range(rng.randrange(0, 5) if cap["usage_count"] else 0):
        after = dict(before, success_rate=r3(min(1.0, before["success_rate"] + 0.03), 3),
                     usage_count=before["usage_count"] + rng.randrange(1, 20))  # fmt: skip
        out.append({
            "timestamp": p.timestamp(rng.random(), aware=True),
            "improvement_type": rng.choice(IMPROVEMENTS),
            "before_metric": before, "after_metric": after,
            "improvement_percent": r3(rng.uniform(0.5, 12.0), 2),
            "learned_patterns": rng.sample(pattern_ids, min(len(pattern_ids), rng.randrange(0, 3))),
            "metadata": {"note": learning_text(p)} if rng.random() < 0.5 else {},
        })  # fmt: skip
        before = after
    return out


def _command(p: Planter, agent: str) -> str:
    rng = p.rng
    if agent in ("reviewer", "documenter", "analyst"):
        return f"{agent[:-2] if agent.endswith('er') else 'analyze'} {p.path()}"
    if agent in ("implementer", "enhancer"):
        return (
            f"implement {p.func()} --api-key {p.pick('openai')}"
            if rng.random() < 0.3
            else f"implement {p.func()} in {p.relpath()}"
        )
    if agent == "tester":
        return f"test {p.relpath()} --db {p.pick('cred_url')}"
    if agent == "debugger":
        return f"debug 'KeyError in {p.func()}' {p.path()}"
    if agent == "ops":
        return f"deploy --host {p.pick('ip')} --token {p.pick('github')}"
    return f"{rng.choice(('plan', 'design'))} {p.func()} for {p.repo()}"


def _context(p: Planter, i: int) -> dict:
    """Memory context: nested dicts and lists, as agents store them."""
    r = p.rng.random
    ctx: dict[str, object] = {}
    if r() < 0.6:
        ctx["files"] = [p.path(), p.relpath()]
    if r() < 0.3:
        ctx["env"] = {"DATABASE_URL": p.pick("cred_url"), "AWS_ACCESS_KEY_ID": p.pick("aws"),
                      "DEBUG": "1"}  # fmt: skip
    if r() < 0.4:
        ctx["git"] = {"branch": f"feature/{p.func()}", "remote": p.pick("cred_url"),
                      "author": {"email": p.pick("email"), "home": p.path()}}  # fmt: skip
    if r() < 0.3:
        ctx["request"] = {"client_ip": p.pick("ip"),
                          "headers": {"Authorization": f"Bearer {p.pick('jwt')}"}}  # fmt: skip
    if r() < 0.25:
        ctx["steps"] = [{"tool": "pytest", "exit_code": 1, "stderr": f"KeyError: {p.secret()}"},
                        {"tool": "ruff", "exit_code": 0, "cwd": p.path()}]  # fmt: skip
    if i % 500 == 7:
        ctx["attachments"] = [{"name": "deploy_key", "content": p.pick("private_key")}]
    return ctx


def memory(p: Planter, i: int, total: int, pattern_ids: list[str]) -> dict:
    """A TaskMemory; tasks are in time order, timestamps aware or naive."""
    rng = p.rng
    agent = rng.choice(AGENTS)
    metadata: dict = {} if rng.random() < 0.4 else {"workflow": rng.choice(WORKFLOWS)}
    if rng.random() < 0.3:
        metadata["reviewer"] = p.pick("email")
    return {
        "task_id": f"task_{i}",
        "agent_id": agent,
        "command": _command(p, agent),
        "timestamp": p.timestamp(i / total, aware=rng.random() < 0.6),
        "outcome": rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0],
        "quality_score": r3(rng.uniform(0.2, 1.0), 3),
        "key_learnings": [learning_text(p) for _ in range(rng.randrange(0, 4))],
        "patterns_used": rng.sample(pattern_ids, min(len(pattern_ids), rng.randrange(0, 4))),
        "similar_tasks": [
            f"task_{j}" for j in sorted(rng.sample(range(i), min(i, rng.randrange(3))))
        ],
        "context": _context(p, i),
        "metadata": metadata,
    }


def outcome(p: Planter, i: int, total: int) -> dict:
    """A CodeOutcome line of outcomes.jsonl (naive UTC time, as ``datetime.utcnow``)."""
    rng = p.rng
    initial = {k: r3(rng.uniform(3.0, 9.5), 2) for k in SCORES}
    final = {k: r3(min(10.0, v + rng.uniform(0.0, 2.5)), 2) for k, v in initial.items()}
    iterations = rng.choice((1, 1, 1, 2, 2, 3, 4, 5))
    return {
        "workflow_id": f"wf-{rng.getrandbits(40):010x}",
        "file_path": p.path() if rng.random() < 0.5 else p.relpath(),
        "initial_scores": initial,
        "final_scores": final,
        "iterations": iterations,
        "expert_consultations": rng.randrange(0, 5),
        "time_to_correctness": r3(rng.uniform(5.0, 60.0) * iterations, 3),
        "first_pass_success": iterations == 1,
        "timestamp": p.timestamp(i / total, aware=False),
        "agent_id": rng.choice(AGENTS) if rng.random() < 0.95 else None,
        "prompt_hash": f"{rng.getrandbits(64):016x}" if rng.random() < 0.95 else None,
    }


def expert_performance(p: Planter, i: int, total: int) -> dict:
    rng = p.rng
    domain = rng.choice(DOMAINS)
    query = learning_text(p) if rng.random() < 0.6 else f"How should {p.func()} handle {domain}?"
    return {
        "expert_id": f"expert-{domain}",
        "domain": domain,
        "confidence": r3(rng.uniform(0.3, 0.99), 3),
        "query": query,
        "timestamp": p.timestamp(i / total, aware=False),
    }


def weight_adjustment(p: Planter, i: int, total: int) -> dict:
    rng = p.rng
    old = r3(rng.uniform(0.1, 0.9), 3)
    reason = rng.choice((
        lambda: "First-pass success improved after consultations",
        lambda: "Weight decayed: no consultations in 14 days",
        lambda: f"Advice broke the build in {p.path()}",
        lambda: f"Low confidence on queries from {p.pick('email')}",
    ))()  # fmt: skip
    return {
        "expert_id": f"expert-{rng.choice(DOMAINS)}",
        "old_weight": old,
        "new_weight": r3(min(1.0, max(0.05, old + rng.uniform(-0.1, 0.1))), 3),
        "reason": reason,
        "timestamp": p.timestamp(i / total, aware=False),
    }


def config_yaml(version: str) -> str:
    return (
        "# TappsCodingAgents project configuration\n"
        f'framework_version: "{version}"\n'
        "project:\n  type: python\n"
        "agents:\n  reviewer:\n    quality_threshold: 70\n"
        "learning:\n  enabled: true\n"
        "analytics:\n  retention_days: 90\n"
    )
