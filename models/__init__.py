"""SQLModel tables and their Create / Update / Public families, one module per entity."""

from models.apikey import ApiKey, ApiKeyPublic, Role
from models.audit import AuditEvent, AuditEventPublic
from models.common import Scale, utcnow
from models.firm import (
    Contact,
    Firm,
    FirmAdminPublic,
    FirmCreate,
    FirmProduct,
    FirmPublic,
    FirmTag,
    ProductIn,
    ProductPublic,
)
from models.gap import (
    GapItem,
    GapItemBase,
    GapItemCreate,
    GapItemPublic,
    GapList,
    GapListCreate,
    GapListPublic,
    GapListRevision,
    GapListUpdate,
)
from models.relation import ProductRelation, ProductRelationCreate, ProductRelationPublic
from models.state import CorpusState

__all__ = [
    "ApiKey",
    "ApiKeyPublic",
    "AuditEvent",
    "AuditEventPublic",
    "Contact",
    "CorpusState",
    "Firm",
    "FirmAdminPublic",
    "FirmCreate",
    "FirmProduct",
    "FirmPublic",
    "FirmTag",
    "GapItem",
    "GapItemBase",
    "GapItemCreate",
    "GapItemPublic",
    "GapList",
    "GapListCreate",
    "GapListPublic",
    "GapListRevision",
    "GapListUpdate",
    "ProductIn",
    "ProductPublic",
    "ProductRelation",
    "ProductRelationCreate",
    "ProductRelationPublic",
    "Role",
    "Scale",
    "utcnow",
]
