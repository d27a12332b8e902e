"""Tables for the store benchmark's report (evals/bench/store.py writes the JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

_INGEST_COLUMNS = ("embedder msg/s", "service msg/s", "service/embedder time", "overhead/batch")
_LAT = ("p50_ms", "p95_ms", "p99_ms")
_RUN = ("episodes", "shape", "version")


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right")
    return table


def _run_cells(run: dict[str, Any]) -> list[str]:
    users = "" if run["users"] == 1 else f" ({run['users']:,} users)"
    return [f"{run['episodes']:,}", run["shape"] + users, run["version"]]


def _ms(values: dict[str, Any], keys: tuple[str, ...] = _LAT) -> str:
    return " / ".join(f"{values[k]:.1f}" for k in keys)


def _recall(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _ingest(report: dict[str, Any], console: Console) -> None:
    ing = report.get("ingest")
    if not ing:
        return
    title = f"Ingestion ({ing['messages']} messages, batches of {ing['batch']}, current code)"
    table = _table(title, _INGEST_COLUMNS)
    rates = (f"{ing[k]:.0f}" for k in ("embedder_msgs_per_s", "service_msgs_per_s"))
    ratio = f"{ing['overhead_ratio']:.2f}x"
    table.add_row(*rates, ratio, f"{ing['overhead_ms_per_batch']:.1f} ms")
    console.print(table)


def _heads(runs: list[dict[str, Any]]) -> tuple[str, ...]:
    return tuple(f"{r['episodes']:,} {r['shape']} {r['version']}" for r in runs)


def _fill(report: dict[str, Any], console: Console) -> None:
    runs = report["runs"]
    cols = (*_RUN, "COPY s", "rows/s", "indexes s", "ANALYZE s", "table MiB", "index mem")
    table = _table("Fill: binary COPY, then each secondary index of episodes", cols)
    for run in runs:
        fill = run["fill"]
        indexes = fill["indexes"]
        table.add_row(
            *_run_cells(run),
            f"{fill['copy_seconds']:.1f}",
            f"{fill['copy_rows_per_s']:,.0f}",
            f"{fill['index_seconds']:.1f}",
            f"{fill['analyze_seconds']:.1f}",
            f"{fill['table_mib']:,.0f}",
            indexes[0]["maintenance_work_mem"] if indexes else "",
        )
    console.print(table)
    names = list(dict.fromkeys(i["name"] for r in runs for i in r["fill"]["indexes"]))
    title = "Index builds: seconds (parallel workers seen) size MiB"
    table = _table(title, ("index", *_heads(runs)))
    for name in names:
        cells = []
        for run in runs:
            build = next((i for i in run["fill"]["indexes"] if i["name"] == name), None)
            if build is None:
                cells.append("-")
            elif not build["complete"]:
                cells.append(f"STOPPED {build['seconds']:.0f}")
            else:
                size = build["size_mib"]
                cells.append(
                    f"{build['seconds']:.1f} ({build['parallel_workers_seen']}) {size:,.1f}"
                )
        table.add_row(name, *cells)
    console.print(table)
    for run in runs:
        for index in run["fill"]["indexes"]:
            if not index["complete"]:
                console.print(
                    f"{index['name']} at {run['episodes']:,} ({run['shape']}, {run['version']}) "
                    f"stopped after {index['seconds']:.0f}s ({index.get('error')}); last "
                    f"progress: {index.get('last_progress')}; projected total at least "
                    f"{index.get('projected_seconds_at_least', 'n/a')} s"
                )
            for notice in index.get("notices", []):
                console.print(f"notice building {index['name']}: {notice}")


def _search(report: dict[str, Any], console: Console) -> None:
    runs = [r for r in report["runs"] if "search" in r]
    if not runs:
        return
    first = runs[0]
    title = (
        f"Search, ms, {first['search']['queries']} queries, top-{report['k']}, one client, "
        f"preset {first['preset']}"
    )
    cols = (
        *_RUN,
        "/v1/search\np50 / p95 / p99",
        "vector list\np50 / p95",
        "recall\n@10",
        "random q\nrecall",
        "sparse list\np50 / p95",
        "sparse\nrecall",
        "fill-like q\nrecall",
        "API RSS\nMiB",
    )
    table = _table(title, cols)
    for run in runs:
        s = run["search"]
        sparse = s.get("sparse_list")
        table.add_row(
            *_run_cells(run),
            _ms(s["service"]),
            _ms(s["vector_list"], _LAT[:2]),
            _recall(s["vector_list"]["recall_at_10"]),
            _recall(s["probe_list"]["recall_at_10"]),
            _ms(sparse, _LAT[:2]) if sparse else "-",
            _recall(sparse["recall_at_10"]) if sparse else "-",
            _recall(s["sparse_probe_list"]["recall_at_10"]) if "sparse_probe_list" in s else "-",
            f"{run['memory']['api_peak_rss_mib']:,.0f}",
        )
    console.print(table)


def _stages(report: dict[str, Any], console: Console) -> None:
    """One row per stage, one column per run: the runs of a size side by side."""
    runs = [r for r in report["runs"] if "search" in r]
    names = list(dict.fromkeys(n for r in runs for n in r["search"]["stages"]))
    if not names:
        return
    table = _table("/v1/search stages (timings_ms), p50 / p95 ms", ("stage", *_heads(runs)))
    for name in names:
        cells = [
            _ms(r["search"]["stages"][name], _LAT[:2]) if name in r["search"]["stages"] else "-"
            for r in runs
        ]
        table.add_row(name, *cells)
    console.print(table)


def _also(report: dict[str, Any], console: Console) -> None:
    """The other presets timed on the same fill (``--also-presets``)."""
    runs = [r for r in report["runs"] if "search" in r]
    rows = [(r, p, a) for r in runs for p, a in r["search"].get("also", {}).items()]
    if not rows:
        return
    cols = (*_RUN, "preset", "/v1/search\np50 / p95 / p99", "slowest stages p50 / p95")
    table = _table("Other presets, same fill and queries, one client, ms", cols)
    for run, preset, also in rows:
        stages = sorted(also["stages"].items(), key=lambda kv: -kv[1]["p50_ms"])[:3]
        slow = ", ".join(f"{name} {_ms(v, _LAT[:2])}" for name, v in stages if name != "total")
        table.add_row(*_run_cells(run), preset, _ms(also["service"]), slow)
    console.print(table)


def _concurrency(report: dict[str, Any], console: Console) -> None:
    rows = [(r, c) for r in report["runs"] if "search" in r for c in r["search"]["concurrency"]]
    if not rows:
        return
    cols = (*_RUN, "clients", "requests", "req/s", "p50 / p95 / p99 ms")
    table = _table("/v1/search under concurrent clients (same ASGI app)", cols)
    for run, c in rows:
        table.add_row(
            *_run_cells(run),
            str(c["clients"]),
            f"{c['requests']}" + (" (time cap)" if c.get("time_capped") else ""),
            f"{c['requests_per_s']:.1f}",
            _ms(c),
        )
    console.print(table)


def _acceptance(report: dict[str, Any], console: Console) -> None:
    rows = report.get("acceptance") or []
    if not rows:
        return
    table = _table("Issue 13: /v1/search p95 against its target", (*_RUN, "p95 ms", "target", ""))
    for row in rows:
        table.add_row(
            f"{row['episodes']:,}",
            row["shape"],
            row["version"],
            f"{row['p95_ms']:.1f}",
            f"<= {row['target_ms']:.0f}",
            "met" if row["met"] else "NOT met",
        )
    console.print(table)


def render(report: dict[str, Any], console: Console) -> None:
    _ingest(report, console)
    _fill(report, console)
    _search(report, console)
    _stages(report, console)
    _also(report, console)
    _concurrency(report, console)
    _acceptance(report, console)
    for name, version in report["versions"].items():
        console.print(f"{name}: {version}")
    console.print(f"PostgreSQL: {report['postgres']}")
    console.print(report["note"])
    load = (report["machine"]["load_avg_1m_at_start"], report["load_avg_1m_at_end"])
    console.print(
        f"Load average (1 min) at start / end: {load[0]:.2f} / {load[1]:.2f} "
        "(the bench's own processes, PostgreSQL's included, count too)"
    )
    console.print(f"Total wall time: {report['wall_seconds']:.0f} s")
