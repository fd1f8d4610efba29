"""What an engine is made of, and how a build makes it (see ``Recommender.build``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .aliases import Alias, AliasTable
from .catalog import FrozenCatalog, LiveCatalog, ProductCatalog
from .channels import Channel, ChannelContext, make_channel
from .config import EngineConfig
from .corpus import FirmDoc, Relation
from .entry_table import EntryTable
from .filters import FirmAttrs
from .graph import ProductGraph
from .segmenter import WordSegmenter
from .statistics import CorpusStatistics, fill_table, fit_static_encoder_on

log = logging.getLogger(__name__)

# 2: lexical matrices as memory-mapped .npy files; 3: the segmenter's dictionary as mapped arrays
# 4: product postings as mapped arrays
# 5: entry texts as a mapped UTF-8 blob with offsets
# 6: firms.jsonl mapped, with the rows' ids, tags, filter columns and mined aliases beside it
# 7: segmenter words and product keys grouped by byte length (recommender/sortedkeys.py)
FORMAT_VERSION = 7


@dataclass
class EngineParts:
    table: EntryTable
    graph: ProductGraph
    segmenter: WordSegmenter
    aliases: AliasTable
    catalog: ProductCatalog
    channels: dict[str, Channel[Any]]  # tfidf, bm25, dense (when on), graph
    manifest: dict[str, Any]
    # The corpus statistics the engine applies, frozen (one shard's engine); None: its own, live.
    statistics: CorpusStatistics | None = None
    firm_attrs: FirmAttrs | None = None  # the filter columns, as saved (a loaded index)


def shipped_aliases(config: EngineConfig, mined: Iterable[Alias]) -> AliasTable:
    """The shipped alias tables, then the aliases product names carry."""
    aliases = AliasTable.from_files(config.alias_dir) if config.alias_dir else AliasTable()
    aliases.add_all(mined)
    return aliases


def channel_context(
    config: EngineConfig,
    table: EntryTable,
    graph: ProductGraph,
    segmenter: WordSegmenter,
    mined: list[Alias],
    statistics: CorpusStatistics | None,
    *,
    progress: bool = False,
) -> ChannelContext:
    """The catalogue and aliases: the table's own, live, or the statistics', frozen."""
    if statistics is None:
        return ChannelContext(graph, LiveCatalog(table), shipped_aliases(config, mined), segmenter)
    if "dense" in config.channels and statistics.encoder_ref != config.encoder:
        raise ValueError(
            f"statistics fitted for encoder {statistics.encoder_ref!r}, config asks {config.encoder!r}"
        )
    return ChannelContext(
        graph,
        FrozenCatalog(statistics.products),
        shipped_aliases(config, statistics.mined_aliases),
        segmenter,
        lexical=statistics.lexical,
        encoder=statistics.encoder,
        progress=progress,
    )


def build_parts(
    firms: Iterable[FirmDoc],
    relations: Iterable[Relation],
    config: EngineConfig,
    *,
    progress: bool = False,
    statistics: CorpusStatistics | None = None,
) -> EngineParts:
    """Indexes ``firms``; fits the corpus statistics unless ``statistics`` are given."""
    config.check_channels()
    t0 = time.perf_counter()
    table = EntryTable()
    mined = fill_table(table, firms, progress=progress)
    if statistics is None:
        graph = ProductGraph(relations)
        segmenter = WordSegmenter(table.listed_keys())
    else:
        graph, segmenter = statistics.graph, WordSegmenter(statistics.segmenter_words)
    ctx = channel_context(config, table, graph, segmenter, mined, statistics, progress=progress)
    t1 = time.perf_counter()
    channels = {name: make_channel(name, config, table, ctx) for name in ("tfidf", "bm25")}
    t2 = time.perf_counter()
    if "dense" in config.channels:
        if statistics is None and config.encoder == "static":
            ctx.encoder = fit_static_encoder_on(table, graph, config)
        ctx.progress = progress
        channels["dense"] = make_channel("dense", config, table, ctx)
    t3 = time.perf_counter()
    channels["graph"] = make_channel("graph", config, table, ctx)
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "n_firms": table.n_firms,
        "n_entries": table.n_entries,
        "encoder": config.encoder if "dense" in channels else None,
        "channels": list(config.channels),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "corpus_tag": None,
        "build_seconds": {
            "entries": round(t1 - t0, 3),
            "lexical": round(t2 - t1, 3),
            "dense": round(t3 - t2, 3),
        },
    }
    if statistics is not None:
        manifest["frozen_statistics"] = True
    log.info("built index: %d firms, %d entries in %.1fs", table.n_firms, len(table.firm), t3 - t0)
    return EngineParts(table, graph, segmenter, ctx.aliases, ctx.catalog, channels, manifest, statistics)
