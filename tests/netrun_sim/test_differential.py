"""Differential test: our pure-Python ``netrun_sim`` against the published native engine.

For every seed, ``_trace.run_seed`` builds a random graph and drives a ``NetSim`` with a
random action sequence, recording a normalised trace (responses, events with all fields,
errors with class and message, and after every action a dump of every location, the
startable epochs, ``is_blocked`` and epoch snapshots). The published engine
(``netrun-sim==0.2.0``, Rust/PyO3) runs the same seeds in its own interpreter (see
``_trace_native``); the traces must be identical.

Standalone mode for deeper hunts (prints every mismatch, minimised, with a replay file)::

    .venv/bin/python tests/netrun_sim/test_differential.py --seeds 5000
    .venv/bin/python tests/netrun_sim/test_differential.py --native-vs-native --seeds 2000
    .venv/bin/python tests/netrun_sim/test_differential.py --replay case.json
"""

from __future__ import annotations

import difflib
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import _trace  # noqa: E402
from _trace_native import REPO_SRC, NativeEngineUnavailable, native_python  # noqa: E402

TRACE_SCRIPT = HERE / "_trace.py"
N_SEEDS = int(os.environ.get("NETRUN_DIFF_SEEDS", "200"))
N_ACTIONS = int(os.environ.get("NETRUN_DIFF_ACTIONS", "100"))


# --------------------------------------------------------------------------- running

def _chunks(seeds: list[int], n: int) -> list[list[int]]:
    size = max(1, -(-len(seeds) // n))
    return [seeds[i:i + size] for i in range(0, len(seeds), size)]


def native_traces(python: str, seeds: list[int], actions: int, jobs: int = 2) -> dict[int, list]:
    """Traces of ``seeds`` on the published engine (``jobs`` subprocesses in parallel)."""

    def one(chunk):
        args = [python, "-I", str(TRACE_SCRIPT), "--seeds", ",".join(map(str, chunk)), "--actions", str(actions)]
        res = subprocess.run(args, capture_output=True, text=True, timeout=900, cwd="/")
        if res.returncode != 0:
            raise RuntimeError(f"native trace run failed:\n{res.stderr[-3000:]}")
        lines = res.stdout.splitlines()
        head = json.loads(lines[0])
        if str(REPO_SRC) in head["engine_file"]:
            raise RuntimeError(f"the native run imported our engine: {head['engine_file']}")
        return [json.loads(line) for line in lines[1:]]

    out = {}
    with ThreadPoolExecutor(jobs) as pool:
        for rows in pool.map(one, _chunks(seeds, jobs)):
            for row in rows:
                out[row["seed"]] = row["trace"]
    return out


def native_replay(python: str, spec: dict, script: list) -> list:
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"spec": spec, "script": script}, f)
    try:
        res = subprocess.run([python, "-I", str(TRACE_SCRIPT), "--replay", f.name], capture_output=True,
                             text=True, timeout=120, cwd="/")
    finally:
        os.unlink(f.name)
    if res.returncode != 0:
        raise RuntimeError(f"native replay failed:\n{res.stderr[-3000:]}")
    return json.loads(res.stdout.splitlines()[1])["trace"]


def our_trace(ns, seed: int, actions: int) -> dict:
    """Trace of one seed on engine module ``ns``, JSON round-tripped like the native one."""
    return json.loads(json.dumps(_trace.run_seed(ns, seed, actions)))


# --------------------------------------------------------------------------- comparing

def first_mismatch(expected: list, actual: list):
    """Index of the first differing record (or None), comparing canonical JSON."""
    for i in range(max(len(expected), len(actual))):
        a = expected[i] if i < len(expected) else None
        b = actual[i] if i < len(actual) else None
        if json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True):
            return i
    return None


