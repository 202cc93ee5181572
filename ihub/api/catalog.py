"""The partner catalog (seed 001)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from ihub.api import schemas
from ihub.api.errors import answers
from ihub.api.security import operator

router = APIRouter(prefix="/partners", tags=["partners"], dependencies=[Depends(operator)],
                   responses=answers(401, 403, 422))


def partner_view(partner) -> schemas.PartnerPublic:
    from models.partners import CREDENTIAL_FIELDS

    return schemas.PartnerPublic(
        slug=partner.slug, name=partner.name, author=partner.author, support_contact=partner.support_contact,
        description=partner.description, docs_url=partner.docs_url, auth_type=partner.auth_type,
        credential_fields=list(CREDENTIAL_FIELDS[partner.auth_type]), regions=partner.regions,
        data_types={name: data_type.label for name, data_type in partner.data_types.items()},
    )


@router.get("", summary="List the partner applications available for integration")
def list_partners() -> list[schemas.PartnerPublic]:
    from models.partners import catalog

    return [partner_view(p) for p in catalog().values()]


@router.get("/{partner}", summary="Show a partner application", responses=answers(404))
def show_partner(partner: str) -> schemas.PartnerPublic:
    from models.partners import get_partner

    return partner_view(get_partner(partner))
