"""One serving worker at 100k firms, measured from outside: the index as saved before round 3
(float32 HNSW graph) beside the same corpus's index rebuilt by this code (8-bit graph, float32
vectors read from disk to re-score its hits).

    python bench/worker100k.py    # ~8 min

``chainmatch serve`` on the prepared 100k data dir (bench/_server.py) as it is, then on a scratch
copy whose index ``chainmatch index build`` rebuilt; each gets bench/shards.py's measurement (the
same 300 chainkg free-text queries after 20 warm-up ones: one client, 4 clients, the 300 as one
``POST /v1/match/batch``, then the memory of the server process). Written to
bench/out/worker100k.json.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._data import chainkg_dir
from bench._server import OUT, prepare, scratch_copy
from bench.shards import SYNTH_100K, http_bodies, load_average, serve_and_measure


def rebuild_index(data_dir: Path) -> float:
    """``chainmatch index build`` on ``data_dir``; its seconds."""
    env = dict(os.environ, CHAINMATCH_DATA_DIR=str(data_dir))
    started = time.perf_counter()
    cli = Path(sys.executable).parent / "chainmatch"  # the console script beside this interpreter
    subprocess.run([str(cli), "index", "build"], env=env, check=True)
    return round(time.perf_counter() - started, 1)


def main() -> None:
    prepared = prepare(SYNTH_100K, chainkg_dir() / "product_relations.jsonl")
    warm_up, measured = http_bodies()
    env = {"CHAINMATCH_LOG_LEVEL": "INFO"}
    out: dict[str, Any] = {"firms": len(prepared.firms), "queries": len(measured)}
    run = serve_and_measure(prepared.data_dir, 8743, env, prepared.bureau_key, warm_up, measured)
    out["as_saved"] = run
    with scratch_copy(prepared.data_dir, "worker-scratch") as scratch:
        out["rebuild_seconds"] = rebuild_index(scratch)
        out["rebuilt"] = serve_and_measure(scratch, 8744, env, prepared.bureau_key, warm_up, measured)
    a, b = out["as_saved"].pop("answers"), out["rebuilt"].pop("answers")
    out["identical_answers"] = f"{sum(x == y for x, y in zip(a, b, strict=True))}/{len(a)}"
    out["load_average_end"] = load_average()
    text = json.dumps(out, ensure_ascii=False, indent=1)
    (OUT / "worker100k.json").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