def describe(seed, idx: int, expected: list, actual: list, label=("native", "ours")) -> str:
    a = expected[idx] if idx < len(expected) else None
    b = actual[idx] if idx < len(actual) else None
    what = (b or a or {}).get("a", "(graph/setup record)")
    pa = json.dumps(a, indent=1, sort_keys=True).splitlines()
    pb = json.dumps(b, indent=1, sort_keys=True).splitlines()
    diff = "\n".join(difflib.unified_diff(pa, pb, label[0], label[1], n=2, lineterm=""))
    prev = [r.get("a") for r in actual[max(0, idx - 8):idx] if isinstance(r, dict) and "a" in r]
    return (f"seed {seed}: first difference at trace record {idx}, action {json.dumps(what)}\n"
            f"  preceding actions: {json.dumps(prev)}\n{diff}")


# --------------------------------------------------------------------------- pytest

@pytest.fixture(scope="session")
def native():
    try:
        return native_python()
    except NativeEngineUnavailable as ex:
        pytest.skip(f"published engine netrun-sim==0.2.0 unavailable: {ex}")


@pytest.fixture(scope="session")
def ours():
    import netrun_sim

    if str(REPO_SRC) not in str(netrun_sim.__file__):
        pytest.fail(f"netrun_sim is imported from {netrun_sim.__file__}, not from {REPO_SRC}")
    if not hasattr(netrun_sim, "NetSim"):
        pytest.skip("our netrun_sim has no NetSim yet")
    return netrun_sim


def test_native_engine_agrees_with_itself(native):
    """Two processes of the published engine (different hash seeds) give equal traces.

    This guards the normalisation: every ⟂ (hash-ordered) spot must be made canonical,
    otherwise the published engine would not even match itself.
    """
    seeds = list(range(0, 60))
    a = native_traces(native, seeds, N_ACTIONS, jobs=1)
    b = native_traces(native, list(reversed(seeds)), N_ACTIONS, jobs=1)
    bad = [describe(s, first_mismatch(a[s], b[s]), a[s], b[s], ("native-1", "native-2"))
           for s in seeds if first_mismatch(a[s], b[s]) is not None]
    assert not bad, "\n\n".join(bad[:3])


def test_ours_matches_native_engine(native, ours):
    seeds = list(range(N_SEEDS))
    expected = native_traces(native, seeds, N_ACTIONS)
    failures = []
    for s in seeds:
        got = our_trace(ours, s, N_ACTIONS)["trace"]
        idx = first_mismatch(expected[s], got)
        if idx is not None:
            failures.append(describe(s, idx, expected[s], got))
    assert not failures, f"{len(failures)} of {len(seeds)} seeds differ; first ones:\n\n" + "\n\n".join(failures[:3])


def test_api_probes_match_native_engine(native, ours):
    """Constructors, conversions, enums, reprs and errors of the public API (``_trace_probes``)."""
    from _trace_probes import run_probes

    res = subprocess.run([native, "-I", str(TRACE_SCRIPT), "--probes"], capture_output=True, text=True,
                         timeout=120, cwd="/")
    assert res.returncode == 0, res.stderr[-3000:]
    expected = json.loads(res.stdout.splitlines()[1])
    got = json.loads(json.dumps(run_probes(ours)))
    diffs = [f"{src}\n    native: {a}\n    ours:   {b}" for (src, a), (_, b) in zip(expected, got) if a != b]
    assert not diffs, f"{len(diffs)} of {len(expected)} probes differ:\n" + "\n".join(diffs)


def test_replayed_script_reproduces_the_trace(ours):
    """A recorded script replays to the same trace: failing cases can be saved and rerun."""
    run = our_trace(ours, 7, 60)
    again = json.loads(json.dumps(_trace.replay(ours, run["spec"], run["script"])))["trace"]
    # the replay has no invalid-graph record (it comes from the seed), the rest is identical
    body = [r for r in run["trace"] if "invalid" not in r]
    assert [r.get("a") for r in again] == [r.get("a") for r in body]
    assert first_mismatch(
        [{k: v for k, v in r.items() if k != "dump"} for r in body],
        [{k: v for k, v in r.items() if k != "dump"} for r in again]) is None


# --------------------------------------------------------------------------- standalone

