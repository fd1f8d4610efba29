#!/usr/bin/env python3
"""Generate ChainMatch's bundled sample cluster: a FICTIONAL Guangdong precision-instrument chain.

What it makes (in ``data/sample/`` by default, or in ``--out DIR``):

* ``firms.jsonl``      – ~350 fictional firms: 8 Guangdong chain leaders (链主企业) that build mass
  spectrometers, ICP-MS and AAS, gene sequencers, oscilloscopes, power analysers, patient monitors,
  scanning probe microscopes and MRI systems; ~150 Guangdong SMEs and medium firms (本地配套
  candidates and look-alike distractors); ~150 firms in other provinces and ~45 abroad that make
  what the cluster imports (investment targets) or look as if they did.
* ``relations.jsonl``  – product relations (upstream_material / subclass / downstream_product).
* ``gap_lists.json``   – one 2026 断链断供风险清单 per leader, drawn from the leader's upstream needs.
* ``chain.json``       – the cluster's chain definition (materials/components → instruments → uses).
* ``README.md``        – what the files are, with counts.

Why: the product needs a small, self-contained, plausible cluster for its demo, its tests and its
documentation, one whose answers are known. Every gap item has at least three makers outside
Guangdong and – except for a few deliberate "true gaps" – at least one Guangdong maker besides the
leader, matched by product name or a narrower kind (subclass relation). The script checks that
rule before it writes anything.

The hand-written tables (places, leaders, gap lists, firm archetypes, firms abroad, names, the
chain) are YAML files in ``tables/``; the code that invents firms from them is the package ``gen/``,
which takes its USCC check character from the project's own ``models.uscc``.

Everything is invented: firm names, people, phone numbers and codes are made up (e-mail domain
``example.cn``); 统一社会信用代码 are synthetic but carry valid GB 32100-2015 / GB 11714 check
characters. A few records are deliberately messy (full-width letters, trailing spaces, a description
in traditional characters, the province written "广东" or "粤") because ingest normalises them.

Deterministic: a fixed seed and stable iteration order. Running it twice gives byte-identical files
(tests/test_sample_data.py checks this).

Usage: ``python data/sample/generate.py [--out DIR]`` (with the project's environment, e.g. .venv)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
if str(ROOT) not in sys.path:  # models.uscc, when the project is not installed
    sys.path.append(str(ROOT))

from gen.outputs import generate  # noqa: E402  (needs the path above)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=HERE, help="output directory (default: data/sample/)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    files = generate()
    for name, text in files.items():
        (args.out / name).write_text(text, encoding="utf-8", newline="\n")
    print(f"wrote {', '.join(files)} to {args.out}")


if __name__ == "__main__":
    main()
