"""ChainMatch's retrieval and ranking engine.

The engine is pure: it is fed :class:`~recommender.corpus.FirmDoc` and
:class:`~recommender.corpus.Relation` records and knows nothing about databases or HTTP.
"""