def minimise(python: str, ns, spec: dict, script: list, max_tries: int = 400) -> list:
    """A shorter script that still makes the engines differ (greedy chunk removal)."""

    def differs(sc):
        exp = native_replay(python, spec, sc)
        got = json.loads(json.dumps(_trace.replay(ns, spec, sc)))["trace"]
        return first_mismatch(exp, got) is not None

    tries = 0
    chunk = max(1, len(script) // 2)
    while chunk >= 1 and tries < max_tries:
        i, changed = 0, False
        while i < len(script) and tries < max_tries:
            cand = script[:i] + script[i + chunk:]
            tries += 1
            if cand and differs(cand):
                script, changed = cand, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return script


def main(argv=None) -> int:
    import argparse
    from concurrent.futures import ProcessPoolExecutor

    ap = argparse.ArgumentParser(description="differential hunt: our netrun_sim vs netrun-sim 0.2.0")
    ap.add_argument("--seeds", type=int, default=1000)
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--actions", type=int, default=N_ACTIONS)
    ap.add_argument("--native-vs-native", action="store_true", help="check the harness itself")
    ap.add_argument("--no-minimise", action="store_true")
    ap.add_argument("--out", default="/tmp/netrun-diff-cases", help="folder for replay files")
    ap.add_argument("--replay", help="a replay file written by an earlier hunt")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args(argv)
    python = native_python()
    import netrun_sim as ns

    if args.replay:
        case = json.loads(Path(args.replay).read_text())
        exp = native_replay(python, case["spec"], case["script"])
        got = json.loads(json.dumps(_trace.replay(ns, case["spec"], case["script"])))["trace"]
        idx = first_mismatch(exp, got)
        print("identical" if idx is None else describe("replay", idx, exp, got))
        return 0 if idx is None else 1
    seeds = list(range(args.start, args.start + args.seeds))
    print(f"native: {python}; ours: {ns.__file__}; seeds {seeds[0]}..{seeds[-1]}, {args.actions} actions",
          flush=True)
    bad = []
    for block in [seeds[i:i + 200] for i in range(0, len(seeds), 200)]:
        expected = native_traces(python, block, args.actions, jobs=args.jobs)
        if args.native_vs_native:
            actual = native_traces(python, block, args.actions, jobs=args.jobs)
            got = {s: {"trace": actual[s]} for s in block}
        else:
            with ProcessPoolExecutor(args.jobs) as pool:
                runs = list(pool.map(_our_run, [(s, args.actions) for s in block]))
            got = {r["seed"]: r for r in runs}
        for s in block:
            idx = first_mismatch(expected[s], got[s]["trace"])
            if idx is not None:
                bad.append((s, idx, expected[s], got[s]))
        print(f"  up to seed {block[-1]}: {len(bad)} mismatching seeds", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for s, idx, exp, run in bad:
        print("\n" + describe(s, idx, exp, run["trace"]))
        if "script" in run:
            n_act = sum(1 for r in run["trace"][:idx + 1] if "a" in r)
            script = run["script"][:n_act]
            if not args.no_minimise:
                script = minimise(python, ns, run["spec"], script)
                e2 = native_replay(python, run["spec"], script)
                g2 = json.loads(json.dumps(_trace.replay(ns, run["spec"], script)))["trace"]
                i2 = first_mismatch(e2, g2)
                print(f"  minimised to {len(script)} actions: {json.dumps(script)}")
                if i2 is not None:
                    print("  " + describe(f"{s} (minimised)", i2, e2, g2).replace("\n", "\n  "))
            path = out / f"seed{s}.json"
            path.write_text(json.dumps({"seed": s, "spec": run["spec"], "script": script}))
            print(f"  replay: {Path(__file__).name} --replay {path}")
    print(f"\n{len(bad)} of {len(seeds)} seeds differ")
    return 1 if bad else 0


def _our_run(arg):
    import netrun_sim as ns

    seed, actions = arg
    return our_trace(ns, seed, actions)


if __name__ == "__main__":
    sys.exit(main())
