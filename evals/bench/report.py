"""Tables for the store benchmark's report (evals/bench/store.py writes the JSON)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

_INGEST_COLUMNS = ("embedder msg/s", "service msg/s", "service/embedder time", "overhead/batch")
_LAT = ("p50", "p95", "p99")
_SEARCH_COLUMNS = tuple(
    f"{label} {q}" if q == "p50" else q
    for label in ("/v1/search", "HNSW list", "NumPy exact")
    for q in _LAT
)
_SEARCH_KEYS = [f"{name}_{q}_ms" for name in ("service", "hnsw", "exact_numpy") for q in _LAT]


def _table(title: str, columns: tuple[str, ...]) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right")
    return table


def _ingest(report: dict[str, Any], console: Console) -> None:
    ing = report["ingest"]
    title = f"Ingestion ({ing['messages']} messages, batches of {ing['batch']})"
    table = _table(title, _INGEST_COLUMNS)
    rates = (f"{ing[k]:.0f}" for k in ("embedder_msgs_per_s", "service_msgs_per_s"))
    ratio = f"{ing['overhead_ratio']:.2f}x"
    table.add_row(*rates, ratio, f"{ing['overhead_ms_per_batch']:.1f} ms")
    console.print(table)


def _fill(report: dict[str, Any], console: Console) -> None:
    title = f"Fill ({report['fill_mode']})"
    cols = ("to episodes", "rows", "load s", "rows/s", "HNSW build s", "index mem", "ANALYZE s")
    table = _table(title, cols)
    for row in report["fill"]:
        index = row.get("index")
        if index is None:  # service path: the index is maintained as rows arrive
            build, mem, analyze = "(incremental)", "", ""
        else:
            build = f"{index['seconds']:.1f}" + ("" if index["complete"] else " (stopped)")
            mem, analyze = index["maintenance_work_mem"], f"{row['analyze_seconds']:.1f}"
        table.add_row(
            f"{row['to']:,}",
            f"{row['rows']:,}",
            f"{row['seconds']:.1f}",
            f"{row['rows_per_s']:,.0f}",
            build,
            mem,
            analyze,
        )
    console.print(table)
    for row in report["fill"]:
        index = row.get("index") or {}
        if index and not index["complete"]:
            console.print(
                f"HNSW build at {row['to']:,} stopped after {index['seconds']:.0f}s "
                f"({index.get('error')}); last progress: {index.get('last_progress')}; "
                f"projected total at least {index.get('projected_seconds_at_least', 'n/a')} s"
            )
        for notice in index.get("notices", []):
            console.print(f"notice during HNSW build at {row['to']:,}: {notice}")


def _search(report: dict[str, Any], console: Console) -> None:
    rows = report["search"]
    if not rows:
        return
    title = f"Search latency, ms, {rows[0]['queries']} queries, top-{report['k']}, one client"
    table = _table(title, ("episodes", *_SEARCH_COLUMNS, "recall@10"))
    for row in rows:
        cells = [f"{row[k]:.1f}" for k in _SEARCH_KEYS]
        table.add_row(f"{row['episodes']:,}", *cells, f"{row['recall_at_10']:.3f}")
    console.print(table)
    if "recall_at_10_random_q" in rows[0]:
        title = "HNSW list, 'random q': random unit query vectors, drawn like the fill"
        table = _table(title, ("episodes", "HNSW list p50 ms", "p95", "p99", "recall@10"))
        for row in rows:
            cells = [f"{row[f'hnsw_random_q_{q}_ms']:.1f}" for q in _LAT]
            table.add_row(f"{row['episodes']:,}", *cells, f"{row['recall_at_10_random_q']:.3f}")
        console.print(table)
    for row in rows:
        stages = " · ".join(f"{k} {v:.1f}" for k, v in row["service_stage_p50_ms"].items())
        console.print(f"/v1/search stage p50 (ms) at {row['episodes']:,}: {stages}")


def _concurrency(report: dict[str, Any], console: Console) -> None:
    rows = [(s["episodes"], c) for s in report["search"] for c in s.get("concurrency", [])]
    if not rows:
        return
    title = "/v1/search under concurrent clients (same ASGI app; 1 client = baseline)"
    cols = ("episodes", "clients", "requests", "req/s", "vs 1 client", "p50 ms", "p95", "p99")
    table = _table(title, cols)
    for size, c in rows:
        table.add_row(
            f"{size:,}",
            str(c["clients"]),
            f"{c['requests']}" + (" (time cap)" if c.get("time_capped") else ""),
            f"{c['requests_per_s']:.1f}",
            f"{c['speedup_vs_1_client']:.2f}x",
            *(f"{c[f'latency_{q}_ms']:.1f}" for q in _LAT),
        )
    console.print(table)


def _memory(report: dict[str, Any], console: Console) -> None:
    title = "Memory of the API process (this process: app, model, bench arrays)"
    cols = ("after episodes", "RSS MiB", "peak RSS MiB", "bench arrays MiB", "load avg 1m")
    table = _table(title, cols)
    for row in report["memory"]:
        table.add_row(
            f"{row['episodes']:,}",
            f"{row['rss_mib']:,.0f}",
            f"{row['peak_rss_mib']:,.0f}",
            f"{row['bench_arrays_mib']:,.0f}",
            f"{row['load_avg_1m']:.2f}",
        )
    console.print(table)


def render(report: dict[str, Any], console: Console) -> None:
    _ingest(report, console)
    _fill(report, console)
    _search(report, console)
    _concurrency(report, console)
    _memory(report, console)
    console.print(report["note"])
    load = (report["machine"]["load_avg_1m_at_start"], report["load_avg_1m_at_end"])
    console.print(
        f"Load average (1 min) at start / end: {load[0]:.2f} / {load[1]:.2f} "
        "(the bench's own processes, PostgreSQL's included, count too)"
    )
    console.print(f"Total wall time: {report['wall_seconds']:.0f} s")
